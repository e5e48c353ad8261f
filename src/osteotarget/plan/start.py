"""Untreated (or off treatment and at risk again) → start: by risk category and the
profile's first-line policy, choosing among eligible regimens by their chance of reaching
the target (Cummings 2013; Cosman 2024; Lewiecki 2021 Fig. 3)."""

from __future__ import annotations

from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.history import kind_of
from osteotarget.model.assessment import Risk
from osteotarget.plan.common import NextStep, correct_first, label, rec, why_option
from osteotarget.plan.pathway_facts import choose_start
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety


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
            and (r.option.probability_of_target or 0)
            >= min(likely, p + ctx.setting("change.min_probability_gain").value)
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
                f"anabolic-first, e.g. {label(best)} ({best.option.probability_of_target:.0%})"
            )
    ctx.fired(
        "plan.target_unlikely", f"best eligible regimen {p:.0%} < {likely:.0%}", ["lewiecki2021"]
    )
    target = chosen.option.horizon_months
    # Closest among the options this profile would start at this risk level (the chosen
    # one's group: first-line, or all if none is): the options ranking puts the closest of
    # the not materially different ones first, so the text names the recommended option.
    closest = max(
        (r for r in eligible if not r.avoid and r.first_line == chosen.first_line),
        key=lambda r: (
            r.option.expected_t_at_horizon is not None,
            r.option.expected_t_at_horizon or 0,
            r.option.probability_of_target or 0,
        ),
        default=chosen,
    )
    shown = (
        f"{label(closest)}, expected T {closest.option.expected_t_at_horizon:+.1f} at "
        f"{target} months"
        if closest.option.expected_t_at_horizon is not None
        else label(closest)
    )
    return (
        f"; no option is likely to reach the target within {target} months "
        f"(best {p:.0%}); closest: {shown}; being on a path toward it is still worthwhile: "
        "judge the path at each DXA"
    )


def start(
    ctx: Context,
    risk: Risk,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    out: NextStep,
    *,
    resume: bool = False,
) -> None:
    usable = [r for r in options if r.option.eligible or r.correctable]
    policy = str(ctx.profile.get("first_line.policy", ""))
    cites = [str(c) for c in ctx.profile.get("first_line.citations", [])]
    chosen = choose_start(ctx, options)
    if chosen is None:
        out.recommendations.append(
            rec(
                "refer",
                "no regimen is eligible for this patient (see options): consider specialist "
                "referral",
                cites,
            )
        )
        return
    note = "" if chosen.first_line else " (no first-line regimen of this profile is eligible)"
    note += _probability_note(ctx, chosen, usable)
    if chosen.option.cautions:
        note += "; cautions: " + "; ".join(chosen.option.cautions)
    corrections = correct_first(chosen, safety)
    when: date | None = ctx.as_of
    if not chosen.option.eligible:
        # Never a dated start for a regimen the options mark not eligible: it is chosen only
        # because its exclusions are correctable (low calcium, low vitamin D), so it starts
        # after the correction, not today.
        when = None
        if not corrections:
            note += "; start only once the exclusions listed in the options are corrected"
    if corrections:
        # Prolia/Reclast/Evenity labels: correct hypocalcaemia (and replete vitamin D)
        # before the first dose: no start date today.
        when = None
        note += f"; start after {' and '.join(corrections)}"
        ctx.fired(
            "plan.start_after_correction",
            f"{chosen.regimen.drugs[0]}: start after {' and '.join(corrections)}",
            chosen.option.citations[:2],
        )
    out.chosen = chosen
    out.changed_therapy = True
    state = "previously treated, off treatment" if resume else "untreated"
    out.recommendations.append(
        rec(
            "resume" if resume else "start",
            f"{risk.category.replace('_', ' ')} risk, {state}: consider "
            f"{label(chosen)}{note}; "
            f"{why_option(chosen)}; profile {ctx.profile.name} first-line policy: {policy}",
            [*cites, *chosen.option.citations[:2]],
            regimen=chosen,
            when=when,
        )
    )
    ctx.fired(
        "plan.start",
        f"{'resume with' if resume else 'start'} {label(chosen)}",
        cites,
        category=risk.category,
        first_line=[r.regimen.key for r in options if r.first_line and r.option.eligible],
        basis=chosen.option.basis,
    )
    if risk.category == "very_high" and ctx.profile.get("monitoring.refer_very_high", False):
        # NOGG 2022: an oral bisphosphonate meanwhile if referral is delayed, but never while
        # a correction is pending: hypocalcaemia is a contraindication on the bisphosphonate
        # and denosumab labels (Fosamax/Reclast/Prolia), so nothing is started meanwhile.
        meanwhile = (
            "; no antiresorptive meanwhile: start only after the correction (hypocalcaemia is "
            "a contraindication on the bisphosphonate and denosumab labels)"
            if when is None
            else "; if a delay is expected, start an oral bisphosphonate meanwhile"
        )
        out.recommendations.append(
            rec(
                "refer",
                "very high risk: consider specialist referral for parenteral or anabolic "
                "treatment" + meanwhile,
                ["gregson2022", "prolia_us", "reclast_us"] if when is None else ["gregson2022"],
            )
        )
