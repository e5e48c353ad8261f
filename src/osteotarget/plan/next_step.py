"""The next step from the therapy history (Lewiecki 2021 Fig. 3; seed 002; ASBMR 2016;
ECTS 2021): which branch applies. The branches live in their own modules: ``start``,
``escalate``, ``anabolic``, ``antiresorptive``, ``holiday`` and ``denosumab``.

Every recommendation supports a clinician ("consider …"); none prescribes.
"""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_bisphosphonate, is_oral, kind_of
from osteotarget.model.assessment import RISK_ORDER, Risk, Status
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.anabolic import anabolic
from osteotarget.plan.antiresorptive import on_antiresorptive, safety_reminders
from osteotarget.plan.common import NextStep, rec
from osteotarget.plan.denosumab import denosumab_plan
from osteotarget.plan.holiday import holiday_in_progress
from osteotarget.plan.response import Response
from osteotarget.plan.start import start
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety

__all__ = ["NextStep", "next_step"]


def _was_holiday(ctx: Context, history: History, course: TherapyCourse) -> bool:
    """A bisphosphonate stopped for a holiday: said so, or stopped at its review point."""
    if "holiday" in (course.stop_reason or "").lower():
        return True
    route = "oral" if is_oral(course.drug) else "intravenous"
    return history.years_on(course) >= ctx.setting(f"holiday.{route}_review_years").value


def _below_threshold(ctx: Context, risk: Risk, out: NextStep) -> None:
    key = (
        "monitoring.low_risk_reassess_months"
        if risk.category == "low"
        else "monitoring.dxa_interval_months"
    )
    months = ctx.setting(key).value
    out.recommendations.append(
        rec(
            "reassess",
            f"{risk.category} risk under profile {ctx.profile.name}: no drug indicated now; "
            f"consider reassessing fracture risk within {months:g} months",
            [ctx.setting(key).cite],
        )
    )
    ctx.fired(
        "plan.no_drug",
        f"{risk.category}: below the treatment threshold ({ctx.profile.get('risk.treat_from')})",
        list(ctx.profile.citations),
    )


def next_step(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    status: Status,
    response: Response,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
) -> NextStep:
    out = NextStep()
    treat = RISK_ORDER.index(risk.category) >= RISK_ORDER.index(
        ctx.profile.get("risk.treat_from", "high")
    )
    course = history.current()
    dmab = denosumab_plan(ctx, history, safety)
    out.alerts += dmab.alerts
    out.recommendations += dmab.recommendations
    if dmab.handled:
        out.changed_therapy = True
        if dmab.stopping:
            out.stops.add("denosumab")
        if status.target_met is False:
            out.recommendations.append(
                rec(
                    "reassess",
                    "target not met: once the follow-on is in place, consider reassessing the "
                    "regimen with a DXA (an anabolic may be needed to reach the target)",
                    ["lewiecki2021"],
                )
            )
    elif history.untreated():
        if treat:
            start(ctx, risk, options, safety, out)
        else:
            _below_threshold(ctx, risk, out)
    elif course is not None and kind_of(course.drug) == "anabolic":
        anabolic(ctx, history, course, options, out)
    elif course is not None:
        on_antiresorptive(ctx, facts, history, risk, status, response, options, course, out)
    else:
        last = history.last()
        assert last is not None
        followed = history.followed_by(last, "antiresorptive")
        if kind_of(last.drug) == "anabolic" and followed is None:
            anabolic(ctx, history, last, options, out)
        elif is_bisphosphonate(last.drug) and _was_holiday(ctx, history, last):
            plan = holiday_in_progress(ctx, facts, history, risk, last, response.bmd_loss_sites)
            out.alerts += plan.alerts
            out.recommendations += plan.recommendations
        elif treat:
            start(ctx, risk, options, safety, out, resume=True)
        else:
            out.recommendations.append(
                rec(
                    "reassess",
                    f"off treatment since {history.end_of(last).isoformat()}, "
                    f"{risk.category} risk: consider reassessing fracture risk and BMD",
                    ["lewiecki2021"],
                )
            )
    if course is not None:
        out.recommendations += safety_reminders(ctx, history, course)
    return out
