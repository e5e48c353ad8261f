"""Golden densitometry cases, each with its source.

Reference: NHANES III white women 20–29 (Looker 1998, doi:10.1007/s001980050093), used for
femoral neck and total hip in women and men (ISCD 2013, Watts 2013). sBMD: Hui 1997 (hip),
Genant 1994 (spine). LSC = 2.77 × precision (ISCD); minimum acceptable precision (Baim 2005).
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from osteotarget.densitometry import (
    assess_densitometry,
    bmd_from_t_score,
    default_precision,
    facility_precision,
    precision_study,
    sbmd_mg_cm2,
    t_score_from_bmd,
    t_units_per_percent,
    who_category,
)
from osteotarget.model import parse_patient

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "spec_examples"
AS_OF = date(2026, 11, 23)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


# --- T-scores from BMD (NHANES III, Looker 1998; ISCD 2013) ------------------------------


@pytest.mark.parametrize(
    ("site", "bmd", "expected"),
    [
        ("total_hip", 0.942, 0.0),  # the reference mean itself
        ("total_hip", 0.637, -2.5),  # 0.942 − 2.5 × 0.122: WHO osteoporosis threshold
        ("femoral_neck", 0.558, -2.5),  # 0.858 − 2.5 × 0.120
        ("total_hip", 0.610, -2.72),  # spec example: Hologic TH 0.610 reported −2.7
        ("femoral_neck", 0.462, -3.30),  # spec example: Hologic FN 0.462 reported −3.3
    ],
)
def test_t_score_from_hologic_bmd_uses_nhanes_iii(site: Any, bmd: float, expected: float) -> None:
    """Looker 1998 NHANES III reference; T = (BMD − mean)/SD (ISCD 2013)."""
    assert t_score_from_bmd(site, bmd, "hologic") == pytest.approx(expected, abs=0.01)


def test_no_t_score_is_computed_off_the_reference_scale_or_for_spine() -> None:
    """NHANES III is on the Hologic scale; spine uses manufacturer databases (ISCD 2013)."""
    assert t_score_from_bmd("total_hip", 0.700, "ge_lunar") is None
    assert t_score_from_bmd("lumbar_spine", 0.900, "hologic") is None


def test_bmd_from_t_score_inverts_and_t_units_shrink_at_low_bmd() -> None:
    """ΔT = BMD₀ × %Δ / (100 × SD_ref) (data.md §3, derived): 3% is fewer T-units at low BMD."""
    bmd = bmd_from_t_score("total_hip", -3.0)
    assert bmd is not None
    assert t_score_from_bmd("total_hip", bmd, "hologic") == pytest.approx(-3.0)
    low, high = t_units_per_percent("total_hip", 0.55), t_units_per_percent("total_hip", 0.80)
    assert low is not None and high is not None and low < high
    assert t_units_per_percent("total_hip", 0.70) == pytest.approx(0.057, abs=0.001)


def test_reported_t_score_is_kept_when_it_disagrees_and_flagged() -> None:
    """ISCD 2013: the reference must match; a disagreement is a data-quality finding."""
    record = example("naive-high-risk")
    record["dxa"][0]["measurements"][0]["t_score"] = -1.5  # BMD 0.622 gives −2.62
    dens = assess_densitometry(parse_patient(record), AS_OF)
    hip = next(s for s in dens.sites if s.site == "total_hip")
    assert hip.points[-1].t_score == -1.5
    assert hip.points[-1].t_score_source == "reported_differs"
    assert [f.code for f in dens.findings] == ["data_quality"]


def test_agreeing_examples_raise_no_data_quality_finding() -> None:
    """The contract's Hologic examples agree with NHANES III to within rounding."""
    for name in ("naive-high-risk", "alendronate-inadequate-response", "recent-hip-fracture-ckd"):
        dens = assess_densitometry(parse_patient(example(name)), AS_OF)
        assert not [f for f in dens.findings if f.code == "data_quality"], name


def test_lunar_scan_uses_the_reported_t_score_and_says_so() -> None:
    """No verified GE Lunar young-adult reference: the scanner's T-score is used (ISCD 2013)."""
    dens = assess_densitometry(parse_patient(example("denosumab-overdue")), AS_OF)
    hip = next(s for s in dens.sites if s.site == "total_hip")
    assert hip.points[0].t_score == -2.9
    assert hip.points[0].t_score_computed is None
    assert any("as reported by the scanner" in n for n in dens.notes)


# --- Standardised BMD (Hui 1997; Genant 1994) ---------------------------------------------


