"""Evaluation before and alongside treatment (Lewiecki 2021 Fig. 3; AACE 2020; BHOF 2022):
the secondary-cause work-up still missing, vertebral imaging when indicated and not done,
calcium / vitamin D / exercise / falls prevention, and the lab alerts."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.dates import add_months
from osteotarget.model.assessment import Alert, Recommendation
from osteotarget.risk.frax import latest_frax
from osteotarget.therapy.safety import LabState

_LABS = "rules.labs"
_TEST_WORDS = {
    "calcium": "serum calcium",
    "vitamin_d_25oh": "25(OH) vitamin D",
    "egfr": "renal function (eGFR or creatinine clearance)",
    "alkaline_phosphatase": "alkaline phosphatase",
    "pth": "PTH",
}


def missing_workup(ctx: Context, facts: Facts) -> list[Recommendation]:
    months = ctx.number(f"{_LABS}.lab_lookback_months")
    since = add_months(ctx.as_of, -months)
    table = ctx.kb.table(f"{_LABS}.workup")
    missing = []
    for test in table["tests"]:
        tests = ("egfr", "creatinine_clearance") if test == "egfr" else (test,)
        if not any(
            lab.test in tests and since <= lab.date <= ctx.as_of for lab in facts.patient.labs
        ):
            missing.append(_TEST_WORDS.get(test, test))
    if not missing:
        return []
    cites = [str(c) for c in table["citations"]]
    ctx.fired(
        "workup.labs",
        f"secondary-cause work-up incomplete: {', '.join(missing)} not on record in the last "
        f"{months:g} months",
        cites,
        missing=missing,
    )
    return [
        Recommendation(
            action="investigate",
            rationale=(
                "consider completing the work-up for secondary causes of bone fragility: "
                + ", ".join(missing)
            ),
            citations=cites,
        )
    ]


def vertebral_imaging(ctx: Context, facts: Facts) -> list[Recommendation]:
    path = "rules.monitoring.vertebral_imaging"
    had_vfa = any(v.vfa is not None for v in facts.patient.dxa if v.date <= ctx.as_of)
    if had_vfa or facts.vertebral_count() > 0:
        return []
    lowest = min(facts.latest_t.values()) if facts.latest_t else None
    old_enough = facts.age >= ctx.number(f"{path}.min_age")
    low_t = lowest is not None and lowest <= ctx.number(f"{path}.t_score_at_or_below")
    frax = latest_frax(facts)
    grey = frax is not None and (
        ctx.number(f"{path}.mof_from") <= frax.mof < ctx.number(f"{path}.mof_below")
    )
    if not ((old_enough and low_t) or grey):
        return []
    why = (
        f"age {facts.age} with T-score {lowest:+.1f}"
        if old_enough and low_t
        else f"FRAX MOF {frax.mof:g}% in the band that calls for imaging"  # type: ignore[union-attr]
    )
    ctx.fired(
        "workup.vertebral_imaging",
        f"vertebral imaging indicated ({why}); none on record",
        ["morin2023", "lewiecki2021"],
    )
    return [
        Recommendation(
            action="investigate",
            rationale=(
                f"consider vertebral fracture assessment (VFA by DXA or spine radiograph): {why}, "
                "no vertebral imaging on record; a vertebral fracture changes the risk category"
            ),
            citations=["morin2023", "lewiecki2021", "cosman2024"],
        )
    ]


def lifestyle(ctx: Context, facts: Facts) -> list[Recommendation]:
    ca = "rules.lifestyle.calcium"
    vd = "rules.lifestyle.vitamin_d"
    sex = facts.patient.sex
    from_age = ctx.number(f"{ca}.women_from_age" if sex == "female" else f"{ca}.men_from_age")
    mg = ctx.number(
        f"{ca}.higher_mg_per_day" if facts.age >= from_age else f"{ca}.lower_mg_per_day"
    )
    recs = [
        Recommendation(
            action="lifestyle",
            rationale=f"consider total calcium intake of about {mg:g} mg/day (diet first)",
            citations=["leboff2022"],
        ),
        Recommendation(
            action="lifestyle",
            rationale=(
                f"consider vitamin D {ctx.number(f'{vd}.iu_per_day_low'):g}-"
                f"{ctx.number(f'{vd}.iu_per_day_high'):g} IU/day as needed"
            ),
            citations=["leboff2022"],
        ),
        Recommendation(
            action="lifestyle",
            rationale=f"consider {ctx.kb.get('rules.lifestyle.exercise.text')}",
            citations=[str(c) for c in ctx.kb.get("rules.lifestyle.exercise.citations")],
        ),
    ]
    falls = [f for f in facts.patient.falls if f.date <= ctx.as_of]
    if falls:
        recs.append(
            Recommendation(
                action="lifestyle",
                rationale=(
                    f"consider {ctx.kb.get('rules.lifestyle.falls.text')} ({len(falls)} fall(s) "
                    "on record)"
                ),
                citations=[str(c) for c in ctx.kb.get("rules.lifestyle.falls.citations")],
            )
        )
    return recs


def lab_alerts(
    ctx: Context, facts: Facts, labs: LabState
) -> tuple[list[Alert], list[Recommendation]]:
    alerts: list[Alert] = []
    recs: list[Recommendation] = []
    if labs.calcium_low or facts.has_condition("hypocalcaemia"):
        shown = f"serum calcium {labs.calcium:.2f} mmol/L" if labs.calcium_low else "hypocalcaemia"
        alerts.append(
            Alert(
                severity="warning",
                code="hypocalcaemia",
                message=(
                    f"{shown}: correct before an antiresorptive (denosumab, zoledronate) or "
                    "romosozumab"
                ),
                citations=["prolia_us", "reclast_us", "evenity_us"],
            )
        )
        recs.append(
            Recommendation(
                action="investigate",
                rationale="consider investigating and correcting hypocalcaemia before treatment",
                citations=["prolia_us", "reclast_us"],
            )
        )
        ctx.fired("safety.hypocalcaemia", shown, ["prolia_us", "reclast_us"])
    if labs.vitamin_d_low:
        alerts.append(
            Alert(
                severity="warning",
                code="vitamin_d_low",
                message=(
                    f"25(OH)D {labs.vitamin_d:g} ng/mL is below the "
                    f"{ctx.number(f'{_LABS}.vitamin_d_sufficient'):g} ng/mL aim: replete before "
                    "a parenteral antiresorptive"
                ),
                citations=["leboff2022"],
            )
        )
        recs.append(
            Recommendation(
                action="add",
                rationale=(
                    "consider vitamin D repletion, then maintenance, before starting treatment"
                ),
                citations=["leboff2022"],
            )
        )
        ctx.fired(
            "safety.vitamin_d",
            f"25(OH)D {labs.vitamin_d:g} ng/mL below sufficiency",
            ["leboff2022"],
        )
    return alerts, recs
