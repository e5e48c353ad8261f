"""Risk category per profile: the highest category among the profile rules that fired,
each fired rule kept as a reason with its citation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.population import uses_z_scores, z_score_words
from osteotarget.base.profile import Profile
from osteotarget.model.assessment import RISK_ORDER, Reason, Risk, RiskCategory, built
from osteotarget.risk.criteria import Inputs, evaluate, frax_threshold_table
from osteotarget.risk.frax import frax_for_category, frax_values


def _citations(rule: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys([str(rule["cite"]), *[str(c) for c in rule.get("citations", [])]]))


_T_SCORE_CRITERIA = ("t_score", "t_score_ever", "frax", "frax_threshold")


def _uses(rules: list[dict[str, Any]], criterion: str) -> bool:
    return any(
        r.get("criterion") == criterion or _uses(list(r.get("rules", [])), criterion) for r in rules
    )


_PROFILE_USES: dict[tuple[int, str], tuple[Profile, bool]] = {}


def _profile_uses(profile: Profile, criterion: str) -> bool:
    """:func:`_uses` on the profile's risk rules, found once per profile object (a profile
    is never changed once built; the entry keeps it alive, so its id is not reused)."""
    hit = _PROFILE_USES.get((id(profile), criterion))
    if hit is not None and hit[0] is profile:
        return hit[1]
    found = _uses(list(profile.get("risk.rules", [])), criterion)
    if len(_PROFILE_USES) >= _PROFILE_USES_MAX:
        _PROFILE_USES.clear()
    _PROFILE_USES[(id(profile), criterion)] = (profile, found)
    return found


_PROFILE_USES_MAX = 256  # entries (profiles × criteria), not clinical


def _undetermined(
    ctx: Context,
    facts: Facts,
    inputs: Inputs,
    rules: list[dict[str, Any]],
    fired: bool,
    z_population: bool,
) -> str:
    """Why the risk cannot be determined ("" if it can): no criterion fired, no T-score on
    record and no FRAX this profile can evaluate (R4 of the specialist review)."""
    if fired or z_population or facts.latest_t:
        return ""
    # Without a DXA, FRAX decides only where the profile reads it on its own at the treatment
    # tier (e.g. MOF >= 20 %); FRAX read only together with a T-score (osteopenia + FRAX,
    # AACE 2020 / BHOF 2022) cannot rule treatment out: a DXA decides (R4, NOGG 2022).
    treat_from = ctx.profile.get("risk.treat_from", "high")
    standalone = [
        r
        for r in rules
        if r["category"] == treat_from
        and (
            r.get("criterion") == "frax"
            or (
                r.get("criterion") == "frax_threshold"
                and frax_threshold_table(inputs.tables.get(str(r["table"])))
            )
        )
    ]
    has_frax = any(v is not None for v in inputs.frax.values())
    if standalone and has_frax:
        # A FRAX below the treatment threshold rules out only the FRAX criteria: where the
        # profile also treats on a T-score, a DXA decides (the escalation protocol, Hoong
        # 2025: a T-score criterion at any site OR the FRAX MOF criterion).
        at_treat_tier = [
            r
            for r in rules
            if RISK_ORDER.index(str(r["category"])) >= RISK_ORDER.index(str(treat_from))
        ]
        if not any(_reads_t_score(r) for r in at_treat_tier):
            return ""
        return (
            "no DXA on record: FRAX is below this profile's FRAX thresholds, but its T-score "
            "criteria cannot be judged without a scan"
        )
    why = (
        "FRAX on record but not usable under this profile (its criteria cannot read it)"
        if frax_values(ctx, facts)
        else "no FRAX on record"
    )
    return f"no DXA on record and {why}"


def _reads_t_score(rule: Mapping[str, Any]) -> bool:
    """The rule (or one of the rules it combines) reads a T-score."""
    if rule.get("criterion") in ("t_score", "t_score_ever"):
        return True
    return any(_reads_t_score(r) for r in rule.get("rules", []))


def _threshold_tables(ctx: Context, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The age-dependent FRAX threshold tables the profile's rules name, each recorded with
    its evidence tag."""
    tables: dict[str, Any] = {}
    for rule in rules:
        if rule.get("criterion") == "frax_threshold":
            path = str(rule["table"])
            tables[path] = ctx.kb.table(path)
            ctx.note_evidence(path, str(tables[path].get("evidence", "unverified")))
    return tables


