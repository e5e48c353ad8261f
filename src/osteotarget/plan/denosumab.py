"""Denosumab is never stopped without a follow-on: a late dose (> the overdue interval
since the last injection) or a stopped course without a follow-on antiresorptive raises a
critical alert and a follow-on recommendation (ECTS 2021; 2020 joint guidance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.history import History, kind_of
from osteotarget.dates import add_months, months_between
from osteotarget.model.assessment import Alert, Recommendation, RegimenStep
from osteotarget.model.record import TherapyCourse
from osteotarget.therapy.safety import DrugSafety

_DMAB = "rules.monitoring.denosumab"


@dataclass
class DenosumabPlan:
    alerts: list[Alert] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    handled: bool = False
    stopping: bool = False


@dataclass(frozen=True)
class LeavingDenosumab:
    when: date
    words: str
    citations: tuple[str, ...]


def leaving_denosumab(
    ctx: Context, history: History, course: TherapyCourse, next_drugs: tuple[str, ...]
) -> LeavingDenosumab | None:
    """A switch away from a current denosumab course (to a bisphosphonate or an anabolic):
    the first dose of the next drug when the next denosumab dose is due, with no gap, and
    monitoring, since the rebound is only partly prevented by the next drug, seemingly
    depending on how long denosumab was given (ECTS 2021, Tsourdi et al.). An anabolic after
    denosumab carries the sequence caution (DATA-Switch; romosozumab after denosumab)."""
    if course.drug != "denosumab" or not next_drugs or next_drugs[0] == "denosumab":
        return None
    last = history.last_dose(course) or course.start
    due = add_months(last, ctx.number(f"{_DMAB}.follow_on_after_months"))
    years = history.years_on(course)
    first = next_drugs[0]
    words = (
        f"leaving denosumab: consider giving the first dose of {first} when the next denosumab "
        f"dose is due ({due.isoformat()}), with no gap (rebound bone loss and multiple "
        f"vertebral fractures after stopping); after {years:.1f} years of denosumab the next "
        "drug may not fully prevent the rebound — the effect of even zoledronate seems to depend "
        "on how long denosumab was given: monitor (bone turnover markers and BMD after the "
        "switch, vertebral imaging if back pain or height loss)"
    )
    cites = ["tsourdi2021", "prolia_us"]
    if kind_of(first) == "anabolic":
        words += (
            f"; {first} after denosumab: see the sequence caution (DATA-Switch: transient BMD "
            "loss when a PTH analogue follows denosumab; romosozumab after denosumab: a much "
            "smaller total-hip gain); the alternative studied in DATA is teriparatide added to "
            "continued denosumab; after the anabolic course, an antiresorptive without a gap"
        )
        cites += ["leder2015", "cosman2022", "leder2013_data"]
    ctx.fired("plan.leaving_denosumab", words, cites, due=due, years=round(years, 1))
    return LeavingDenosumab(when=max(due, ctx.as_of), words=words, citations=tuple(cites))


def _follow_on_drug(ctx: Context, safety: dict[str, DrugSafety]) -> str | None:
    for drug in ctx.kb.get("rules.monitoring.follow_on.drugs"):
        if not safety[str(drug)].excluded:
            return str(drug)
    return None


def denosumab_plan(ctx: Context, history: History, safety: dict[str, DrugSafety]) -> DenosumabPlan:
    plan = DenosumabPlan()
    courses = [c for c in history.courses() if c.drug == "denosumab"]
    if not courses:
        return plan
    course = courses[-1]
    if history.followed_by(course, "anabolic"):
        return plan  # an anabolic after denosumab: the sequence caution covers it
    last = history.last_dose(course) or (course.end if course.end else None)
    follow_months = ctx.number(f"{_DMAB}.follow_on_after_months")
    cites = ["tsourdi2021", "yu2020", "prolia_us"]
    valid = [str(d) for d in ctx.kb.get("rules.monitoring.follow_on.drugs")]
    later = [
        t
        for t in history.courses()
        if t is not course and t.start >= course.start and t.drug in valid
    ]
    if later:
        # ECTS 2021: the follow-on is a bisphosphonate (not e.g. raloxifene), started
        # 6 months after the last injection.
        follow = min(later, key=lambda t: t.start)
        if last is not None and follow.start > add_months(last, follow_months):
            plan.alerts.append(
                Alert(
                    severity="warning",
                    code="sequence_caution",
                    message=(
                        f"follow-on {follow.drug} started {follow.start.isoformat()}, later than "
                        f"{follow_months:g} months after the last denosumab injection "
                        f"({last.isoformat()}): rebound bone loss may have begun; consider "
                        "vertebral imaging if back pain or height loss"
                    ),
                    citations=cites,
                )
            )
            ctx.fired("denosumab.follow_on_late", plan.alerts[-1].message, cites)
        return plan
    if last is None:
        ctx.fired("denosumab.doses", "denosumab course without dose dates: lateness not judged")
        return plan
    overdue_months = ctx.number(f"{_DMAB}.overdue_after_months")
    drug = _follow_on_drug(ctx, safety)
    regimen = [RegimenStep(drug=drug)] if drug else None
    ongoing = course.end is None or course.end > ctx.as_of
    if ongoing:
        overdue_from = add_months(last, overdue_months)
        if ctx.as_of <= overdue_from:
            return plan
        plan.alerts.append(
            Alert(
                severity="critical",
                code="denosumab_overdue",
                message=(
                    f"denosumab last given {last.isoformat()}: "
                    f"{months_between(last, ctx.as_of):.0f} months ago (due every 6 months; "
                    f"overdue after "
                    f"{overdue_months:g}). Stopping or delaying denosumab risks rapid bone loss "
                    "and multiple vertebral fractures"
                ),
                citations=cites,
            )
        )
        gap = months_between(last, ctx.as_of)
        if gap <= ctx.number(f"{_DMAB}.give_now_within_months"):
            regimen = [RegimenStep(drug="denosumab")]
            rationale = (
                f"denosumab dose overdue ({gap:.0f} months since the last injection): consider "
                "giving it now after a calcium check (next dose shown as today); if it cannot "
                f"be given, a follow-on {drug or 'bisphosphonate'} without delay"
            )
        else:
            rationale = (
                f"denosumab not given for {gap:.0f} months: consider a follow-on "
                f"{drug or 'bisphosphonate'} without delay (or resuming denosumab if it is to "
                "continue), with a DXA to see where the patient stands"
            )
    else:
        due = add_months(last, follow_months)
        late = ctx.as_of >= due
        severity = "critical" if late else "warning"
        gap = months_between(last, ctx.as_of)
        plan.alerts.append(
            Alert(
                severity=severity,
                code="denosumab_stopped_without_follow_on",
                message=(
                    f"denosumab stopped (last dose {last.isoformat()}) with no follow-on "
                    + (
                        f"antiresorptive; one was due {follow_months:g} months after the last "
                        f"injection ({due.isoformat()}): overdue since then, "
                        f"{gap:.0f} months without denosumab"
                        if late
                        else f"antiresorptive; one is due {follow_months:g} months after the "
                        f"last injection ({due.isoformat()})"
                    )
                ),
                citations=cites,
            )
        )
        plan.stopping = True
        rationale = (
            f"denosumab stopped {gap:.0f} months ago (follow-on due {due.isoformat()}, "
            f"overdue): consider an antiresorptive now — {drug or 'a bisphosphonate'}, or "
            "resuming denosumab with an exit plan"
            if late
            else f"denosumab stopped: consider a follow-on {drug or 'bisphosphonate'} "
            f"{follow_months:g} months after the last injection ({due.isoformat()}) to prevent "
            "rebound bone loss"
        )
    if drug is None:
        rationale += "; no bisphosphonate is eligible (see options): consider specialist referral"
    if months_between(last, ctx.as_of) > ctx.number(f"{_DMAB}.give_now_within_months"):
        # ECTS 2021 (Tsourdi); Cummings 2018 FREEDOM off-treatment analysis: rebound
        # vertebral fractures are often silent, so imaging does not wait for symptoms.
        rationale += (
            "; spine imaging (vertebral fracture assessment or x-ray) now, regardless of "
            "symptoms (rebound vertebral fractures are often silent); new vertebral fractures "
            "make the risk very high (an anabolic, then an antiresorptive)"
        )
    else:
        rationale += "; vertebral imaging if back pain or height loss (rebound vertebral fractures)"
    plan.recommendations.append(
        Recommendation(
            action="follow_on",
            regimen=regimen,
            when=max(ctx.as_of, add_months(last, follow_months)),
            rationale=rationale,
            citations=cites,
        )
    )
    ctx.fired(
        "denosumab.follow_on",
        plan.alerts[-1].message,
        cites,
        last_dose=last,
        ongoing=ongoing,
        follow_on=drug,
    )
    plan.handled = True
    return plan
