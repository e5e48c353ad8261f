"""The only orchestrator: ``assess(patient, as_of, profile) -> Assessment``.

Pure: no I/O, no clock, no environment. Guideline profiles are data
(``knowledge/profiles/*.toml``); :func:`compare_profiles` shows where they differ.

The core packages (risk, targets, therapy, plan) build on ``osteotarget.base`` (facts,
history, profile, context); every import points down. The orchestrator is still imported
lazily here so importing a core module first never runs into a half-built cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from osteotarget import __version__

ENGINE_VERSION = __version__
DEFAULT_PROFILE = "t2t2024"

if TYPE_CHECKING:
    from osteotarget.base.profile import Profile, list_profiles, load_profile
    from osteotarget.engine.assessment import assess, assess_with_profile
    from osteotarget.engine.compare import ProfileComparison, compare_profiles

_LAZY = {
    "assess": "osteotarget.engine.assessment",
    "assess_with_profile": "osteotarget.engine.assessment",
    "ProfileComparison": "osteotarget.engine.compare",
    "compare_profiles": "osteotarget.engine.compare",
    "Profile": "osteotarget.base.profile",
    "list_profiles": "osteotarget.base.profile",
    "load_profile": "osteotarget.base.profile",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'osteotarget.engine' has no attribute '{name}'")


__all__ = [
    "DEFAULT_PROFILE",
    "ENGINE_VERSION",
    "Profile",
    "ProfileComparison",
    "assess",
    "assess_with_profile",
    "compare_profiles",
    "list_profiles",
    "load_profile",
]