def _frax_unused(ctx: Context, tables: dict[str, Any]) -> bool:
    """FRAX on record is not read for the category: the profile reads none, or its
    age-dependent thresholds are not on file."""
    if ctx.profile.get("risk.frax_for_category") == "none":
        return True
    return bool(tables) and not any(frax_threshold_table(t) for t in tables.values())


def risk_category(ctx: Context, facts: Facts) -> Risk:
    frax = frax_values(ctx, facts)
    z_population = uses_z_scores(ctx, facts)
    rules: list[dict[str, Any]] = list(ctx.profile.get("risk.rules", []))
    inputs = Inputs(
        facts=facts,
        frax={o: frax_for_category(ctx, frax, o) for o in ("mof", "hip")},
        min_treatment_months=(
            ctx.setting("failure.min_treatment_months").value
            if _profile_uses(ctx.profile, "fracture_on_treatment")
            else 0.0
        ),
        t_from_lowest_ever=ctx.profile.get("risk.t_score_basis", "latest") == "lowest_ever",
        tables=_threshold_tables(ctx, rules),
    )
    category: RiskCategory = "low"
    imminent = False
    reasons: list[Reason] = []
    skipped = 0
    for index, rule in enumerate(rules):
        if z_population and any(_uses([rule], c) for c in _T_SCORE_CRITERIA):
            skipped += 1
            continue
        result = evaluate(rule, inputs, explain=False)
        if not result.fired:
            continue
        path = f"profiles.{ctx.profile.name}.risk.rules[{index}]"
        ctx.note_evidence(path, str(rule.get("evidence", "unverified")))
        level: RiskCategory = rule["category"]
        label = str(rule.get("label", "")) or result.text
        text = f"{level.replace('_', ' ')}: {label}"
        if rule.get("label"):
            text += f" — {result.text}"
        if rule.get("evidence") == "unverified":
            text += " [unverified criterion]"
        reasons.append(
            built(
                Reason, code=f"{level}:{rule['criterion']}", text=text, citations=_citations(rule)
            )
        )
        if rule["criterion"] in ("fracture", "vertebral_fractures") and rule.get("within_months"):
            imminent = True
        if RISK_ORDER.index(level) > RISK_ORDER.index(category):
            category = level
        ctx.fired(
            "risk.criterion",
            text,
            _citations(rule),
            profile=ctx.profile.name,
            rule=path,
            **result.inputs,
        )
    if z_population:
        reasons.append(
            Reason(
                code="z_score_population",
                text=(
                    "premenopausal woman or man under 50: judged on Z-scores, not T-scores "
                    f"({skipped} T-score/FRAX criteria of the profile not applied); "
                    + z_score_words(ctx)
                ),
                citations=["iscd2005"],
            )
        )
        ctx.fired("risk.z_score_population", z_score_words(ctx), ["iscd2005"])
    undetermined = _undetermined(ctx, facts, inputs, rules, bool(reasons), z_population)
    if undetermined:
        # NOGG 2022: the absence of an evaluable criterion is not a low risk; DXA first.
        reasons.append(
            Reason(
                code="undetermined:no_bmd",
                text=(
                    f"risk not determined: {undetermined}; the category shows only that no "
                    "criterion of this profile fired: a DXA (with vertebral fracture "
                    "assessment) decides"
                ),
                citations=list(dict.fromkeys([*ctx.profile.citations[:1], "lewiecki2021"])),
            )
        )
        ctx.fired("risk.undetermined", undetermined, list(ctx.profile.citations[:1]))
    elif not reasons:
        reasons.append(Reason(code="low:none", text="low: no risk criterion of this profile fired"))
    if frax and _frax_unused(ctx, dict(inputs.tables)):
        reasons.append(
            Reason(
                code="frax_not_used",
                text=(
                    "FRAX shown but not used for the category: this profile's thresholds are "
                    "country- and age-specific intervention thresholds not on file"
                ),
                citations=list(ctx.profile.citations[:1]),
            )
        )
    ctx.fired(
        "risk.category",
        f"{category} (profile {ctx.profile.name}; highest category among the criteria that fired)",
        list(ctx.profile.citations),
        criteria_fired=sum(1 for step in ctx.trace if step.rule == "risk.criterion"),
    )
    # Built from values of the declared types: not validated again.
    return built(
        Risk,
        category=category,
        reasons=reasons,
        frax=frax,
        imminent=imminent,
        profile=ctx.profile.name,
    )
