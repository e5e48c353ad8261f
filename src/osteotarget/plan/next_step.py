"""The next step from the therapy history (Lewiecki 2021 Fig. 3; seed 002; ASBMR 2016;
ECTS 2021): start, continue, escalate or switch, consolidate after an anabolic, follow on
after denosumab, holiday and resume, with the long-term safety reminders.

Every recommendation supports a clinician ("consider …"); none prescribes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from osteotarget.engine.context import Context
from osteotarget.model.assessment import (
    RISK_ORDER,
    Alert,
    Recommendation,
    RegimenStep,
    Risk,
    Status,
)
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.denosumab import denosumab_plan
from osteotarget.plan.holiday import holiday_decision, holiday_in_progress
from osteotarget.plan.response import Response
from osteotarget.risk.facts import Facts
from osteotarget.therapy.history import History, drug_info, is_bisphosphonate, is_oral, kind_of
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety


@dataclass
class NextStep:
    recommendations: list[Recommendation] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    changed_therapy: bool = False
    chosen: Ranked | None = None


def _label(r: Ranked) -> str:
    return r.regimen.label()


def _why_option(r: Ranked) -> str:
    o = r.option
    if o.probability_of_target is not None:
        return (
            f"{o.probability_of_target:.0%} projected chance of reaching the target in "
            f"{o.horizon_months} months"
        )
    e = r.regimen.expected_total_hip
    if e is not None:
        return (
            f"ranked by expected response (mean total-hip +{e.value:g}% at "
            f"{r.regimen.expected_months} months; projection unavailable)"
        )
    return "ranked by expected response (no published total-hip figure on file)"


def _probability_note(ctx: Context, chosen: Ranked, eligible: list[Ranked]) -> str:
    """Cummings 2013 / Cosman 2024: if no antiresorptive is likely to reach the target,
    consider anabolic-first; if nothing is likely to, say so (Lewiecki 2021: being on a path
    toward the target may still be beneficial)."""
    if "likely_probability" not in (ctx.profile.get("first_line") or {}):
        return ""
    p = chosen.option.probability_of_target
    if p is None:
        return ""
    likely = ctx.setting("first_line.likely_probability").value
    if p >= likely:
        return ""
    if kind_of(chosen.regimen.drugs[0]) != "anabolic":
        better = [
            r
            for r in eligible
            if kind_of(r.regimen.drugs[0]) == "anabolic"
            and not r.avoid
            and (r.option.probability_of_target or 0) > p
        ]
        if better:
            best = max(better, key=lambda r: r.option.probability_of_target or 0)
            ctx.fired(
                "plan.anabolic_first_hint",
                f"best antiresorptive {p:.0%} < {likely:.0%}",
                ["cummings2013", "cosman2024"],
            )
            return (
                f"; no antiresorptive is likely to reach the target ({p:.0%}): consider "
                f"anabolic-first, e.g. {_label(best)} ({best.option.probability_of_target:.0%})"
            )
    ctx.fired(
        "plan.target_unlikely", f"best eligible regimen {p:.0%} < {likely:.0%}", ["lewiecki2021"]
    )
    return (
        f"; no eligible regimen is likely to reach the target within the reasonable period "
        f"({p:.0%}): being on a path toward it is still worthwhile; judge the path at each DXA"
    )


def _start(ctx: Context, risk: Risk, options: list[Ranked], out: NextStep) -> None:
    eligible = [r for r in options if r.option.eligible]
    first = [r for r in eligible if r.first_line]
    policy = str(ctx.profile.get("first_line.policy", ""))
    cites = [str(c) for c in ctx.profile.get("first_line.citations", [])]
    if not eligible:
        out.recommendations.append(
            Recommendation(
                action="refer",
                rationale=(
                    "no regimen is eligible for this patient (see options): consider specialist "
                    "referral"
                ),
                citations=cites,
            )
        )
        return
    chosen = first[0] if first else eligible[0]
    note = "" if first else " (no first-line regimen of this profile is eligible)"
    note += _probability_note(ctx, chosen, eligible)
    if chosen.option.cautions:
        note += "; cautions: " + "; ".join(chosen.option.cautions)
    out.chosen = chosen
    out.changed_therapy = True
    out.recommendations.append(
        Recommendation(
            action="start",
            regimen=list(chosen.regimen.steps),
            when=ctx.as_of,
            rationale=(
                f"{risk.category.replace('_', ' ')} risk, untreated: consider "
                f"{_label(chosen)}{note}; "
                f"{_why_option(chosen)}; profile {ctx.profile.name} first-line policy: {policy}"
            ),
            citations=list(dict.fromkeys([*cites, *chosen.option.citations[:2]])),
        )
    )
    ctx.fired(
        "plan.start",
        f"start {_label(chosen)}",
        cites,
        category=risk.category,
        first_line=[r.regimen.key for r in first],
        basis=chosen.option.basis,
    )
    if risk.category == "very_high" and ctx.profile.get("monitoring.refer_very_high", False):
        out.recommendations.append(
            Recommendation(
                action="refer",
                rationale=(
                    "very high risk: consider specialist referral for parenteral or anabolic "
                    "treatment; if a delay is expected, start an oral bisphosphonate meanwhile"
                ),
                citations=["gregson2022"],
            )
        )


def _escalation_choice(ctx: Context, course: TherapyCourse, options: list[Ranked]) -> Ranked | None:
    eligible = [r for r in options if r.option.eligible and not r.avoid]
    anabolic = [r for r in eligible if kind_of(r.regimen.drugs[0]) == "anabolic"]
    if ctx.profile.get("response.escalation") == "anabolic_then_antiresorptive" and anabolic:
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


def _escalate(
    ctx: Context, course: TherapyCourse, why: str, options: list[Ranked], out: NextStep
) -> None:
    choice = _escalation_choice(ctx, course, options)
    cites = ["diezperez2012", "lewiecki2021", "drlex2025", "lewiecki2019"]
    if choice is None:
        out.recommendations.append(
            Recommendation(
                action="refer",
                rationale=f"{why}; no eligible stronger regimen: consider specialist referral",
                citations=cites,
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
    out.recommendations.append(
        Recommendation(
            action="escalate" if anabolic else "switch",
            regimen=list(choice.regimen.steps),
            when=ctx.as_of,
            rationale=(
                f"{why}: consider {policy}: {_label(choice)} ({_why_option(choice)}; escalation "
                f"policy of profile {ctx.profile.name})"
            ),
            citations=list(dict.fromkeys([*cites, *choice.option.citations[:2]])),
        )
    )
    ctx.fired(
        "plan.escalate",
        f"{'escalate' if anabolic else 'switch'} to {_label(choice)}",
        cites,
        reason=why,
    )


def _anabolic(
    ctx: Context, history: History, course: TherapyCourse, options: list[Ranked], out: NextStep
) -> None:
    months = history.months_on(course)
    limit = (
        ctx.setting("anabolic.romosozumab_max_months").value
        if course.drug == "romosozumab"
        else ctx.setting("anabolic.pth_lifetime_months").value
    )
    if course.drug != "romosozumab":
        months = history.cumulative_months(("teriparatide", "abaloparatide"))
    ongoing = course.end is None or course.end > ctx.as_of
    consolidators = [
        r
        for r in options
        if r.option.eligible
        and len(r.regimen.drugs) == 1
        and kind_of(r.regimen.drugs[0]) == "antiresorptive"
        and drug_info(r.regimen.drugs[0])["potency"] == "potent"
    ] or [
        r
        for r in options
        if r.option.eligible
        and len(r.regimen.drugs) == 1
        and kind_of(r.regimen.drugs[0]) == "antiresorptive"
    ]
    cites = ["lewiecki2021", "cosman2017", "evenity_us", "teriparatide_eu"]
    if ongoing and months < limit:
        out.recommendations.append(
            Recommendation(
                action="continue",
                regimen=[RegimenStep(drug=course.drug)],
                when=ctx.as_of,
                rationale=(
                    f"{course.drug}: {months:.0f} of {limit:g} months; consider continuing to the "
                    "end of the course, then an antiresorptive to consolidate the gain"
                ),
                citations=cites,
            )
        )
        return
    if ongoing:
        out.alerts.append(
            Alert(
                severity="warning",
                code="anabolic_course_limit",
                message=f"{course.drug}: {months:.0f} months given, course limit {limit:g} months",
                citations=cites,
            )
        )
        out.recommendations.append(
            Recommendation(
                action="stop",
                regimen=[RegimenStep(drug=course.drug)],
                when=ctx.as_of,
                rationale=(
                    f"consider stopping {course.drug}: course limit of {limit:g} months reached"
                ),
                citations=cites,
            )
        )
    chosen = consolidators[0] if consolidators else None
    out.chosen = chosen
    out.changed_therapy = True
    out.recommendations.append(
        Recommendation(
            action="consolidate",
            regimen=list(chosen.regimen.steps) if chosen else None,
            when=ctx.as_of,
            rationale=(
                f"{course.drug} course complete: consider an antiresorptive"
                + (f" ({_label(chosen)})" if chosen else "")
                + " to consolidate and extend the gain (anabolic → antiresorptive sequence)"
            ),
            citations=cites,
        )
    )
    ctx.fired("plan.consolidate", f"after {course.drug}", cites, months=round(months, 1))


def _safety_reminders(
    ctx: Context, history: History, course: TherapyCourse
) -> list[Recommendation]:
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
        Recommendation(
            action="investigate",
            rationale=(
                f"{years:.1f} years of antiresorptive therapy: consider asking about thigh or "
                "groin pain and full-length femur imaging by DXA for atypical femur fracture"
            ),
            citations=cites,
        ),
        Recommendation(
            action="refer",
            rationale=(
                "long-term antiresorptive: consider dental review and good oral hygiene "
                "(jaw osteonecrosis)"
            ),
            citations=cites,
        ),
    ]


def _was_holiday(ctx: Context, history: History, course: TherapyCourse) -> bool:
    """A bisphosphonate stopped for a holiday: said so, or stopped at its review point."""
    if "holiday" in (course.stop_reason or "").lower():
        return True
    route = "oral" if is_oral(course.drug) else "intravenous"
    return history.years_on(course) >= ctx.setting(f"holiday.{route}_review_years").value


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
        if status.target_met is False:
            out.recommendations.append(
                Recommendation(
                    action="reassess",
                    rationale=(
                        "target not met: once the follow-on is in place, consider reassessing the "
                        "regimen with a DXA (an anabolic may be needed to reach the target)"
                    ),
                    citations=["lewiecki2021"],
                )
            )
    elif history.untreated():
        if treat:
            _start(ctx, risk, options, out)
        else:
            key = (
                "monitoring.low_risk_reassess_months"
                if risk.category == "low"
                else "monitoring.dxa_interval_months"
            )
            months = ctx.setting(key).value
            out.recommendations.append(
                Recommendation(
                    action="reassess",
                    rationale=(
                        f"{risk.category} risk under profile {ctx.profile.name}: no drug "
                        "indicated now; "
                        f"consider reassessing fracture risk within {months:g} months"
                    ),
                    citations=[ctx.setting(key).cite],
                )
            )
            ctx.fired(
                "plan.no_drug",
                f"{risk.category}: below the treatment threshold "
                f"({ctx.profile.get('risk.treat_from')})",
                list(ctx.profile.citations),
            )
    elif course is not None and kind_of(course.drug) == "anabolic":
        _anabolic(ctx, history, course, options, out)
    elif course is not None:
        _on_antiresorptive(ctx, facts, history, risk, status, response, options, course, out)
    else:
        last = history.last()
        assert last is not None
        followed = history.followed_by(last, "antiresorptive")
        if kind_of(last.drug) == "anabolic" and followed is None:
            _anabolic(ctx, history, last, options, out)
        elif is_bisphosphonate(last.drug) and _was_holiday(ctx, history, last):
            plan = holiday_in_progress(ctx, facts, history, risk, last, response.bmd_loss_sites)
            out.alerts += plan.alerts
            out.recommendations += plan.recommendations
        elif treat:
            _start(ctx, risk, options, out)
            out.recommendations = [
                r.model_copy(update={"action": "resume"}) if r.action == "start" else r
                for r in out.recommendations
            ]
        else:
            out.recommendations.append(
                Recommendation(
                    action="reassess",
                    rationale=(
                        f"off treatment since {history.end_of(last).isoformat()}, "
                        f"{risk.category} risk: consider reassessing fracture risk and BMD"
                    ),
                    citations=["lewiecki2021"],
                )
            )
    if course is not None:
        out.recommendations += _safety_reminders(ctx, history, course)
    return out


def _on_antiresorptive(
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
            Recommendation(
                action="investigate",
                rationale=(
                    "treatment failure: consider checking adherence, calcium/vitamin D and "
                    "secondary causes"
                ),
                citations=["diezperez2012"],
            )
        )
        _escalate(ctx, course, "treatment failure (IOF criteria)", options, out)
        return
    if response.btm_suppressed is False:
        out.recommendations.append(
            Recommendation(
                action="investigate",
                rationale=(
                    f"bone turnover markers did not fall beyond their LSC on {course.drug}: "
                    "consider checking adherence and how the tablets are taken"
                ),
                citations=["diezperez2017", "naylor2016"],
            )
        )
    if response.inadequate:
        _escalate(
            ctx,
            course,
            f"inadequate response to {course.drug} by the {ctx.profile.name} response rule",
            options,
            out,
        )
        return
    if response.fractures_on_treatment and not response.fractures_counted:
        ctx.fired(
            "plan.fracture_early",
            "fracture early in treatment: too soon to judge failure (IOF 2012); continue and "
            "reassess",
            ["diezperez2012"],
        )
    if response.fractures_counted:
        _escalate(
            ctx,
            course,
            f"fragility fracture on {course.drug}: fracture risk has changed",
            options,
            out,
        )
        return
    if ctx.profile.get("response.judge_path", False) and status.on_track is False:
        _escalate(
            ctx,
            course,
            f"{status.explanation} (response is not success)",
            options,
            out,
        )
        return
    if is_bisphosphonate(course.drug):
        decision = holiday_decision(ctx, facts, risk, status, course, history.years_on(course))
        if decision is not None:
            out.recommendations.append(decision)
            return
    if course.drug == "denosumab" and status.target_met:
        out.recommendations.append(
            Recommendation(
                action="continue",
                regimen=[RegimenStep(drug="denosumab")],
                when=ctx.as_of,
                rationale=(
                    "target reached on denosumab: consider continuing (long-term trial data are "
                    "limited), "
                    "or switching to a bisphosphonate as follow-on — never stopping without one"
                ),
                citations=["lewiecki2021", "tsourdi2021"],
            )
        )
        return
    why = "on a path to the target" if status.on_track else "no sign of failure"
    out.recommendations.append(
        Recommendation(
            action="continue",
            regimen=[RegimenStep(drug=course.drug)],
            when=ctx.as_of,
            rationale=f"{course.drug}: {why}; consider continuing with monitoring",
            citations=["lewiecki2021", "lewiecki2019"],
        )
    )
    ctx.fired("plan.continue", f"continue {course.drug}: {why}", ["lewiecki2021", "lewiecki2019"])
