"""Candidate regimens (drug sequences) from ``knowledge/drugs.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field

from osteotarget.knowledge import Quantity, knowledge
from osteotarget.model.assessment import RegimenStep


@dataclass(frozen=True, slots=True)
class Regimen:
    key: str
    steps: tuple[RegimenStep, ...]
    expected_total_hip: Quantity | None
    expected_months: int | None
    _drugs: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_drugs", tuple(s.drug for s in self.steps))

    @property
    def drugs(self) -> tuple[str, ...]:
        return self._drugs

    def label(self) -> str:
        return " → ".join(f"{s.drug}{f' {s.months} mo' if s.months else ''}" for s in self.steps)


def regimens() -> list[Regimen]:
    kb = knowledge()
    out: list[Regimen] = []
    for key, entry in kb.table("drugs.regimens").items():
        steps = tuple(
            RegimenStep(drug=s["drug"], months=int(s["months"]) if "months" in s else None)
            for s in entry["steps"]
        )
        path = f"drugs.regimens.{key}.expected_total_hip_percent"
        expected = kb.quantities.get(path)
        months = entry.get("expected_total_hip_percent", {}).get("months")
        out.append(
            Regimen(
                key=key,
                steps=steps,
                expected_total_hip=expected,
                expected_months=int(months) if months is not None else None,
            )
        )
    return out


def regimen(key: str) -> Regimen:
    for r in regimens():
        if r.key == key:
            return r
    raise KeyError(f"unknown regimen '{key}'")
