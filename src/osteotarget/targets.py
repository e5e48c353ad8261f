"""Treatment targets per profile: total hip first, other sites as the profile says, always
no new fracture, and recovery of pre-fracture function when a pre-fracture score exists.

Each target has a time frame (``by``), a rationale, its citations and the profile that
chose it (where evidence leaves the value open, the profile decides and says so).
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_bisphosphonate, kind_of
from osteotarget.base.population import uses_z_scores
from osteotarget.dates import add_months
from osteotarget.model.assessment import RISK_ORDER, Risk, Target, built, rebuilt
from osteotarget.model.codes import Site
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.workup import advanced_kidney
from osteotarget.therapy.safety import lab_state

# The sites a BMD target is set at (Lewiecki 2021; Thomas 2020): hip and spine, not the forearm.
_CENTRAL = ("total_hip", "femoral_neck", "lumbar_spine")


def treatment_baseline(facts: Facts, history: History) -> dict[Site, float]:
    """T-scores when the treatment programme began: the last scan on or before the first
    course start (or the first scan if none precedes it); untreated: the latest scan."""
    courses = history.courses()
    if not courses:
        return dict(facts.latest_t)
    start = min(c.start for c in courses)
    before = [v for v in facts.patient.dxa if v.date <= start]
    visit = before[-1] if before else (facts.patient.dxa[0] if facts.patient.dxa else None)
    if visit is None:
        return {}
    return {m.site: float(m.t_score) for m in visit.measurements if m.t_score is not None}


def _rule_applies(
    rule: dict[str, Any], facts: Facts, risk: Risk, baseline_lowest: float | None
) -> bool:
    when = rule["when"]
    if when == "always":
        return True
    if when == "very_high":
        return risk.category == "very_high"
    if when == "hip_or_vertebral_fracture":
        return any(f.site in ("hip", "vertebral") for f in facts.fractures()) or (
            facts.vertebral_count() > 0
        )
    if when == "baseline_above":
        return baseline_lowest is not None and baseline_lowest > float(rule["threshold"])
    if when == "baseline_at_or_below":
        return baseline_lowest is not None and baseline_lowest <= float(rule["threshold"])
    raise KeyError(f"unknown target rule condition '{when}'")


def primary_site(ctx: Context, facts: Facts) -> Site:
    """The site target status is judged at: the profile's primary site (total hip), the
    femoral neck when the hip is missing or unusable (Thomas 2020; Lewiecki 2021)."""
    primary: Site = ctx.profile.get("targets.primary_site", "total_hip")
    if primary in facts.latest_t:
        return primary
    for fallback in ctx.profile.get("targets.primary_fallback", ["femoral_neck"]):
        if fallback in facts.latest_t:
            return fallback  # type: ignore[no-any-return]
    return primary


def _no_target_met_at_baseline(
    ctx: Context,
    rule: dict[str, Any],
    change_rule: dict[str, Any] | None,
    base: float | None,
) -> dict[str, Any]:
    """A target already met (or within a small gain) at baseline is no target: for
    treatment started above the change rule's threshold (-2.5), the +1.0 T rule applies
    unless the profile's absolute target is further (Lewiecki 2021, Fig. 3)."""
    if not change_rule or "change" in rule or base is None:
        return rule
    if not base > float(change_rule["threshold"]):
        return rule
    if float(rule["value"]) >= base + float(change_rule["change"]):
        return rule
    ctx.fired(
        "targets.baseline_above",
        f"baseline {base:+.1f} above {float(change_rule['threshold']):+.1f}: the target "
        f"{float(rule['value']):+.1f} is less than {float(change_rule['change']):+.1f} T away; "
        "the change target applies",
        [str(change_rule["cite"])],
    )
    return change_rule


def _continues(before: TherapyCourse, after: TherapyCourse) -> bool:
    """*after* carries on the strategy of *before*: the antiresorptive that consolidates an
    anabolic course (Lewiecki 2021 Fig. 3; Cosman 2017), the follow-on after denosumab
    (ECTS 2021), or the same drug without a break."""
    if kind_of(before.drug) == "anabolic" and kind_of(after.drug) == "antiresorptive":
        return True
    if before.drug == "denosumab" and is_bisphosphonate(after.drug):
        return True
    return after.drug == before.drug and (before.end is None or after.start <= before.end)


