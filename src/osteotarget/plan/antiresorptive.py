"""On an antiresorptive: failure or inadequate response → escalate; a fracture on
treatment counted after the IOF minimum duration → escalate; off the path to the target →
escalate (response is not success); at the bisphosphonate review point → holiday or
continue; otherwise continue. Long-term safety reminders at the durations their sources
name (Lewiecki 2021 Fig. 3; ASBMR 2016; Endocrine Society)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_bisphosphonate, is_oral
from osteotarget.model.assessment import Recommendation, Risk, Status
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import NextStep, rec
from osteotarget.plan.escalate import escalate
from osteotarget.plan.holiday import holiday_decision
from osteotarget.plan.response import Response
from osteotarget.therapy.options import Ranked

_CONTINUE = ["lewiecki2021", "lewiecki2019"]


def safety_reminders(ctx: Context, history: History, course: TherapyCourse) -> list[Recommendation]:
    path = "rules.monitoring.long_term_safety"
    if is_bisphosphonate(course.drug):
        key = (
            "oral_bisphosphonate_years"
            if is_oral(course.drug)
            else "intravenous_bisphosphonate_years"
        )
        years = sum(history.years_on(c) for c in history.courses() if is_bisphosphonate(c.drug))
    elif course.drug == "denosumab":
        key, years = "denosumab_years", history.years_on(course)
    else:
        return []
    threshold = ctx.number(f"{path}.{key}")
    if years < threshold:
        return []
    cites = [
        *(str(c) for c in ctx.kb.get(f"{path}.citations")),
        ctx.kb.quantity(f"{path}.{key}").cite,
    ]
    ctx.fired(
        "safety.long_term",
        f"{years:.1f} years of antiresorptive: long-term safety reminders",
        cites,
    )
    return [
        rec(
            "investigate",
            f"{years:.1f} years of antiresorptive therapy: consider asking about thigh or "
            "groin pain and full-length femur imaging by DXA for atypical femur fracture",
            cites,
        ),
        rec(
            "refer",
            "long-term antiresorptive: consider dental review and good oral hygiene "
            "(jaw osteonecrosis)",
            cites,
        ),
    ]


def on_antiresorptive(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    status: Status,
    response: Response,
    options: list[Ranked],
    course: TherapyCourse,
    out: NextStep,
) -> None:
    if response.failure:
        out.recommendations.append(
            rec(
                "investigate",
                "treatment failure: consider checking adherence, calcium/vitamin D and "
                "secondary causes",
                ["diezperez2012"],
            )
        )
        escalate(ctx, risk, course, "treatment failure (IOF criteria)", options, out)
        return
    if response.btm_suppressed is False:
        out.recommendations.append(
            rec(
                "investigate",
                f"bone turnover markers did not fall beyond their LSC on {course.drug}: "
                "consider checking adherence and how the tablets are taken",
                ["diezperez2017", "naylor2016"],
            )
        )
    if response.inadequate:
        why = f"inadequate response to {course.drug} by the {ctx.profile.name} response rule"
        escalate(ctx, risk, course, why, options, out)
        return
    if response.fractures_on_treatment and not response.fractures_counted:
        ctx.fired(
            "plan.fracture_early",
            "fracture early in treatment: too soon to judge failure (IOF 2012); continue and "
            "reassess",
            ["diezperez2012"],
        )
    if response.fractures_counted:
        why = f"fragility fracture on {course.drug}: fracture risk has changed"
        escalate(ctx, risk, course, why, options, out)
        return
    if ctx.profile.get("response.judge_path", False) and status.on_track is False:
        escalate(ctx, risk, course, f"{status.explanation} (response is not success)", options, out)
        return
    if is_bisphosphonate(course.drug):
        decision = holiday_decision(ctx, facts, risk, status, course, history.years_on(course))
        if decision is not None:
            if decision.action == "holiday":
                out.stops.add(course.drug)
            out.recommendations.append(decision)
            return
    if course.drug == "denosumab" and status.target_met:
        out.recommendations.append(
            rec(
                "continue",
                "target reached on denosumab: consider continuing (long-term trial data are "
                "limited), or switching to a bisphosphonate as follow-on — never stopping "
                "without one",
                ["lewiecki2021", "tsourdi2021"],
                regimen="denosumab",
                when=ctx.as_of,
            )
        )
        return
    why = "on a path to the target" if status.on_track else "no sign of failure"
    out.recommendations.append(
        rec(
            "continue",
            f"{course.drug}: {why}; consider continuing with monitoring",
            _CONTINUE,
            regimen=course.drug,
            when=ctx.as_of,
        )
    )
    ctx.fired("plan.continue", f"continue {course.drug}: {why}", _CONTINUE)
