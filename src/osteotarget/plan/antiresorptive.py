"""On an antiresorptive: the wording of "continue" (the pathway table decides when), and
the long-term safety reminders at the durations their sources name (Lewiecki 2021 Fig. 3;
ASBMR 2016; Endocrine Society)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.history import History, is_bisphosphonate, is_oral
from osteotarget.model.assessment import Recommendation, Status
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import rec

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


def continue_current(
    ctx: Context, course: TherapyCourse, status: Status, response: str
) -> Recommendation:
    """Continue the current antiresorptive: on a path, at target (denosumab: never stopped
    without a follow-on), or an inadequate gain at the total-hip target."""
    if course.drug == "denosumab" and status.target_met:
        ctx.fired("plan.continue", "continue denosumab at target", ["lewiecki2021", "tsourdi2021"])
        return rec(
            "continue",
            "target reached on denosumab: consider continuing (long-term trial data are "
            "limited), or switching to a bisphosphonate as follow-on — never stopping "
            "without one; a follow-on is given when the next denosumab dose is due, with no "
            "gap, and monitored (after longer denosumab even zoledronate may not fully prevent "
            "the rebound)",
            ["lewiecki2021", "tsourdi2021"],
            regimen="denosumab",
            when=ctx.as_of,
        )
    if response == "inadequate" and status.target_met:
        why = (
            "gain below the response rule, but at the total-hip target: judge again at the next DXA"
        )
    elif status.on_track:
        why = "on a path to the target"
    elif status.target_met is None and status.on_track is None:
        why = f"no sign of failure ({status.explanation})"
    else:
        why = "no sign of failure"
    ctx.fired("plan.continue", f"continue {course.drug}: {why}", _CONTINUE)
    return rec(
        "continue",
        f"{course.drug}: {why}; consider continuing with monitoring",
        _CONTINUE,
        regimen=course.drug,
        when=ctx.as_of,
    )
