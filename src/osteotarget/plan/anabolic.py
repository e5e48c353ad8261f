"""On or after an anabolic course: continue to the end of the course, stop at the label
limit (romosozumab 12 monthly doses; PTH analogues 24 lifetime months, counted and judged as
the label of the profile's region says: :func:`osteotarget.therapy.safety.lifetime_use`),
then consolidate with an antiresorptive (Lewiecki 2021 Fig. 3; ACTIVExtend; labels)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.history import History, drug_info, is_bisphosphonate, kind_of
from osteotarget.dates import months_between
from osteotarget.model.assessment import Alert
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import NextStep, label, rec
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import course_limit_cite, lifetime_use

_SEQUENCE_CITES = ["lewiecki2021", "cosman2017"]


def course_limit(ctx: Context, drug: str) -> float:
    key = "romosozumab_max_months" if drug == "romosozumab" else "pth_lifetime_months"
    return ctx.setting(f"anabolic.{key}").value


def course_months(ctx: Context, history: History, course: TherapyCourse) -> float:
    """The months that count against *course*'s limit: romosozumab, this course (months or
    monthly doses given, whichever is more); a PTH analogue, its lifetime months as the
    label of the profile's region counts them (teriparatide alone, or teriparatide and
    abaloparatide together)."""
    if course.drug == "romosozumab":
        # Monthly doses on record count too: 12 doses given is a complete course.
        given = [d for d in course.doses if d <= ctx.as_of]
        interval = ctx.number("drugs.drugs.romosozumab.dose_interval_months")
        return max(history.months_on(course), len(given) * interval)
    use = lifetime_use(ctx, history, course.drug)
    return use.used if use is not None else history.months_on(course)


def _cites(ctx: Context, drug: str) -> list[str]:
    """The anabolic → antiresorptive sequence and the label of *drug*'s limit, in the
    profile's region."""
    cite = course_limit_cite(ctx, drug)
    return [*_SEQUENCE_CITES, *([cite] if cite else [])]


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
    months = course_months(ctx, history, course)
    cites = _cites(ctx, course.drug)
    use = lifetime_use(ctx, history, course.drug)
    counted = " and ".join(use.rule.counts) if use is not None else course.drug
    ongoing = course.end is None or course.end > ctx.as_of
    if ongoing and months < limit:
        out.recommendations.append(
            rec(
                "continue",
                f"{course.drug}: {months:.0f} of {limit:g} "
                + (f"lifetime months of {counted}" if use is not None else "months")
                + "; consider continuing to the end of the course, then an antiresorptive to "
                "consolidate the gain",
                cites,
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
        return
    # Beyond the limit the label of the profile's region either excludes more (EU/UK
    # teriparatide, abaloparatide, romosozumab) or allows it only while fracture risk
    # remains or is again high (US teriparatide, where the profile allows it).
    conditional = ongoing and use is not None and use.rule.action == "caution"
    if not conditional:
        out.stops.add(course.drug)
    if ongoing:
        words = f": {use.rule.words}" if use is not None else ""
        out.alerts.append(
            Alert(
                severity="warning",
                code="anabolic_course_limit",
                message=f"{course.drug}: {months:.0f} "
                + (f"lifetime months of {counted}" if use is not None else "months")
                + f" given, course limit {limit:g} months{words}",
                citations=cites,
            )
        )
        out.recommendations.append(
            rec(
                "continue",
                f"{course.drug}: {months:.0f} lifetime months of {counted}, past the "
                f"{limit:g}-month limit{words}: consider continuing only while that holds "
                f"(clinician judgement; profile {ctx.profile.name}); otherwise consider "
                "stopping it and consolidating with an antiresorptive (below)",
                cites,
                regimen=course.drug,
                when=ctx.as_of,
            )
            if conditional
            else rec(
                "stop",
                f"consider stopping {course.drug}: course limit of {limit:g} months reached"
                + (f" ({months:.0f} lifetime months of {counted}){words}" if use else ""),
                cites,
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
            ctx.fired("plan.consolidation_late", late.lstrip("; "), cites, months=round(delay))
    out.recommendations.append(
        rec(
            "consolidate",
            (
                f"if {course.drug} is not continued"
                if conditional
                else f"{course.drug} course complete"
            )
            + ": consider an antiresorptive"
            + (f" ({label(chosen)})" if chosen else "")
            + " to consolidate and extend the gain (anabolic → antiresorptive sequence)"
            + ("; not a bisphosphonate after bisphosphonate failure" if no_bisphosphonate else "")
            + late,
            cites,
            regimen=chosen,
            when=ctx.as_of,
        )
    )
    ctx.fired("plan.consolidate", f"after {course.drug}", cites, months=round(months, 1))
