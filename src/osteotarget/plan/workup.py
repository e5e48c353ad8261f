"""Evaluation before and alongside treatment (Lewiecki 2021 Fig. 3; AACE 2020; BHOF 2022):
the secondary-cause work-up still missing, vertebral imaging when indicated and not done,
calcium / vitamin D / exercise / falls prevention, and the lab alerts."""

from __future__ import annotations

from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History
from osteotarget.dates import add_months
from osteotarget.model.assessment import Alert, Recommendation, built
from osteotarget.risk.frax import latest_frax
from osteotarget.therapy.safety import LabState, label_region

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
        built(
            Recommendation,
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
        built(
            Recommendation,
            action="investigate",
            rationale=(
                f"consider vertebral fracture assessment (VFA by DXA or spine radiograph): {why}, "
                "no vertebral imaging on record; a vertebral fracture changes the risk category"
            ),
            citations=["morin2023", "lewiecki2021", "cosman2024"],
        )
    ]


def missing_information(ctx: Context, facts: Facts) -> list[Recommendation]:
    """Information the record lacks that would change the answer, asked for as an action:
    a hip scan when only the spine (or forearm) was measured (ISCD 2019 adult positions:
    spine and hip; the one-third radius when the hip cannot be measured), and, for a woman
    with breast cancer on record whose aromatase-inhibitor use is not recorded, that use
    (Hadji 2017: bone-directed therapy below the knowledge's T-score threshold on an
    aromatase inhibitor)."""
    out: list[Recommendation] = []
    if facts.hip_unmeasured:
        ctx.fired(
            "workup.hip_scan",
            "no total hip or femoral neck on record: a hip DXA is asked for",
            ["iscd2019_adult"],
        )
        out.append(
            built(
                Recommendation,
                action="investigate",
                rationale=(
                    "consider a DXA of the hip (total hip and femoral neck): only "
                    + ", ".join(s.replace("_", " ") for s in sorted(facts.latest_t))
                    + " on record; the target is judged at the total hip (where the hip cannot "
                    "be measured, the one-third radius)"
                ),
                citations=["iscd2019_adult", "lewiecki2021"],
            )
        )
    unknown_ai = facts.patient.risk_factors.aromatase_inhibitor is None
    lowest = min(facts.latest_t.values()) if facts.latest_t else None
    threshold = ctx.number("rules.monitoring.aromatase_inhibitor.treat_below")
    if (
        facts.patient.sex == "female"
        and facts.has_condition("breast_cancer")
        and unknown_ai
        and lowest is not None
        and lowest < threshold
    ):
        ctx.fired(
            "workup.aromatase_inhibitor",
            "breast cancer on record, aromatase-inhibitor use not recorded",
            ["hadji2017"],
        )
        out.append(
            built(
                Recommendation,
                action="investigate",
                rationale=(
                    "breast cancer on record: consider asking whether she takes an aromatase "
                    "inhibitor and recording it among her risk factors: on one, "
                    f"bone-directed therapy is advised from a T-score below {threshold:+.1f} "
                    f"(lowest here {lowest:+.1f}; joint position statement, Hadji 2017)"
                ),
                citations=["hadji2017"],
            )
        )
    return out


def advanced_kidney(ctx: Context, labs: LabState, facts: Facts) -> bool:
    """Advanced CKD (G4-G5D): dialysis, or the last eGFR below the cut-off (KDIGO 2012/2017
    stage CKD by GFR); a creatinine clearance only when no eGFR is on record. A low
    Cockcroft-Gault CrCl with an eGFR above the cut-off (small, old patients) is a label
    matter (drug cut-offs), not advanced CKD."""
    value = labs.kidney_function
    return facts.has_condition("dialysis") or (
        value is not None and value < ctx.number(f"{_LABS}.advanced_ckd_below")
    )


def denosumab_gap(
    ctx: Context, facts: Facts, history: History, beyond: str = "give_now_within_months"
) -> tuple[date, date | None] | None:
    """(last denosumab dose, last DXA) when the last DXA precedes a gap in denosumab: no dose
    for longer than the knowledge setting *beyond* (rules.monitoring.denosumab) and no
    follow-on, with no scan since the effect wore off (ECTS 2021: bone is lost after
    stopping). None otherwise."""
    courses = [c for c in history.courses() if c.drug == "denosumab"]
    if not courses:
        return None
    course = courses[-1]
    if history.followed_by(course, "antiresorptive") or history.followed_by(course, "anabolic"):
        return None
    last = history.last_dose(course)
    if last is None:
        return None
    # A dose late within the give-now window is resumed and the path goes on; beyond it
    # the rebound has begun (the same knowledge setting the follow-on rule reads).
    long_gap = add_months(last, ctx.number(f"rules.monitoring.denosumab.{beyond}"))
    if ctx.as_of <= long_gap:
        return None
    scans = [v.date for v in facts.patient.dxa if v.date <= ctx.as_of]
    gap_start = add_months(last, ctx.number("rules.monitoring.denosumab.follow_on_after_months"))
    if scans and max(scans) > gap_start:
        return None
    return last, (max(scans) if scans else None)