@pytest.mark.parametrize(
    ("site", "maker", "bmd", "sbmd"),
    [
        ("total_hip", "hologic", 1.000, 1014.0),  # 1000 × (0.006 + 1.008)
        ("total_hip", "ge_lunar", 1.000, 948.0),  # 1000 × (−0.031 + 0.979)
        ("total_hip", "norland", 1.000, 1038.0),  # 1000 × (0.026 + 1.012)
        ("femoral_neck", "ge_lunar", 0.800, 728.2),  # 1000 × (−0.023 + 0.939 × 0.8)
        ("lumbar_spine", "hologic", 0.972, 1043.6),  # centre of the Hologic formula
        ("lumbar_spine", "ge_lunar", 1.100, 1043.6),  # centre of the Lunar formula
        ("lumbar_spine", "norland", 1.069, 1141.0),  # 1000 × (0.9743 × 0.1 + 1.0436)
    ],
)
def test_sbmd_conversions(site: Any, maker: str, bmd: float, sbmd: float) -> None:
    assert sbmd_mg_cm2(site, maker, bmd) == pytest.approx(sbmd, abs=0.1)


def test_sbmd_is_unknown_for_other_manufacturers() -> None:
    assert sbmd_mg_cm2("total_hip", "other", 0.8) is None


def test_cross_manufacturer_change_is_compared_on_sbmd_and_flagged() -> None:
    """ISCD 2019 (Jankowski): comparisons across scanners need cross-calibration; flag them."""
    record = example("alendronate-inadequate-response")
    record["dxa"][1]["device"] = {"manufacturer": "ge_lunar", "model": "Prodigy"}
    record["dxa"][1]["measurements"][0]["bmd"] = 0.660
    dens = assess_densitometry(parse_patient(record), AS_OF)
    hip = next(s for s in dens.sites if s.site == "total_hip")
    assert hip.since_baseline is not None
    assert hip.since_baseline.compared_on == "sbmd"
    # Hologic 0.610 → 620.9 mg/cm²; Lunar 0.660 → 615.1 mg/cm²: a small loss, not a gain
    assert hip.since_baseline.percent == pytest.approx(-0.93, abs=0.05)
    # sBMD carries its own ≈3.5% individual error (Hui 1997): never judged against an LSC
    assert hip.since_baseline.exceeds_lsc is None
    assert hip.since_baseline.direction == "unknown"
    assert "device_changed" in {f.code for f in dens.findings}
    assert "hui1997" in dens.citations


def test_cross_manufacturer_spine_change_cites_genant() -> None:
    """Spine sBMD follows Genant 1994, not Hui 1997."""
    record = example("alendronate-inadequate-response")
    record["dxa"][1]["device"] = {"manufacturer": "ge_lunar", "model": "Prodigy"}
    dens = assess_densitometry(parse_patient(record), AS_OF)
    spine = next(f for f in dens.findings if f.site == "lumbar_spine")
    assert "genant1994" in spine.citations and "hui1997" not in spine.citations


def test_a_site_without_precision_says_so() -> None:
    record = example("naive-high-risk")
    record["dxa"][0]["measurements"].append({"site": "one_third_radius", "t_score": -2.0})
    dens = assess_densitometry(parse_patient(record), AS_OF)
    radius = next(s for s in dens.sites if s.site == "one_third_radius")
    assert radius.lsc_source == "none" and radius.lsc_percent is None


# --- Precision and least significant change (ISCD; Glüer 1995) ---------------------------


def test_lsc_is_2_77_times_the_iscd_minimum_precision_by_default() -> None:
    """ISCD: LSC = 2.77 × precision; minimum acceptable TH 1.8% → LSC 5.0% (Baim 2005)."""
    precision = default_precision("total_hip")
    assert precision is not None and precision.source == "iscd_minimum_default"
    assert precision.lsc_percent() == pytest.approx(4.99, abs=0.01)
    assert precision.lsc_g_cm2(0.700) == pytest.approx(0.0349, abs=0.0001)


def test_precision_study_rms_sd_by_hand() -> None:
    """RMS-SD = sqrt(ΣΣ(x − x̄)² / Σ(n − 1)) (Glüer 1995), LSC = 2.77 × RMS-SD (ISCD)."""
    study = precision_study([[1.00, 1.02], [0.80, 0.80, 0.83]])
    # patient 1: SS = 2 × 0.01² = 0.0002 ; patient 2: mean 0.81, SS = 0.0001+0.0001+0.0004
    expected_sd = ((0.0002 + 0.0006) / 3) ** 0.5
    assert study.rms_sd_g_cm2 == pytest.approx(expected_sd)
    assert study.degrees_of_freedom == 3
    assert study.lsc_g_cm2 == pytest.approx(2.77 * expected_sd)
    assert not study.meets_recommended_design


