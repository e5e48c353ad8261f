"""On or after an anabolic course: continue to the end of the course, stop at the label
limit (romosozumab 12 monthly doses; PTH analogues 24 lifetime months), then consolidate
with an antiresorptive (Lewiecki 2021 Fig. 3; ACTIVExtend; labels)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.history import History, drug_info, is_bisphosphonate, kind_of
from osteotarget.dates import months_between
from osteotarget.model.assessment import Alert
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import NextStep, label, rec
from osteotarget.therapy.options import Ranked

_CITES = ["lewiecki2021", "cosman2017", "evenity_us", "teriparatide_eu"]


def course_limit(ctx: Context, drug: str) -> float:
    key = "romosozumab_max_months" if drug == "romosozumab" else "pth_lifetime_months"
    return ctx.setting(f"anabolic.{key}").value


def _consolidators(options: list[Ranked], no_bisphosphonate: bool) -> list[Ranked]:
    single = [
        r
        for r in options
        if r.option.eligible
        and len(r.regimen.drugs) == 1
        and kind_of(r.regimen.drugs[0]) == "antiresorptive"
        and not (no_bisphosphonate and is_bisphosphonate(r.regimen.drugs[0]))
    ]
    potent = [r for r in single if drug_info(r.regimen.drugs[0])["potency"] == "potent"]
    return potent or single


def anabolic(
    ctx: Context,
    history: History,
    course: TherapyCourse,
    options: list[Ranked],
    out: NextStep,
    *,
    no_bisphosphonate: bool = False,
) -> None:
    """*no_bisphosphonate*: a bisphosphonate failed before: consolidate with another class."""
    limit = course_limit(ctx, course.drug)
    months = (
        history.months_on(course)
        if course.drug == "romosozumab"
        else history.cumulative_months(("teriparatide", "abaloparatide"))
    )
    if course.drug == "romosozumab":
        # Monthly doses on record count too: 12 doses given is a complete course.
        given = [d for d in course.doses if d <= ctx.as_of]
        interval = ctx.number("drugs.drugs.romosozumab.dose_interval_months")
        months = max(months, len(given) * interval)
    ongoing = course.end is None or course.end > ctx.as_of
    if ongoing and months < limit:
        out.recommendations.append(
            rec(
                "continue",
                f"{course.drug}: {months:.0f} of {limit:g} months; consider continuing to the "
                "end of the course, then an antiresorptive to consolidate the gain",
                _CITES,
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
        return
    out.stops.add(course.drug)
    if ongoing:
        out.alerts.append(
            Alert(
                severity="warning",
                code="anabolic_course_limit",
                message=f"{course.drug}: {months:.0f} months given, course limit {limit:g} months",
                citations=_CITES,
            )
        )
        out.recommendations.append(
            rec(
                "stop",
                f"consider stopping {course.drug}: course limit of {limit:g} months reached",
                _CITES,
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
    consolidators = _consolidators(options, no_bisphosphonate)
    chosen = consolidators[0] if consolidators else None
    out.chosen = chosen
    out.changed_therapy = True
    late = ""
    if course.end is not None and course.end <= ctx.as_of:
        delay = months_between(course.end, ctx.as_of)
        if delay > ctx.number("rules.monitoring.consolidation.late_after_months"):
            late = (
                f"; late: the course ended {course.end.isoformat()}, {delay:.0f} months without "
                "an antiresorptive — the anabolic gain is being lost: start now, with a DXA "
                "and vertebral fracture assessment"
            )
            ctx.fired("plan.consolidation_late", late.lstrip("; "), _CITES, months=round(delay))
    out.recommendations.append(
        rec(
            "consolidate",
            f"{course.drug} course complete: consider an antiresorptive"
            + (f" ({label(chosen)})" if chosen else "")
            + " to consolidate and extend the gain (anabolic → antiresorptive sequence)"
            + ("; not a bisphosphonate after bisphosphonate failure" if no_bisphosphonate else "")
            + late,
            _CITES,
            regimen=chosen,
            when=ctx.as_of,
        )
    )
    ctx.fired("plan.consolidate", f"after {course.drug}", _CITES, months=round(months, 1))
