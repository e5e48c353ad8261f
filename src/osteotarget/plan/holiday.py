"""Bisphosphonate holiday (ASBMR 2016; NOGG; Lewiecki 2021 Fig. 3): after 5 years oral /
3 years IV, a patient not at high risk (and, where the profile asks, at target) may stop
for 2-3 years with a review date; high risk → continue up to 10 / 6 years. During a
holiday: review when due; resume on a new fracture, significant BMD loss or high risk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_oral
from osteotarget.dates import add_months
from osteotarget.model.assessment import RISK_ORDER, Action, Alert, Recommendation, Risk, Status
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import rec

_CITES = ["adler2016", "lewiecki2021"]


@dataclass
class HolidayPlan:
    recommendations: list[Recommendation] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    review: date | None = None


def _hip_t(facts: Facts) -> float | None:
    return facts.latest_t.get("total_hip", facts.latest_t.get("femoral_neck"))


def holiday_decision(
    ctx: Context, facts: Facts, risk: Risk, status: Status, course: TherapyCourse, years: float
) -> Recommendation | None:
    """For a current bisphosphonate at its review point: holiday, continue, or reassess."""
    oral = is_oral(course.drug)
    review = ctx.setting(f"holiday.{'oral' if oral else 'intravenous'}_review_years").value
    if years < review:
        return None
    maximum = ctx.setting(f"holiday.{'oral' if oral else 'intravenous'}_max_years").value
    reasons_to_continue: list[str] = []
    continue_from = str(ctx.profile.get("holiday.continue_from_risk", "high"))
    if RISK_ORDER.index(risk.category) >= RISK_ORDER.index(continue_from):
        reasons_to_continue.append(f"risk is {risk.category.replace('_', ' ')}")
    hip = _hip_t(facts)
    hip_floor = ctx.setting("holiday.total_hip_t_above").value
    if hip is None or not hip > hip_floor:
        reasons_to_continue.append(
            "hip T-score "
            + (f"{hip:+.1f}" if hip is not None else "unknown")
            + f" not above {hip_floor:+.1f}"
        )
    hip_or_vertebral = [f for f in facts.fractures() if f.site in ("hip", "vertebral")]
    if (hip_or_vertebral or facts.vertebral_count() > 0) and ctx.profile.get(
        "holiday.continue_after_hip_or_vertebral_fracture", True
    ):
        reasons_to_continue.append("hip or vertebral fracture before or during treatment")
    if "continue_above_age" in (ctx.profile.get("holiday") or {}):
        age_limit = ctx.setting("holiday.continue_above_age").value
        if facts.age > age_limit:
            reasons_to_continue.append(f"age {facts.age} over {age_limit:g}")
    below_threshold = RISK_ORDER.index(risk.category) < RISK_ORDER.index(
        str(ctx.profile.get("risk.treat_from", "high"))
    )
    # Cummings 2013: the goal is a BMD level or a fracture-risk level; a risk now below the
    # profile's treatment threshold meets the risk-level goal.
    if (
        ctx.profile.get("holiday.requires_target_met", False)
        and not status.target_met
        and not below_threshold
    ):
        reasons_to_continue.append("treatment target not yet met")
    ctx.fired(
        "holiday.review",
        f"{years:.1f} years of {course.drug} (review at {review:g}): "
        + (
            "continue — " + "; ".join(reasons_to_continue)
            if reasons_to_continue
            else "holiday criteria met"
        ),
        _CITES + (["nogg2017"] if ctx.profile.name == "nogg2022" else []),
        hip_t=hip,
        risk=risk.category,
        target_met=status.target_met,
    )
    if not reasons_to_continue:
        interval = ctx.setting("monitoring.dxa_interval_months")
        scans = [v.date for v in facts.patient.dxa if v.date <= ctx.as_of]
        last_scan = max(scans, default=None)
        if last_scan is None or add_months(last_scan, interval.value) < ctx.as_of:
            # The holiday decision rests on the hip T-score: not on a stale scan.
            ctx.fired(
                "holiday.dxa_first",
                "holiday criteria met on a scan older than the DXA interval: DXA first",
                [*_CITES, interval.cite],
                last_dxa=last_scan,
            )
            return rec(
                "reassess",
                f"after {years:.1f} years of {course.drug} the holiday criteria are met, but the "
                "last DXA is "
                + (f"from {last_scan.isoformat()}" if last_scan else "missing")
                + f" (older than {interval.value:g} months): consider a DXA first, then decide on "
                "a bisphosphonate holiday",
                [*_CITES, interval.cite],
                regimen=course.drug,
                when=ctx.as_of,
            )
        months = ctx.setting("holiday.review_after_months").value
        # A holiday granted on the risk-level goal while the BMD target is not met says so
        # (the page shows the target as not met next to it: the basis must be explicit).
        basis = (
            " and at target"
            if status.target_met
            else (
                f" (the BMD target is not met, but the fracture risk is now "
                f"{risk.category.replace('_', ' ')}, below the profile's treatment threshold: "
                "the risk-level goal is met)"
                if ctx.profile.get("holiday.requires_target_met", False) and below_threshold
                else ""
            )
        )
        return rec(
            "holiday",
            f"after {years:.1f} years of {course.drug}, not at high risk"
            + basis
            + ": consider a bisphosphonate holiday, reviewed by "
            + add_months(ctx.as_of, months).isoformat()
            + " (BMD, new fractures, risk); resume if a fracture occurs or BMD falls",
            [*_CITES, *(["cummings2013"] if basis.startswith(" (") else [])],
            when=ctx.as_of,
        )
    still = "; ".join(reasons_to_continue)
    if years >= maximum:
        return rec(
            "reassess",
            f"{years:.1f} years of {course.drug}: beyond the {maximum:g} years studied; still "
            f"at risk ({still}): consider switching rather than continuing indefinitely",
            _CITES,
            regimen=course.drug,
            when=ctx.as_of,
        )
    return rec(
        "continue",
        f"{years:.1f} years of {course.drug}, still at risk ({still}): "
        f"consider continuing (up to {maximum:g} years) with periodic reassessment",
        _CITES,
        regimen=course.drug,
        when=ctx.as_of,
    )


def holiday_in_progress(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    course: TherapyCourse,
    bmd_loss: list[str],
) -> HolidayPlan:
    """No current therapy; the last course was a bisphosphonate that ended."""
    plan = HolidayPlan()
    assert course.end is not None
    months = ctx.setting("holiday.review_after_months").value
    review = add_months(course.end, months)
    plan.review = review
    new_fractures = [f for f in facts.fractures() if f.date > course.end]
    resume_because: list[str] = []
    if new_fractures:
        resume_because.append(
            "new fracture " + ", ".join(f"{f.site} {f.date.isoformat()}" for f in new_fractures)
        )
    if bmd_loss:
        resume_because.append("BMD loss beyond the LSC: " + ", ".join(bmd_loss))
    if RISK_ORDER.index(risk.category) >= RISK_ORDER.index("high") and ctx.as_of >= review:
        resume_because.append(f"risk now {risk.category.replace('_', ' ')}")
    if resume_because:
        plan.recommendations.append(
            rec(
                "resume",
                f"off {course.drug} since {course.end.isoformat()}: "
                + "; ".join(resume_because)
                + ": consider resuming treatment (or a more potent drug if a fracture occurred)",
                [*_CITES, "eastell2019"],
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
        ctx.fired("holiday.resume", "; ".join(resume_because), [*_CITES, "eastell2019"])
        return plan
    if ctx.as_of >= review:
        plan.alerts.append(
            Alert(
                severity="warning",
                code="holiday_review_due",
                message=(
                    f"bisphosphonate holiday since {course.end.isoformat()}: review due "
                    f"{review.isoformat()} (DXA, fractures, risk)"
                ),
                citations=_CITES,
            )
        )
        action: Action = "reassess"
        text = (
            "holiday review due: consider DXA and risk reassessment; resume if risk is high again"
        )
    else:
        action = "holiday"
        text = f"bisphosphonate holiday: consider continuing it, reviewed by {review.isoformat()}"
    plan.recommendations.append(
        rec(action, text, _CITES, when=review if action == "holiday" else ctx.as_of)
    )
    ctx.fired("holiday.in_progress", text, _CITES, ended=course.end, review=review)
    return plan
