"""Guideline profiles as data: ``knowledge/profiles/NAME.toml`` over ``rules/profile_defaults``.

A profile overrides the defaults table by table (lists are replaced). Every number a
profile holds stays a cited quantity; :meth:`Profile.quantity` finds it in the profile
file first, then in the defaults, so the answer can name where a value came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from osteotarget.knowledge import KnowledgeBase, Quantity, knowledge

_DEFAULTS = "rules.profile_defaults"


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if (
            isinstance(value, Mapping)
            and isinstance(out.get(key), Mapping)
            and "value" not in value
        ):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    description: str
    data: Mapping[str, Any]
    citations: tuple[str, ...]
    kb: KnowledgeBase
    own: Mapping[str, Any]
    _found: dict[str, tuple[bool, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Paths already looked up in ``data`` (the profile is never changed once built)."""
    _paths: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Quantity paths (and sources, keyed ``source:<path>``) already resolved."""

    def get(self, path: str, default: Any = None) -> Any:
        hit = self._found.get(path)
        if hit is not None:
            return hit[1] if hit[0] else default
        found, node = self._lookup(path)
        self._found[path] = (found, node)
        return node if found else default

    def _lookup(self, path: str) -> tuple[bool, Any]:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def source_of(self, path: str) -> str:
        """The knowledge path holding *path*: the profile file if it sets it, else defaults."""
        found = self._paths.get(f"source:{path}")
        if found is None:
            found = self._paths[f"source:{path}"] = self._source_of(path)
        return found

    def _source_of(self, path: str) -> str:
        node: Any = self.own
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return f"{_DEFAULTS}.{path}"
            node = node[part]
        return f"profiles.{self.name}.{path}"

    def quantity_path(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            own = f"profiles.{self.name}.{path}"
            found = own if own in self.kb.quantities else f"{_DEFAULTS}.{path}"
            self._paths[path] = found
        return found

    def quantity(self, path: str) -> Quantity:
        return self.kb.quantity(self.quantity_path(path))


def list_profiles() -> list[str]:
    """Names of every guideline profile on file, sorted."""
    return sorted(knowledge().table("profiles"))


_LOADED: dict[str, Profile] = {}


def load_profile(name: str) -> Profile:
    """The named profile merged over the defaults; KeyError names the known profiles.

    Built once per process and knowledge base (a pure function of the knowledge, which is
    loaded once and never changed): the same object is returned again."""
    kb = knowledge()
    cached = _LOADED.get(name)
    if cached is not None and cached.kb is kb:
        return cached
    profile = _build_profile(kb, name)
    _LOADED[name] = profile
    return profile


def _build_profile(kb: KnowledgeBase, name: str) -> Profile:
    profiles = kb.table("profiles")
    if name not in profiles:
        raise KeyError(f"unknown profile '{name}' (known: {', '.join(sorted(profiles))})")
    raw = profiles[name]
    data = _merge(kb.table(_DEFAULTS), raw)
    return Profile(
        name=name,
        title=str(raw.get("title", name)),
        description=str(raw.get("description", "")),
        data=data,
        citations=tuple(str(c) for c in raw.get("citations", [])),
        kb=kb,
        own=raw,
    )