def strategy_start(history: History) -> TherapyCourse | None:
    """The first course of the current treatment strategy: a change of drug (switch,
    escalation, a new course after a break) starts a new strategy, whose target is to be
    reached within a reasonable period of its own start (Lewiecki 2021 Fig. 3: a changed
    treatment is chosen to reach the target in a reasonable period; Hoong 2025: after
    escalation, the goal over the next three years); a planned sequence (anabolic then
    antiresorptive, denosumab then a bisphosphonate) is one strategy."""
    courses = sorted(history.courses(), key=lambda c: (c.start, c.drug))
    if not courses:
        return None
    first = courses[0]
    for before, after in pairwise(courses):
        if not _continues(before, after):
            first = after
    return first


def target_date(ctx: Context, history: History) -> date:
    months = ctx.setting("targets.reasonable_period_months").value
    first = strategy_start(history)
    return add_months(first.start if first is not None else ctx.as_of, months)


def _date_basis(ctx: Context, history: History) -> str:
    """The basis of the target date, shown with every target."""
    months = ctx.setting("targets.reasonable_period_months").value
    first = strategy_start(history)
    if first is None:
        return f"date: the profile's reasonable period ({months:g} months) from today"
    earliest = min(c.start for c in history.courses())
    since = (
        "the first course"
        if first.start == earliest
        else "the current treatment strategy (the period restarts after a change of course)"
    )
    return (
        f"date: the profile's reasonable period ({months:g} months) from the start of {since}: "
        f"{first.drug} {first.start.isoformat()}"
    )


def _provisional_in_advanced_ckd(ctx: Context, facts: Facts, targets: list[Target]) -> list[Target]:
    """CKD G4-G5D (the last eGFR below the knowledge's cut-off, a CrCl only without an eGFR,
    or dialysis; KDIGO 2012 stages by GFR): the BMD target is provisional, for the CKD-MBD
    specialist to confirm (KDIGO 2017: in G4-G5D with low BMD or
    fragility fractures, treatment choices weigh the CKD-MBD biochemistry and its
    progression, with consideration of a bone biopsy)."""
    labs = lab_state(ctx, facts)
    if not targets or not advanced_kidney(ctx, labs, facts):
        return targets
    on = (
        "dialysis"
        if facts.has_condition("dialysis") or labs.kidney_function is None
        else f"{labs.kidney_test} {labs.kidney_function:g}"
    )
    ctx.fired(
        "targets.advanced_ckd",
        "advanced CKD (eGFR < "
        f"{ctx.number('rules.labs.advanced_ckd_below'):g} or dialysis; {on}): BMD targets "
        "provisional, "
        "for the CKD-MBD specialist to confirm",
        ["kdigo2017"],
    )
    note = (
        "provisional: advanced CKD (eGFR < "
        f"{ctx.number('rules.labs.advanced_ckd_below'):g} or dialysis, CKD G4-G5D): the "
        "osteoporosis target and treatment are for the CKD-MBD specialist to confirm (KDIGO 2017)"
    )
    return [
        rebuilt(
            t,
            rationale=f"{t.rationale}; {note}",
            citations=list(dict.fromkeys([*t.citations, "kdigo2017"])),
        )
        for t in targets
    ]