def denosumab_gap_before_scan(
    ctx: Context, facts: Facts, history: History
) -> Recommendation | None:
    """The last DXA precedes a long gap in denosumab (no dose for longer than the give-now
    window, without a follow-on): bone is lost after stopping (ECTS 2021), so the scan no
    longer shows where the patient stands and cannot be projected; a DXA is asked for."""
    gap = denosumab_gap(ctx, facts, history)
    if gap is None:
        return None
    last, last_scan = gap
    scans = [last_scan] if last_scan is not None else []
    ctx.fired(
        "projection.denosumab_gap",
        f"last DXA {max(scans).isoformat() if scans else 'none'} precedes the gap in denosumab "
        f"(last dose {last.isoformat()}): not projected",
        ["tsourdi2021"],
    )
    return Recommendation(
        action="reassess",
        rationale=(
            f"the last DXA ({max(scans).isoformat() if scans else 'none on record'}) precedes "
            f"the gap since the last denosumab dose ({last.isoformat()}): bone is lost after "
            "stopping, so no projection is made from it; consider a DXA now (and vertebral "
            "imaging) to judge where the patient stands"
        ),
        when=ctx.as_of,
        citations=["tsourdi2021", "lewiecki2021"],
    )


def lifestyle(ctx: Context, facts: Facts, advanced_ckd: bool = False) -> list[Recommendation]:
    """*advanced_ckd*: eGFR < 30 or dialysis: calcium and vitamin D only as nephrology
    advises (KDIGO 2017), no fixed intake advice. (Recommendations here and in the work-up
    are built from the rule's own words: not validated again.)"""
    ca = "rules.lifestyle.calcium"
    vd = "rules.lifestyle.vitamin_d"
    sex = facts.patient.sex
    from_age = ctx.number(f"{ca}.women_from_age" if sex == "female" else f"{ca}.men_from_age")
    mg = ctx.number(
        f"{ca}.higher_mg_per_day" if facts.age >= from_age else f"{ca}.lower_mg_per_day"
    )
    recs = [
        built(
            Recommendation,
            action="lifestyle",
            rationale=f"consider total calcium intake of about {mg:g} mg/day (diet first)",
            citations=["leboff2022"],
        ),
        built(
            Recommendation,
            action="lifestyle",
            rationale=(
                f"consider vitamin D {ctx.number(f'{vd}.iu_per_day_low'):g}-"
                f"{ctx.number(f'{vd}.iu_per_day_high'):g} IU/day as needed"
            ),
            citations=["leboff2022"],
        ),
        built(
            Recommendation,
            action="lifestyle",
            rationale=f"consider {ctx.kb.get('rules.lifestyle.exercise.text')}",
            citations=[str(c) for c in ctx.kb.get("rules.lifestyle.exercise.citations")],
        ),
    ]
    if advanced_ckd:
        recs = [
            built(
                Recommendation,
                action="lifestyle",
                rationale=(
                    "advanced CKD (eGFR < 30 or dialysis): consider calcium and vitamin D "
                    "intake as nephrology advises (CKD-MBD), not a fixed supplement dose"
                ),
                citations=["kdigo2017"],
            ),
            *recs[2:],
        ]
    falls = [f for f in facts.patient.falls if f.date <= ctx.as_of]
    if falls:
        recs.append(
            built(
                Recommendation,
                action="lifestyle",
                rationale=(
                    f"consider {ctx.kb.get('rules.lifestyle.falls.text')} ({len(falls)} fall(s) "
                    "on record)"
                ),
                citations=[str(c) for c in ctx.kb.get("rules.lifestyle.falls.citations")],
            )
        )
    if facts.patient.risk_factors.current_smoker:
        recs.append(
            Recommendation(
                action="lifestyle",
                rationale=f"current smoker: consider {ctx.kb.get('rules.lifestyle.smoking.text')}",
                citations=[str(c) for c in ctx.kb.get("rules.lifestyle.smoking.citations")],
            )
        )
    recs += fracture_liaison(ctx, facts)
    return recs


def fracture_liaison(ctx: Context, facts: Facts) -> list[Recommendation]:
    """A recent hip fracture (within the profile's imminent-risk window): a fracture liaison
    service and rehabilitation (Hawley 2016; NOGG 2022)."""
    path = "rules.lifestyle.fracture_liaison"
    sites = ctx.kb.get(f"{path}.sites")
    months = ctx.setting("imminent.recent_fracture_months").value
    since = add_months(ctx.as_of, -months)
    recent = [f for f in facts.fractures() if f.site in sites and f.date >= since]
    if not recent:
        return []
    last = max(recent, key=lambda f: f.date)
    return [
        Recommendation(
            action="refer",
            rationale=(
                f"{last.site.replace('_', ' ')} fracture {last.date.isoformat()}: consider "
                f"{ctx.kb.get(f'{path}.text')}"
            ),
            citations=[str(c) for c in ctx.kb.get(f"{path}.citations")],
        )
    ]


