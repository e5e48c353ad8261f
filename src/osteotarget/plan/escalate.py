"""Not on a path, inadequate response, failure or fracture on treatment → escalate to an
osteoanabolic followed by an antiresorptive, or switch to a more potent antiresorptive, as
the profile says (IOF 2012; Lewiecki 2019/2021; Hoong et al. BMJ 2025)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.history import History, drug_info, is_bisphosphonate, kind_of
from osteotarget.model.assessment import RISK_ORDER, Risk
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.common import NextStep, label, rec, why_option
from osteotarget.plan.denosumab import leaving_denosumab
from osteotarget.therapy.options import Ranked

_CITES = ["diezperez2012", "lewiecki2021", "hoong2025", "lewiecki2019"]


def _anabolic_first(ctx: Context, risk: Risk) -> bool:
    """The profile escalates to an anabolic first, at or above its minimum risk category
    (Hoong et al. BMJ 2025 apply the anabolic step to patients at high risk; below that a
    more potent antiresorptive comes first, as Lewiecki 2021 Fig. 3 also allows)."""
    if ctx.profile.get("response.escalation") != "anabolic_then_antiresorptive":
        return False
    minimum = str(ctx.profile.get("response.anabolic_escalation_min_risk", "low"))
    return RISK_ORDER.index(risk.category) >= RISK_ORDER.index(minimum)


def failed_bisphosphonate(history: History) -> bool:
    """A bisphosphonate course stopped for failure, inadequate response or a fracture on it
    (the record's stop reason), or the current bisphosphonate being escalated from."""
    words = ("fail", "inadequate", "fracture", "no response", "non-response")
    return any(
        is_bisphosphonate(c.drug) and any(w in (c.stop_reason or "").lower() for w in words)
        for c in history.courses()
    )


def _consolidates_with_bisphosphonate(r: Ranked) -> bool:
    return len(r.regimen.drugs) > 1 and any(is_bisphosphonate(d) for d in r.regimen.drugs[1:])


def _choice(
    ctx: Context, risk: Risk, course: TherapyCourse, options: list[Ranked], allow_anabolic: bool
) -> Ranked | None:
    eligible = [r for r in options if r.option.eligible and not r.avoid]
    anabolic = [r for r in eligible if kind_of(r.regimen.drugs[0]) == "anabolic"]
    if is_bisphosphonate(course.drug):
        # After bisphosphonate failure the consolidation is not another bisphosphonate.
        anabolic = [r for r in anabolic if not _consolidates_with_bisphosphonate(r)]
    if not allow_anabolic:
        anabolic = []
    if _anabolic_first(ctx, risk) and anabolic:
        return anabolic[0]
    potency = str(drug_info(course.drug)["potency"])
    if potency == "mild" or not allow_anabolic:
        stronger = [
            r
            for r in eligible
            if len(r.regimen.drugs) == 1
            and drug_info(r.regimen.drugs[0])["potency"] == "potent"
            and r.regimen.drugs[0] != course.drug
            and not (
                is_bisphosphonate(course.drug)
                and is_bisphosphonate(r.regimen.drugs[0])
                and potency == "potent"
            )
        ]
        if stronger:
            return stronger[0]
    return anabolic[0] if anabolic else None


def escalate(
    ctx: Context,
    history: History,
    risk: Risk,
    course: TherapyCourse,
    why: str,
    options: list[Ranked],
    out: NextStep,
    *,
    allow_anabolic: bool = True,
) -> None:
    """*allow_anabolic*: the pathway row allows an anabolic (high or very high risk after an
    inadequate response or failure); otherwise only a more potent antiresorptive."""
    choice = _choice(ctx, risk, course, options, allow_anabolic)
    if choice is None:
        out.recommendations.append(
            rec(
                "refer",
                f"{why}; no eligible "
                + ("stronger regimen" if allow_anabolic else "more potent antiresorptive")
                + ": consider specialist referral",
                _CITES,
            )
        )
        return
    anabolic = kind_of(choice.regimen.drugs[0]) == "anabolic"
    out.chosen = choice
    out.changed_therapy = True
    policy = (
        "an osteoanabolic followed by an antiresorptive"
        if anabolic
        else "a more potent antiresorptive"
    )
    leaving = leaving_denosumab(ctx, history, course, choice.regimen.drugs)
    if choice.regimen.drugs[0] != course.drug:
        out.stops.add(course.drug)  # no further dose of the drug the plan leaves
    out.recommendations.append(
        rec(
            "escalate" if anabolic else "switch",
            f"{why}: consider {policy}: {label(choice)} ({why_option(choice)}; escalation "
            f"policy of profile {ctx.profile.name})" + (f"; {leaving.words}" if leaving else ""),
            [*_CITES, *choice.option.citations[:2], *(leaving.citations if leaving else ())],
            regimen=choice,
            when=leaving.when if leaving else ctx.as_of,
        )
    )
    ctx.fired(
        "plan.escalate",
        f"{'escalate' if anabolic else 'switch'} to {label(choice)}",
        _CITES,
        reason=why,
    )
