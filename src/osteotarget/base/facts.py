"""Clinical facts of the record as of a date, shared by risk, therapy and plan rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from osteotarget.dates import add_months, age_on
from osteotarget.model.assessment import Densitometry
from osteotarget.model.codes import ConditionCode, LabTest, Site
from osteotarget.model.record import Condition, Fracture, Lab, Patient


@dataclass(frozen=True, slots=True)
class Facts:
    patient: Patient
    as_of: date
    latest_t: dict[Site, float]
    baseline_t: dict[Site, float]
    _memo: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Lists derived from the record once (the record and date never change)."""

    @property
    def age(self) -> int:
        return age_on(self.patient.birth_date, self.as_of)

    @property
    def hip_unmeasured(self) -> bool:
        """BMD on record, but at no hip site (total hip or femoral neck)."""
        return bool(self.latest_t) and not {"total_hip", "femoral_neck"} & self.latest_t.keys()

    def fractures(self) -> list[Fracture]:
        found = self._memo.get("fractures")
        if found is None:
            found = self._memo["fractures"] = tuple(
                f for f in self.patient.fractures if f.fragility and f.date <= self.as_of
            )
        return list(found)

    def fractures_since(self, months: float) -> list[Fracture]:
        since = add_months(self.as_of, -months)
        return [f for f in self.fractures() if f.date >= since]

    def vertebral_count(self, within_months: float | None = None) -> int:
        """Vertebral fractures on record; without a time window, a VFA count also counts
        (a VFA shows prevalent fractures, not when they happened)."""
        pool = self.fractures_since(within_months) if within_months else self.fractures()
        recorded = sum(1 for f in pool if f.site == "vertebral")
        if within_months:
            return recorded
        vfa = max(
            (
                v.vfa.vertebral_fractures
                for v in self.patient.dxa
                if v.vfa is not None and v.date <= self.as_of
            ),
            default=0,
        )
        return max(recorded, vfa)

    def active_conditions(self) -> list[Condition]:
        found = self._memo.get("active_conditions")
        if found is None:
            found = self._memo["active_conditions"] = tuple(
                c
                for c in self.patient.conditions
                if (c.onset is None or c.onset <= self.as_of)
                and (c.resolved is None or c.resolved > self.as_of)
            )
        return list(found)

    def has_condition(self, code: ConditionCode) -> bool:
        codes = self._memo.get("active_codes")
        if codes is None:
            codes = self._memo["active_codes"] = frozenset(c.code for c in self.active_conditions())
        return code in codes

    def conditions_ever(self, code: ConditionCode) -> list[Condition]:
        return [
            c
            for c in self.patient.conditions
            if c.code == code and (c.onset is None or c.onset <= self.as_of)
        ]

    def latest_lab(self, test: LabTest) -> Lab | None:
        labs = [lab for lab in self.patient.labs if lab.test == test and lab.date <= self.as_of]
        return max(labs, key=lambda lab: lab.date) if labs else None

    def lowest_t_ever(self, sites: tuple[str, ...] | list[str]) -> dict[Site, float]:
        """The lowest T-score per site at any DXA up to *as_of* (AACE: the diagnosis of
        osteoporosis persists even if T later rises)."""
        lowest: dict[Site, float] = {}
        for visit in self.patient.dxa:
            if visit.date > self.as_of:
                continue
            for m in visit.measurements:
                if m.t_score is None or m.site not in sites:
                    continue
                lowest[m.site] = min(lowest.get(m.site, m.t_score), float(m.t_score))
        return lowest


def facts_of(patient: Patient, as_of: date, densitometry: Densitometry) -> Facts:
    latest: dict[Site, float] = {}
    baseline: dict[Site, float] = {}
    for trend in densitometry.sites:
        points = [p for p in trend.points if p.t_score is not None]
        if points:
            latest[trend.site] = points[-1].t_score  # type: ignore[assignment]
            baseline[trend.site] = points[0].t_score  # type: ignore[assignment]
    return Facts(patient=patient, as_of=as_of, latest_t=latest, baseline_t=baseline)
