"""The pathway decision table (``knowledge/rules/pathway.toml``): named facts in, exactly one
primary action out. This module is the one place the pathway is read: it loads the table,
applies a profile's row overrides, and finds the first row whose conditions hold.

Pure: the table is data, the facts are a mapping of fact name to value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from osteotarget.base.profile import Profile
from osteotarget.knowledge import KnowledgeBase

_TABLE = "rules.pathway"
URGENCY_ORDER = ("critical", "high", "routine")
_DECIDED_MAX = 4096  # remembered decisions per table (a few MB at most), not clinical


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    when: Mapping[str, tuple[str, ...]]
    action: str
    detail: str
    urgency: str
    reason: str
    citations: tuple[str, ...]
    overridden_by: str = ""

    def matches(self, facts: Mapping[str, str]) -> bool:
        return all(facts[name] in allowed for name, allowed in self.when.items())


@dataclass(frozen=True, slots=True)
class Pathway:
    facts: Mapping[str, Mapping[str, Any]]
    rows: tuple[Row, ...]
    _allowed: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    """Each fact's values as a set (the table never changes once built)."""
    _decided: dict[tuple[tuple[str, str], ...], Row] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Rows already chosen, by the facts they were chosen on (the table never changes)."""

    def __post_init__(self) -> None:
        allowed = {name: frozenset(fact["values"]) for name, fact in self.facts.items()}
        object.__setattr__(self, "_allowed", allowed)

    def fact_values(self, name: str) -> tuple[str, ...]:
        return tuple(self.facts[name]["values"])

    def decide(self, facts: Mapping[str, str]) -> Row:
        key = tuple(facts.items())
        row = self._decided.get(key)
        if row is None:
            row = self._decide(facts)
            if len(self._decided) >= _DECIDED_MAX:
                self._decided.clear()
            self._decided[key] = row
        return row

    def _decide(self, facts: Mapping[str, str]) -> Row:
        allowed = self._allowed
        if not facts.keys() <= allowed.keys():
            unknown = set(facts) - set(self.facts)
            raise KeyError(f"unknown pathway fact(s): {', '.join(sorted(unknown))}")
        for name, value in facts.items():
            if value not in allowed[name]:
                raise KeyError(f"pathway fact {name} has no value '{value}'")
        for row in self.rows:
            if row.matches(facts):
                return row
        raise LookupError("no pathway row matched (the table must end with a catch-all row)")

    def space(self, fixed: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
        """Every combination of fact values (with *fixed* facts held)."""
        names = list(self.facts)
        pools = [
            (fixed[name],) if fixed and name in fixed else self.fact_values(name) for name in names
        ]
        for combo in itertools.product(*pools):
            yield dict(zip(names, combo, strict=True))


def _row(raw: Mapping[str, Any], overridden_by: str = "") -> Row:
    return Row(
        id=str(raw["id"]),
        when={str(k): tuple(str(v) for v in vs) for k, vs in dict(raw.get("when", {})).items()},
        action=str(raw["action"]),
        detail=str(raw["detail"]),
        urgency=str(raw.get("urgency", "routine")),
        reason=str(raw["reason"]),
        citations=tuple(str(c) for c in raw.get("citations", [])),
        overridden_by=overridden_by,
    )


_BUILT: dict[tuple[int, int], tuple[KnowledgeBase, Profile | None, Pathway]] = {}
_BUILT_MAX = 64  # entries (a few profiles), not clinical


def load_pathway(kb: KnowledgeBase, profile: Profile | None = None) -> Pathway:
    """The table with *profile*'s overrides applied: each override replaces the fields it
    names of the row with the same id (the row keeps its place).

    Built once per (knowledge base, profile object): both are immutable once loaded, and
    the entry keeps them alive so their ids are not reused."""
    key = (id(kb), id(profile))
    hit = _BUILT.get(key)
    if hit is not None and hit[0] is kb and hit[1] is profile:
        return hit[2]
    pathway = _build_pathway(kb, profile)
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.clear()
    _BUILT[key] = (kb, profile, pathway)
    return pathway


def _build_pathway(kb: KnowledgeBase, profile: Profile | None) -> Pathway:
    table = kb.table(_TABLE)
    overrides = {str(o["id"]): o for o in (profile.get("pathway.overrides", []) if profile else [])}
    rows: list[Row] = []
    for raw in table["rows"]:
        over = overrides.pop(str(raw["id"]), None)
        if over is not None:
            merged = {**dict(raw), **dict(over)}
            rows.append(_row(merged, profile.name if profile else ""))
        else:
            rows.append(_row(raw))
    if overrides:
        raise KeyError(f"profile overrides unknown pathway rows: {', '.join(sorted(overrides))}")
    facts = {str(k): v for k, v in table["facts"].items()}
    for row in rows:
        for name, allowed in row.when.items():
            if name not in facts or not set(allowed) <= set(facts[name]["values"]):
                raise KeyError(f"pathway row {row.id}: condition on unknown fact/value {name}")
    return Pathway(facts=facts, rows=tuple(rows))
