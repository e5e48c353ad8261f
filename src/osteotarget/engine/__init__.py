"""The only orchestrator: ``assess(patient, as_of, profile) -> Assessment``.

Pure: no I/O, no clock, no environment. Guideline profiles are data
(``knowledge/profiles/*.toml``); :func:`compare_profiles` shows where they differ.

The core packages (risk, targets, therapy, plan) import this package's small foundation
(``engine.context``, ``engine.profiles``; calendar helpers live in ``osteotarget.dates``),
so the orchestrator itself is imported lazily here: importing any core module first never
runs into a half-built cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from osteotarget import __version__

ENGINE_VERSION = __version__
DEFAULT_PROFILE = "t2t2024"

if TYPE_CHECKING:
    from osteotarget.engine.assessment import assess, assess_with_profile
    from osteotarget.engine.compare import ProfileComparison, compare_profiles
    from osteotarget.engine.profiles import Profile, list_profiles, load_profile

_LAZY = {
    "assess": "osteotarget.engine.assessment",
    "assess_with_profile": "osteotarget.engine.assessment",
    "ProfileComparison": "osteotarget.engine.compare",
    "compare_profiles": "osteotarget.engine.compare",
    "Profile": "osteotarget.engine.profiles",
    "list_profiles": "osteotarget.engine.profiles",
    "load_profile": "osteotarget.engine.profiles",
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