@pytest.mark.parametrize(
    ("patients", "scans", "ok"), [(15, 3, True), (30, 2, True), (15, 2, False)]
)
def test_precision_study_designs(patients: int, scans: int, ok: bool) -> None:
    """ISCD: 15 patients × 3 scans or 30 × 2."""
    data = [[0.9 + 0.001 * i + 0.005 * (j % 2) for j in range(scans)] for i in range(patients)]
    assert precision_study(data).meets_recommended_design is ok


def test_precision_study_refuses_single_scans() -> None:
    with pytest.raises(ValueError, match="patient 2 has 1 scan"):
        precision_study([[1.0, 1.01], [0.9]])


def test_facility_precision_replaces_the_default() -> None:
    """A facility's own precision gives an LSC in g/cm² (ISCD)."""
    study = precision_study([[0.70, 0.71, 0.70]] * 15)
    record = example("alendronate-inadequate-response")
    dens = assess_densitometry(
        parse_patient(record), AS_OF, {"total_hip": facility_precision("total_hip", study)}
    )
    hip = next(s for s in dens.sites if s.site == "total_hip")
    assert hip.lsc_source == "facility"
    assert hip.since_baseline is not None
    assert hip.since_baseline.lsc_g_cm2 == pytest.approx(study.lsc_g_cm2)


# --- Trend (seed 002: 3-year change; ISCD LSC) -------------------------------------------


def test_alendronate_example_change_is_within_the_lsc() -> None:
    """Spec example: TH 0.610 → 0.616 over 3 years (+0.98%) is within the 5.0% LSC."""
    dens = assess_densitometry(parse_patient(example("alendronate-inadequate-response")), AS_OF)
    hip = next(s for s in dens.sites if s.site == "total_hip")
    change = hip.since_baseline
    assert change is not None
    assert change.bmd_g_cm2 == pytest.approx(0.006)
    assert change.percent == pytest.approx(0.98, abs=0.01)
    assert change.t_units == pytest.approx(0.1)
    assert change.exceeds_lsc is False and change.direction == "stable"
    assert change.annualised_percent == pytest.approx(0.98 / 3.01, abs=0.01)


def test_holiday_example_gain_exceeds_the_lsc() -> None:
    """Spec example: TH 0.640 → 0.686 (+7.2%) exceeds the 5.0% LSC: a real gain."""
    dens = assess_densitometry(parse_patient(example("bisphosphonate-holiday-candidate")), AS_OF)
    hip = next(s for s in dens.sites if s.site == "total_hip")
    assert hip.since_baseline is not None and hip.since_previous is not None
    assert hip.since_baseline.direction == "gain"
    assert hip.since_previous.from_date == date(2020, 2, 3)
    assert hip.since_previous.direction == "stable"  # +1.5% since the previous scan


def test_loss_beyond_lsc_is_a_loss() -> None:
    record = example("alendronate-inadequate-response")
    record["dxa"][1]["measurements"][0]["bmd"] = 0.570
    record["dxa"][1]["measurements"][0]["t_score"] = -3.0
    hip = next(
        s for s in assess_densitometry(parse_patient(record), AS_OF).sites if s.site == "total_hip"
    )
    assert hip.since_baseline is not None and hip.since_baseline.direction == "loss"


# --- WHO classification (Kanis 1994) -----------------------------------------------------


@pytest.mark.parametrize(
    ("t", "fracture", "category"),
    [
        (-0.9, False, "normal"),
        (-1.0, False, "normal"),
        (-1.1, False, "low_bone_mass"),
        (-2.4, False, "low_bone_mass"),
        (-2.5, False, "osteoporosis"),
        (-2.5, True, "severe_osteoporosis"),
        (-2.0, True, "low_bone_mass"),
    ],
)
def test_who_classification(t: float, fracture: bool, category: str) -> None:
    assert who_category(t, fracture) == category


def test_overall_classification_is_the_worst_site_of_the_latest_visit() -> None:
    dens = assess_densitometry(parse_patient(example("recent-hip-fracture-ckd")), AS_OF)
    assert dens.classification == "severe_osteoporosis"
    assert dens.lowest_t_score == -3.3 and dens.lowest_t_site == "femoral_neck"
    assert {s.site: s.classification for s in dens.sites}["lumbar_spine"] == "low_bone_mass"


def test_results_do_not_depend_on_input_order() -> None:
    record = example("bisphosphonate-holiday-candidate")
    reordered = copy.deepcopy(record)
    reordered["dxa"].reverse()
    a = assess_densitometry(parse_patient(record), AS_OF)
    b = assess_densitometry(parse_patient(reordered), AS_OF)
    assert a == b