def lab_alerts(
    ctx: Context, facts: Facts, labs: LabState
) -> tuple[list[Alert], list[Recommendation]]:
    alerts: list[Alert] = []
    recs: list[Recommendation] = []
    if labs.calcium_low or facts.has_condition("hypocalcaemia"):
        shown = (
            f"serum calcium {labs.calcium:.2f} mmol/L (below {labs.calcium_limit_source} lower "
            f"limit {labs.calcium_lower_limit:.2f} mmol/L)"
            if labs.calcium_low and labs.calcium_lower_limit is not None
            else "hypocalcaemia"
        )
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
    if labs.vitamin_d_low and advanced_kidney(ctx, labs, facts):
        # CKD G4-G5D (KDIGO 2017): vitamin D and calcium are managed with the CKD-MBD
        # biochemistry (phosphate, calcium, PTH considered together), by the specialist the
        # plan refers to: no generic supplement line beside that referral.
        alerts.append(
            Alert(
                severity="warning",
                code="vitamin_d_low",
                message=(
                    f"25(OH)D {labs.vitamin_d:.3g} ng/mL is below the "
                    f"{ctx.number(f'{_LABS}.vitamin_d_sufficient'):g} ng/mL aim, in advanced "
                    "CKD (eGFR < "
                    f"{ctx.number(f'{_LABS}.advanced_ckd_below'):g} or dialysis): repletion "
                    "with the CKD-MBD specialist (KDIGO 2017)"
                ),
                citations=["kdigo2017", "leboff2022"],
            )
        )
        recs.append(
            Recommendation(
                action="refer",
                rationale=(
                    "advanced CKD (eGFR < "
                    f"{ctx.number(f'{_LABS}.advanced_ckd_below'):g} or dialysis) with 25(OH)D "
                    f"{labs.vitamin_d:.3g} ng/mL: consider vitamin D (and calcium) repletion as "
                    "the CKD-MBD specialist advises, judged with phosphate, calcium and PTH "
                    "(KDIGO 2017), not a generic supplement"
                ),
                citations=["kdigo2017"],
            )
        )
        ctx.fired(
            "safety.vitamin_d",
            f"25(OH)D {labs.vitamin_d:.3g} ng/mL below sufficiency in advanced CKD: with the "
            "CKD-MBD specialist",
            ["kdigo2017"],
        )
    elif labs.vitamin_d_low and labs.vitamin_d_deficient:
        alerts.append(
            Alert(
                severity="warning",
                code="vitamin_d_low",
                message=(
                    f"25(OH)D {labs.vitamin_d:.3g} ng/mL is below the "
                    f"{ctx.number(f'{_LABS}.vitamin_d_deficient'):g} ng/mL deficiency cut-off: "
                    "replete before a parenteral antiresorptive"
                ),
                citations=["leboff2022", "holick2011"],
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
    elif labs.vitamin_d_low:
        # Insufficiency (deficiency cut-off to the 30 ng/mL aim): replete alongside, never a
        # reason to delay treatment (R9 of the specialist review; IOM 2011).
        alerts.append(
            Alert(
                severity="info",
                code="vitamin_d_low",
                message=(
                    f"25(OH)D {labs.vitamin_d:.3g} ng/mL is below the "
                    f"{ctx.number(f'{_LABS}.vitamin_d_sufficient'):g} ng/mL aim (insufficiency): "
                    "replete alongside treatment; not a reason to delay it"
                ),
                citations=["leboff2022"],
            )
        )
        recs.append(
            Recommendation(
                action="add",
                rationale=(
                    "consider vitamin D repletion alongside treatment (insufficiency: not a "
                    "reason to delay it), then maintenance"
                ),
                citations=["leboff2022"],
            )
        )
        ctx.fired(
            "safety.vitamin_d",
            f"25(OH)D {labs.vitamin_d:.3g} ng/mL below sufficiency",
            ["leboff2022"],
        )
    if labs.alkaline_phosphatase_raised:
        # Forsteo SmPC §4.3 (EU): contraindicated with unexplained raised ALP; Forteo/Tymlos
        # US labels: avoid (increased baseline osteosarcoma risk). The record has no field
        # for its cause: ask for it (therapy.safety excludes or cautions the PTH analogues).
        cite = "forteo_us" if label_region(ctx.profile) == "us" else "teriparatide_eu"
        recs.append(
            Recommendation(
                action="investigate",
                rationale=(
                    f"consider finding the cause of the raised alkaline phosphatase "
                    f"({labs.alkaline_phosphatase:.0f} U/L; liver or bone origin, e.g. Paget's "
                    "disease, bone metastases, osteomalacia): avoid a PTH analogue while it is "
                    "unexplained (label)"
                ),
                citations=[cite],
            )
        )
    return alerts, recs
