"""What every rule of one assessment shares: the inputs, the profile, and the record of
what fired (trace) and which knowledge was used (for ``unverified_inputs``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from osteotarget.base.profile import Profile
from osteotarget.knowledge import KnowledgeBase, Quantity
from osteotarget.model.assessment import Densitometry, TraceStep, trace_step
from osteotarget.model.record import Patient

_T = TypeVar("_T")


@dataclass
class Context:
    patient: Patient
    as_of: date
    profile: Profile
    kb: KnowledgeBase
    densitometry: Densitometry
    trace: list[TraceStep] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)
    memo: dict[str, tuple[object, Any]] = field(default_factory=dict, repr=False, compare=False)
    """Values judged once per assessment (e.g. the lab state, the same for every drug)."""

    # ---- knowledge, recorded as used -------------------------------------------------
    def quantity(self, path: str) -> Quantity:
        q = self.kb.quantity(path)
        self.used[path] = q.evidence
        return q

    def number(self, path: str) -> float:
        return self.quantity(path).value

    def setting(self, path: str) -> Quantity:
        """A profile quantity (profile file first, then the defaults), recorded as used."""
        return self.quantity(self.profile.quantity_path(path))

    def note_evidence(self, path: str, evidence: str) -> None:
        self.used[path] = evidence

    def once(self, key: str, basis: object, compute: Callable[[], _T]) -> _T:
        """*compute()* the first time for this *key* and *basis* object, then the same value
        (the knowledge it used is already recorded in ``used``)."""
        hit = self.memo.get(key)
        if hit is not None and hit[0] is basis:
            value: _T = hit[1]
            return value
        value = compute()
        self.memo[key] = (basis, value)
        return value

    # ---- explanation -----------------------------------------------------------------
    def fired(
        self, rule: str, outcome: str, citations: list[str] | None = None, /, **inputs: Any
    ) -> None:
        # Built from plain values of the declared types: not validated again.
        self.trace.append(
            trace_step(
                rule,
                {k: v if type(v) in _SCALARS else _plain(v) for k, v in inputs.items()},
                outcome,
                list(dict.fromkeys(citations)) if citations else [],
            )
        )

    def unverified(self) -> list[str]:
        return sorted(p for p, ev in self.used.items() if ev == "unverified")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
