"""Run one patient through several guideline profiles and show where they differ."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from osteotarget.base.profile import list_profiles
from osteotarget.engine.assessment import assess
from osteotarget.model import Patient
from osteotarget.model.assessment import Assessment


class ProfileSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile: str
    risk_category: str
    targets: list[str]
    next_step: list[str]
    top_option: str
    alerts: list[str]


class ProfileComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_id: str
    as_of: date
    profiles: list[ProfileSummary]
    differences: list[str]


def _value(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _summary(a: Assessment) -> ProfileSummary:
    top = next((o for o in a.options if o.eligible), None)
    return ProfileSummary(
        profile=a.profile,
        risk_category=(a.risk.category if a.risk.determined else a.risk.headline) if a.risk else "",
        targets=[
            " ".join(part for part in (t.site or "", t.metric, t.operator, _value(t.value)) if part)
            for t in a.targets
        ],
        next_step=[
            r.action + (f" {' → '.join(s.drug for s in r.regimen)}" if r.regimen else "")
            for r in a.recommendations
            if r.action not in ("lifestyle", "investigate")
        ],
        top_option=" → ".join(s.drug for s in top.regimen) if top else "",
        alerts=sorted({al.code for al in a.alerts}),
    )


def compare_profiles(
    patient: Patient, as_of: date, profiles: Sequence[str] | None = None
) -> ProfileComparison:
    names = list(profiles) if profiles else list_profiles()
    summaries = [_summary(assess(patient, as_of, name)) for name in names]
    differences: list[str] = []
    for field in ("risk_category", "targets", "next_step", "top_option", "alerts"):
        values = {s.profile: getattr(s, field) for s in summaries}
        distinct = {str(v) for v in values.values()}
        if len(distinct) > 1:
            shown = "; ".join(
                f"{name}: {', '.join(v) if isinstance(v, list) else v}"
                for name, v in values.items()
            )
            differences.append(f"{field.replace('_', ' ')} differs — {shown}")
    return ProfileComparison(
        patient_id=patient.id, as_of=as_of, profiles=summaries, differences=differences
    )
