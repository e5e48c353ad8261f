"""Not on a path, inadequate response, failure or fracture on treatment → escalate to an
osteoanabolic followed by an antiresorptive, or switch to a more potent antiresorptive, as
the profile says (IOF 2012; Lewiecki 2019/2021; seed 002)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.history import drug_info, kind_of
from osteotarget.model.assessment import RISK_ORDER, Risk
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import NextStep, label, rec, why_option
from osteotarget.therapy.options import Ranked

_CITES = ["diezperez2012", "lewiecki2021", "drlex2025", "lewiecki2019"]


def _anabolic_first(ctx: Context, risk: Risk) -> bool:
    """The profile escalates to an anabolic first, at or above its minimum risk category
    (seed 002 applies the anabolic step to patients at high risk; below that a more potent
    antiresorptive comes first, as Lewiecki 2021 Fig. 3 also allows)."""
    if ctx.profile.get("response.escalation") != "anabolic_then_antiresorptive":
        return False
    minimum = str(ctx.profile.get("response.anabolic_escalation_min_risk", "low"))
    return RISK_ORDER.index(risk.category) >= RISK_ORDER.index(minimum)


def _choice(
    ctx: Context, risk: Risk, course: TherapyCourse, options: list[Ranked]
) -> Ranked | None:
    eligible = [r for r in options if r.option.eligible and not r.avoid]
    anabolic = [r for r in eligible if kind_of(r.regimen.drugs[0]) == "anabolic"]
    if _anabolic_first(ctx, risk) and anabolic:
        return anabolic[0]
    potency = str(drug_info(course.drug)["potency"])
    if potency == "mild":
        stronger = [
            r
            for r in eligible
            if len(r.regimen.drugs) == 1
            and drug_info(r.regimen.drugs[0])["potency"] == "potent"
            and r.regimen.drugs[0] != course.drug
        ]
        if stronger:
            return stronger[0]
    return anabolic[0] if anabolic else None


def escalate(
    ctx: Context,
    risk: Risk,
    course: TherapyCourse,
    why: str,
    options: list[Ranked],
    out: NextStep,
) -> None:
    choice = _choice(ctx, risk, course, options)
    if choice is None:
        out.recommendations.append(
            rec(
                "refer",
                f"{why}; no eligible stronger regimen: consider specialist referral",
                _CITES,
            )
        )
        return
    anabolic = kind_of(choice.regimen.drugs[0]) == "anabolic"
    out.chosen = choice
    out.changed_therapy = True
    out.stops.add(course.drug)
    policy = (
        "an osteoanabolic followed by an antiresorptive"
        if anabolic
        else "a more potent antiresorptive"
    )
    out.recommendations.append(
        rec(
            "escalate" if anabolic else "switch",
            f"{why}: consider {policy}: {label(choice)} ({why_option(choice)}; escalation "
            f"policy of profile {ctx.profile.name})",
            [*_CITES, *choice.option.citations[:2]],
            regimen=choice,
            when=ctx.as_of,
        )
    )
    ctx.fired(
        "plan.escalate",
        f"{'escalate' if anabolic else 'switch'} to {label(choice)}",
        _CITES,
        reason=why,
    )
