"""Golden cases for risk and lab rules from the third specialist review (no record
special-cased): aromatase-inhibitor bone loss (Hadji 2017 joint position statement),
untreated BMD loss beyond the LSC, glucocorticoids in the default profile (ACR 2022, NOGG
2022), a T-score <= -3.5 without fracture (NOGG 2022, ACR 2022), CKD staging by eGFR (KDIGO
2012/2017) and the lab's own lower calcium limit. Each test names its source."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.model.assessment import Assessment
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 12, 2)


def _run(record: dict[str, Any], profile: str = "t2t2024") -> Assessment:
    return assess(parse_patient(record), AS_OF, profile)


def _scan(when: str, hip: float, spine: float, hip_bmd: float, spine_bmd: float) -> dict[str, Any]:
    return {
        "date": when,
        "device": HOLOGIC,
        "measurements": [
            {"site": "total_hip", "t_score": hip, "bmd": hip_bmd},
            {"site": "lumbar_spine", "t_score": spine, "bmd": spine_bmd},
        ],
    }


def _on_ai(record_id: str, spine: float, /, **risk: Any) -> dict[str, Any]:
    """A 61-year-old with breast cancer, fracture-free, total hip -1.6, spine *spine*."""
    return woman(
        record_id,
        "1965-09-09",
        dxa=[_scan("2026-10-05", -1.6, spine, 0.75, 0.80)],
        risk_factors=risk,
        conditions=[{"code": "breast_cancer", "onset": "2024-08-15", "resolved": None}],
    )


def _reason_cites(a: Assessment, key: str) -> bool:
    return any(key in r.citations for r in a.risk.reasons)


# 1. Aromatase-inhibitor bone loss ---------------------------------------------------------


def test_aromatase_inhibitor_with_t_below_minus_2_is_high_risk() -> None:
    """Hadji 2017 (IOF/CABS/ECTS/IEG/ESCEO/IMS/SIOG joint position statement, J Bone Oncol
    7:1): a woman on an aromatase inhibitor with a T-score < -2.0 is given bone-directed
    therapy -> high risk (a treatment tier) under the European-based profiles."""
    for profile in ("t2t2024", "nogg2022", "iof_esceo2020"):
        a = _run(_on_ai("ai-1", -2.3, aromatase_inhibitor=True), profile)
        assert a.risk.category == "high", profile
        assert _reason_cites(a, "hadji2017"), profile


def test_aromatase_inhibitor_rule_needs_the_drug_and_the_threshold() -> None:
    """Hadji 2017: the T < -2.0 threshold applies to women on an aromatase inhibitor; the
    same T-score without one, or on one with T -1.8, does not reach the criterion."""
    without = _run(_on_ai("ai-2", -2.3))
    above = _run(_on_ai("ai-3", -1.8, aromatase_inhibitor=True))
    assert without.risk.category == "moderate"
    assert above.risk.category == "moderate"
    assert not _reason_cites(without, "hadji2017")
    assert not _reason_cites(above, "hadji2017")


def test_aromatase_inhibitor_rule_not_in_us_profiles() -> None:
    """ASCO 2019 (Shapiro, survivors of adult cancers) applies the general osteoporosis
    thresholds: the US profiles (AACE 2020) keep T -2.3 on an aromatase inhibitor moderate."""
    a = _run(_on_ai("ai-4", -2.3, aromatase_inhibitor=True), "aace2020")
    assert a.risk.category == "moderate"


def test_untreated_bmd_loss_asks_for_a_treatment_decision_not_adherence() -> None:
    """ISCD precision (LSC) / IOF 2012 (Diez-Perez): loss beyond the LSC in a patient on no
    osteoporosis treatment is not an adherence question: it needs a treatment decision and a
    secondary-cause check (drug-induced loss among them)."""
    record = woman(
        "loss-untreated",
        "1965-09-09",
        dxa=[
            _scan("2024-10-01", -1.5, -1.8, 0.759, 0.849),
            _scan("2026-10-05", -1.9, -2.3, 0.710, 0.794),
        ],
    )
    alert = next(x for x in _run(record).alerts if x.code == "significant_bmd_loss")
    assert "adherence" not in alert.message
    assert "treatment decision" in alert.message
    assert "secondary causes" in alert.message


def test_bmd_loss_on_treatment_still_asks_about_adherence() -> None:
    """IOF 2012 (Diez-Perez): on treatment, loss beyond the LSC prompts an adherence check."""
    record = woman(
        "loss-treated",
        "1955-09-09",
        dxa=[
            _scan("2024-10-01", -2.6, -2.8, 0.70, 0.78),
            _scan("2026-10-05", -2.9, -3.1, 0.66, 0.74),
        ],
        therapies=[
            {"drug": "alendronate", "start": "2024-10-15", "end": None, "adherence": "good"}
        ],
    )
    alert = next(x for x in _run(record).alerts if x.code == "significant_bmd_loss")
    assert "on alendronate" in alert.message
    assert "adherence" in alert.message


# 4. CKD staged by eGFR, not by a Cockcroft-Gault creatinine clearance ----------------------


def _kidney(record_id: str, labs: list[dict[str, Any]]) -> dict[str, Any]:
    """A 90-year-old, 45 kg, with a hip fracture last year, total hip T -2.8 and 25(OH)D 14."""
    base = [
        {"date": "2026-10-20", "test": "calcium", "value": 2.35, "unit": "mmol/L"},
        {"date": "2026-10-20", "test": "vitamin_d_25oh", "value": 14, "unit": "ng/mL"},
    ]
    return woman(
        record_id,
        "1936-05-01",
        weight_kg=45,
        fractures=[{"date": "2026-03-01", "site": "hip", "fragility": True, "source": "clinical"}],
        dxa=[_scan("2026-04-01", -2.8, -2.0, 0.62, 0.85)],
        labs=base + labs,
    )


def _egfr(value: float) -> dict[str, Any]:
    return {"date": "2026-10-20", "test": "egfr", "value": value, "unit": "mL/min/1.73m2"}


def _crcl(value: float) -> dict[str, Any]:
    return {"date": "2026-10-20", "test": "creatinine_clearance", "value": value, "unit": "mL/min"}


def _ckd_mbd_referral(a: Assessment) -> bool:
    vitamin_d = [x for x in a.alerts if x.code == "vitamin_d_low"]
    provisional = any("provisional" in t.rationale for t in a.targets)
    return provisional or any("CKD-MBD" in x.message for x in vitamin_d)


def test_low_crcl_with_egfr_above_30_is_not_advanced_ckd() -> None:
    """KDIGO 2012/2017: CKD is staged by GFR; eGFR 40 is G3b, not G4-G5D, whatever a
    Cockcroft-Gault CrCl of 24 in a 45 kg 90-year-old says. Vitamin D repletion is not sent
    to the CKD-MBD specialist and the targets are not provisional; the label cut-offs stay on
    CrCl (zoledronate: CrCl < 35, Reclast label)."""
    a = _run(_kidney("ckd-g3b", [_egfr(40), _crcl(24)]))
    assert not _ckd_mbd_referral(a)
    assert any(t.metric == "t_score" for t in a.targets)
    zoledronate = next(o for o in a.options if o.regimen[0].drug == "zoledronate")
    assert not zoledronate.eligible


def test_egfr_below_30_is_advanced_ckd() -> None:
    """KDIGO 2017: eGFR 25 is CKD G4: targets provisional, vitamin D with the CKD-MBD
    specialist."""
    a = _run(_kidney("ckd-g4", [_egfr(25), _crcl(35)]))
    assert _ckd_mbd_referral(a)
    assert all("provisional" in t.rationale for t in a.targets if t.metric == "t_score")


def test_crcl_is_a_surrogate_only_without_an_egfr() -> None:
    """KDIGO 2012: staging by GFR; with no eGFR on record a creatinine clearance < 30 stands
    in for it, and the text says it is a surrogate."""
    a = _run(_kidney("ckd-crcl-only", [_crcl(24)]))
    assert _ckd_mbd_referral(a)
    trace = " ".join(str(step) for step in a.trace)
    assert "surrogate for eGFR" in trace


# 2. Glucocorticoids in the default profile ---------------------------------------------------


def _on_glucocorticoids(record_id: str, mg: float, start: str | None, hip: float) -> dict[str, Any]:
    """A 58-year-old, fracture-free, on prednisolone *mg* mg/day, total hip *hip*, spine -2.0;
    no FRAX on record."""
    gc: dict[str, Any] = {"current": True, "prednisolone_mg_per_day": mg}
    if start is not None:
        gc["start"] = start
    return woman(
        record_id,
        "1968-05-22",
        dxa=[_scan("2026-07-10", hip, -2.0, 0.72, 0.85)],
        risk_factors={"rheumatoid_arthritis": True, "glucocorticoids": gc},
    )


def test_glucocorticoids_for_3_months_with_low_bone_mass_are_a_treatment_criterion() -> None:
    """ACR 2022 GIOP guideline (Humphrey 2023): adults on glucocorticoids >= 2.5 mg/day for
    > 3 months are treated from medium risk (T -1.0 to -2.4) up: the default profile's
    treatment tier (high), cited, without FRAX."""
    a = _run(_on_glucocorticoids("gc-15", 15, "2026-06-01", -1.9))
    assert a.risk.category == "high"
    assert _reason_cites(a, "humphrey2023")


def test_glucocorticoid_rule_needs_duration_and_low_bone_mass() -> None:
    """ACR 2022: the > 3 months of glucocorticoids and the medium-risk T-score both count:
    a course begun a month ago, or a normal T-score, does not fire the criterion."""
    recent = _run(_on_glucocorticoids("gc-recent", 15, "2026-11-01", -1.9))
    normal = woman(
        "gc-normal-bmd",
        "1968-05-22",
        dxa=[_scan("2026-07-10", -0.5, -0.8, 0.95, 1.0)],
        risk_factors={
            "glucocorticoids": {
                "current": True,
                "prednisolone_mg_per_day": 15,
                "start": "2026-01-01",
            }
        },
    )
    assert not _reason_cites(recent, "humphrey2023")
    assert recent.risk.category == "moderate"
    assert not _reason_cites(_run(normal), "humphrey2023")


# 3. T-score <= -3.5 without a fracture ---------------------------------------------------------


def test_t_score_at_or_below_minus_3_5_is_very_high_in_the_default_profile() -> None:
    """NOGG 2022 (Gregson) and ACR 2022 (Humphrey 2023) list a T-score <= -3.5 among the
    very-high-risk indicators: a fracture-free woman with total hip -3.5 is very high under
    t2t2024 as under nogg2022."""
    record = woman("t35", "1956-03-01", dxa=[_scan("2026-09-01", -3.5, -3.0, 0.55, 0.70)])
    for profile in ("t2t2024", "nogg2022"):
        assert _run(record, profile).risk.category == "very_high", profile


def test_t_score_minus_3_1_stays_high_in_the_default_profile() -> None:
    """The AACE 2020 T < -3.0 is not a criterion of t2t2024 (its sources do not carry it):
    spine -3.1 without a fracture is high, not very high."""
    record = woman("t31", "1956-03-01", dxa=[_scan("2026-09-01", -2.6, -3.1, 0.66, 0.70)])
    assert _run(record).risk.category == "high"


# 5. Calcium judged against the laboratory's own lower reference limit -----------------------


def _calcium(record_id: str, value: float, reference_low: float | None) -> dict[str, Any]:
    lab: dict[str, Any] = {
        "date": "2026-10-20",
        "test": "calcium",
        "value": value,
        "unit": "mmol/L",
    }
    if reference_low is not None:
        lab["reference_low"] = reference_low
    return woman(
        record_id,
        "1950-01-01",
        dxa=[_scan("2026-09-01", -2.8, -2.6, 0.62, 0.80)],
        labs=[
            {"date": "2026-10-20", "test": "egfr", "value": 72, "unit": "mL/min/1.73m2"},
            {"date": "2026-10-20", "test": "vitamin_d_25oh", "value": 34, "unit": "ng/mL"},
            lab,
        ],
    )


def test_calcium_below_the_laboratorys_own_lower_limit_is_hypocalcaemia() -> None:
    """Prolia SmPC 4.3 / US label: hypocalcaemia contraindicates denosumab and must be
    corrected first. Reference intervals are laboratory-specific: Ca 2.12 mmol/L against the
    laboratory's lower limit 2.20 is hypocalcaemia, named with that limit, and denosumab is
    not eligible."""
    a = _run(_calcium("ca-lab-limit", 2.12, 2.20))
    alert = next(x for x in a.alerts if x.code == "hypocalcaemia")
    assert "2.20" in alert.message
    denosumab = next(o for o in a.options if o.regimen[0].drug == "denosumab")
    assert not denosumab.eligible


def test_calcium_without_a_laboratory_limit_uses_the_configured_limit() -> None:
    """Without the laboratory's limit the configured rules.labs.calcium_low (2.10) applies:
    Ca 2.12 is not flagged, Ca 2.05 is."""
    assert not any(x.code == "hypocalcaemia" for x in _run(_calcium("ca-2.12", 2.12, None)).alerts)
    assert any(x.code == "hypocalcaemia" for x in _run(_calcium("ca-2.05", 2.05, None)).alerts)