def set_targets(ctx: Context, facts: Facts, risk: Risk, history: History) -> list[Target]:
    profile = ctx.profile
    targets: list[Target] = []
    by = target_date(ctx, history)
    basis = _date_basis(ctx, history)
    baseline = treatment_baseline(facts, history)
    # + 0.0 turns a -0.0 into 0.0, so ties between sites never depend on input order.
    lowest = min(baseline.values()) + 0.0 if baseline else None  # noqa: knowledge
    z_population = uses_z_scores(ctx, facts)
    if z_population:
        # ISCD 2005/2019: premenopausal women and men under 50 are judged on Z-scores; a
        # T-score target does not apply to them.
        ctx.fired(
            "targets.bmd",
            "premenopausal woman or man under 50: no T-score target (ISCD: Z-scores); the "
            "targets are the cause treated, Z-scores stable or improving and no fracture",
            ["iscd2005"],
        )
    elif not facts.latest_t:
        ctx.fired(
            "targets.bmd",
            "no DXA on record: no BMD target until a scan; the target is set after the DXA",
            ["lewiecki2021"],
        )
    elif not history.courses() and RISK_ORDER.index(risk.category) < RISK_ORDER.index(
        profile.get("risk.treat_from", "high")
    ):
        # R2 (Lewiecki 2021 Fig. 3: the target is set when treatment is chosen): untreated and
        # below the profile's treatment threshold, no treatment target is set.
        ctx.fired(
            "targets.bmd",
            f"untreated, {risk.category.replace('_', ' ')} risk (below the treatment threshold "
            f"of profile {profile.name}): no BMD treatment target; set if treatment starts",
            ["lewiecki2021"],
        )
    elif profile.get("targets.bmd_target", True):
        rules: list[dict[str, Any]] = list(profile.get("targets.t_score_rules", []))
        primary = primary_site(ctx, facts)
        # A target only at a site that was measured (the primary site always, judged or not).
        sites: list[Site] = [primary] + [
            s
            for s in profile.get("targets.sites", ["total_hip"])
            if s != primary and (s in facts.latest_t or not facts.latest_t)
        ]
        hip_note = ""
        if facts.hip_unmeasured:
            hip_note = (
                "; no hip site measured: judged at the "
                f"{primary.replace('_', ' ')} until a hip DXA (where the hip cannot be "
                "measured, the one-third radius: ISCD 2019 adult positions)"
            )
            ctx.fired(
                "targets.no_hip_measured",
                f"no total hip or femoral neck on record: the target is judged at the "
                f"{primary.replace('_', ' ')}; a hip DXA is needed",
                ["lewiecki2021", "iscd2019_adult"],
            )
        central = {s: t for s, t in baseline.items() if s in _CENTRAL}
        # The lowest central site; a tie goes to the first in _CENTRAL (not to input order).
        qualifying: Site = (
            min(central, key=lambda s: (central[s], _CENTRAL.index(s))) if central else primary
        )
        change_rule = next((r for r in rules if "change" in r), None) or dict(
            profile.get("targets.baseline_above_change", {}) or {}
        )
        if change_rule and "when" not in change_rule:
            change_rule = {**change_rule, "when": "baseline_above"}
        for index, rule in enumerate(rules):
            if not _rule_applies(rule, facts, risk, lowest):
                continue
            # R2 (Lewiecki 2021 Fig. 3; ISCD/WHO): "treatment started because of a T-score
            # at or below minus 2.5" is judged on the lowest baseline site, not the total hip alone.
            # A primary site that did not meet the absolute target at baseline keeps it when
            # another baseline site was at or below the threshold (treated or about to be);
            # one that already met it hands the target to the qualifying (lowest) site.
            base_primary = baseline.get(primary)
            started = (
                lowest
                if base_primary is not None
                and "value" in rule
                and not base_primary > float(rule["value"])
                else base_primary
            )
            if (
                "value" in rule
                and base_primary is not None
                and base_primary > float(rule["value"])
                and change_rule
                and qualifying != primary
                and not central[qualifying] > float(change_rule["threshold"])
            ):
                ctx.fired(
                    "targets.qualifying_site",
                    f"{primary.replace('_', ' ')} T {base_primary:+.1f} already above "
                    f"{float(rule['value']):+.1f} at baseline; the {qualifying.replace('_', ' ')}"
                    f" (T {central[qualifying]:+.1f}) qualified for treatment: the target "
                    "applies there",
                    [str(rule["cite"])],
                )
                primary = qualifying
                sites = [primary] + [s for s in sites if s != primary]
                started = central[qualifying]
            rule = _no_target_met_at_baseline(ctx, rule, change_rule, started)
            path = f"{profile.source_of('targets.t_score_rules')}[{index}]"
            ctx.note_evidence(path, str(rule.get("evidence", "unverified")))
            cites = list(dict.fromkeys([str(rule["cite"]), *map(str, rule.get("citations", []))]))
            # The T-score targets below are built from values of the declared types (float
            # values, str texts): not validated again.
            chosen = f"{profile.name}: {rule['rationale']}"
            if "change" in rule:
                change = float(rule["change"])
                base = baseline.get(primary)
                targets.append(
                    built(
                        Target,
                        site=primary,
                        metric="t_score_change",
                        operator=">=",
                        value=change,
                        by=by,
                        rationale=(
                            f"{rule['rationale']}; baseline {primary.replace('_', ' ')} T "
                            + (f"{base:+.1f}" if base is not None else "not measured")
                            + f"; {basis}{hip_note}"
                        ),
                        citations=cites,
                        chosen_by_profile=chosen,
                    )
                )
            else:
                value = float(rule["value"])
                for site in sites:
                    lead = "primary target" if site == primary else "also"
                    targets.append(
                        built(
                            Target,
                            site=site,
                            metric="t_score",
                            operator=">",
                            value=value,
                            by=by,
                            rationale=f"{lead}: {rule['rationale']}"
                            + (f"; {basis}{hip_note}" if site == primary else ""),
                            citations=cites,
                            chosen_by_profile=chosen,
                        )
                    )
            ctx.fired(
                "targets.bmd",
                f"T-score target chosen by profile {profile.name}: {rule['rationale']}",
                cites,
                rule=path,
                baseline_lowest_t=lowest,
                risk=risk.category,
                by=by,
            )
            break
    else:
        ctx.fired(
            "targets.bmd",
            f"profile {profile.name} sets no BMD target (target-to-treat: BMD targets judged "
            "not feasible by ESCEO); fracture-free is the target",
            list(profile.citations),
        )
    targets = _provisional_in_advanced_ckd(ctx, facts, targets)
    strategy = strategy_start(history)
    first_start = strategy.start if strategy is not None else None
    # A fracture before the current strategy is what changed it; the basic target is judged
    # on the current strategy (IOF 2012: fractures on the current treatment).
    since = (
        [f for f in facts.fractures() if f.date >= first_start] if first_start is not None else []
    )
    # Built from values of the declared types (a float value, str texts): not validated.
    targets.append(
        built(
            Target,
            site=None,
            metric="no_new_fracture",
            operator="==",
            value=float(0),
            by=by,
            rationale=(
                "no new fracture is the basic target for every patient; any new fracture "
                f"starts a failure assessment; judged over the target {basis}"
                + (
                    ": fragility fracture since treatment began ("
                    + ", ".join(f"{f.site} {f.date.isoformat()}" for f in since)
                    + ")"
                    if since
                    else ""
                )
            ),
            citations=["lewiecki2021", "cummings2013", "diezperez2012"],
            chosen_by_profile=profile.name,
            met=(not since) if first_start is not None else None,
        )
    )
    period = ctx.setting("targets.reasonable_period_months").value
    pre = [f for f in facts.patient.function if f.context == "pre_fracture" and f.date <= ctx.as_of]
    if pre:
        score = pre[-1]
        current = [
            f
            for f in facts.patient.function
            if f.context == "current"
            and f.instrument == score.instrument
            and score.date <= f.date <= ctx.as_of
        ]
        met = current[-1].score >= score.score if current else None
        targets.append(
            Target(
                site=None,
                metric="function",
                operator=">=",
                value=score.score,
                by=by,
                rationale=(
                    f"recover pre-fracture function: {score.instrument} {score.score:g} "
                    f"({score.date.isoformat()}); no consensus time frame (set individually): "
                    f"the profile's reasonable period ({period:g} months) is shown"
                ),
                citations=["thomas2020"],
                chosen_by_profile=profile.name,
                met=met,
            )
        )
        ctx.fired(
            "targets.function",
            "pre-fracture function score on record: recovering it is a goal of treatment",
            ["thomas2020"],
            instrument=score.instrument,
            score=score.score,
        )
    return targets
