"""Golden cases for two general rules from the specialist's review of the r2 records (no
record special-cased): a start is never dated for a regimen the options mark not eligible,
and at imminent risk a missing or stale DXA does not delay an antiresorptive start. Each test
names its guideline, label or trial."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 11, 30)


def _low_calcium_vertebral_fracture() -> dict[str, Any]:
    return {
        "id": "review-rules-4-low-calcium",
        "sex": "female",
        "birth_date": "1950-03-02",
        "menopause": {"status": "postmenopausal", "age": 50},
        "fractures": [
            {"date": "2026-06-15", "site": "vertebral", "fragility": True, "source": "clinical"}
        ],
        "dxa": [
            {
                "date": "2026-06-15",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -2.7},
                    {"site": "femoral_neck", "t_score": -3.0},
                ],
            }
        ],
        "labs": [
            {"date": "2026-11-01", "test": "egfr", "value": 70, "unit": "mL/min/1.73m2"},
            {"date": "2026-11-01", "test": "calcium", "value": 1.98, "unit": "mmol/L"},
            {"date": "2026-11-01", "test": "vitamin_d_25oh", "value": 7, "unit": "ng/mL"},
        ],
    }


def test_no_dated_start_for_a_regimen_not_eligible_and_nothing_meanwhile() -> None:
    """Prolia (denosumab) and Reclast/Fosamax labels: hypocalcaemia must be corrected before
    the drug; NOGG 2022 (Gregson, Arch Osteoporos 17:58): very high risk → referral, an oral
    bisphosphonate meanwhile only if it can be given. Review r2-10 under nogg2022: the start
    (a sequence whose follow-on, denosumab, is excluded for low calcium) was dated today and
    an oral bisphosphonate was advised meanwhile despite hypocalcaemia."""
    for profile in ("nogg2022", "t2t2024"):
        a = assess(parse_patient(_low_calcium_vertebral_fracture()), AS_OF, profile)
        assert a.recommendations[0].action == "investigate"
        starts = [r for r in a.recommendations if r.action in ("start", "resume")]
        assert starts, profile
        eligible = {tuple(s.drug for s in o.regimen) for o in a.options if o.eligible}
        for s in starts:
            assert s.when is None, (profile, s.rationale)
            assert s.rationale.startswith("after correcting"), profile
            # chosen among regimens eligible after the correction: not an eligible one today
            assert s.regimen is not None
            assert tuple(step.drug for step in s.regimen) not in eligible, profile
        text = " ".join(r.rationale for r in a.recommendations)
        assert "oral bisphosphonate meanwhile" not in text, profile
    nogg = assess(parse_patient(_low_calcium_vertebral_fracture()), AS_OF, "nogg2022")
    refer = [r for r in nogg.recommendations if r.action == "refer"]
    assert refer and "no antiresorptive meanwhile" in refer[0].rationale


def _man_after_hip_fracture(*, dxa: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "review-rules-4-hip-fracture",
        "sex": "male",
        "birth_date": "1944-01-09",
        "fractures": [
            {"date": "2026-10-25", "site": "hip", "fragility": True, "source": "clinical"}
        ],
        "dxa": dxa or [],
    }


def test_imminent_risk_without_dxa_starts_an_antiresorptive_with_the_dxa_alongside() -> None:
    """HORIZON Recurrent Fracture Trial (Lyles et al., N Engl J Med 2007;357:1799-1809, doi
    10.1056/NEJMoa074941: zoledronic acid started within 90 days of a hip fracture reduced new
    clinical fractures); imminent risk (Kanis 2020 IOF-ESCEO). Review r2-28 under t2t2024: an
    82-year-old man 5 weeks after a hip fracture got "DXA first, then decide on
    teriparatide". The start is now an antiresorptive dated today, the DXA alongside it."""
    a = assess(parse_patient(_man_after_hip_fracture()), AS_OF, "t2t2024")
    first = a.recommendations[0]
    assert first.action == "start" and first.when == AS_OF
    assert first.regimen is not None
    assert first.regimen[0].drug not in ("teriparatide", "abaloparatide", "romosozumab")
    assert "not delayed by the scan" in first.rationale
    dxa = [r for r in a.recommendations if r.action == "reassess"]
    assert dxa and "alongside the start" in dxa[0].rationale and "anabolic" in dxa[0].rationale
    assert "lyles2007" in dxa[0].citations


def test_imminent_risk_keeps_a_profile_that_starts_without_dxa() -> None:
    """NOGG 2022 (Gregson, Arch Osteoporos 17:58) allows an antiresorptive start without BMD:
    its choice (the first-line oral bisphosphonate) is kept; only the DXA request is added.
    The first preference, alendronate, is licensed for men under the EU/UK label as 10 mg
    daily (alendronic acid 10 mg SmPC §4.1), so it is chosen with that caution."""
    a = assess(parse_patient(_man_after_hip_fracture()), AS_OF, "nogg2022")
    first = a.recommendations[0]
    assert first.action == "start" and first.when == AS_OF
    assert first.regimen is not None and first.regimen[0].drug == "alendronate"
    assert "10 mg once daily" in first.rationale


def test_imminent_risk_calcium_check_still_comes_first() -> None:
    """The eligibility and safety rows stay ahead of the imminent-risk start (Prolia/Reclast
    labels: correct hypocalcaemia first): a recent hip fracture with low calcium and no DXA is
    corrected first, the start undated."""
    record = _man_after_hip_fracture()
    record["labs"] = [
        {"date": "2026-11-20", "test": "egfr", "value": 70, "unit": "mL/min/1.73m2"},
        {"date": "2026-11-20", "test": "calcium", "value": 1.98, "unit": "mmol/L"},
        {"date": "2026-11-20", "test": "vitamin_d_25oh", "value": 30, "unit": "ng/mL"},
    ]
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    assert a.recommendations[0].action == "investigate"
    assert all(r.when is None for r in a.recommendations if r.action in ("start", "resume"))


def test_low_vitamin_d_for_a_follow_on_does_not_delay_an_anabolic_start() -> None:
    """Evenity (romosozumab) label: hypocalcaemia corrected before starting, patients
    supplemented with calcium and vitamin D; Prolia (denosumab): vitamin D adequate before
    the first dose. Romosozumab → denosumab after a recent hip fracture (imminent risk, Kanis
    2020) with 25(OH)D 19 ng/mL and normal calcium: the denosumab phase begins 12 months later,
    time enough for repletion, so the start keeps today's date (first specialist's reading:
    repletion is needed before the denosumab phase, not before the anabolic)."""
    record = woman(
        "review-rules-4-vitd-follow-on",
        "1947-04-02",
        fractures=[{"date": "2026-09-21", "site": "hip", "fragility": True, "source": "clinical"}],
        dxa=[
            {
                "date": "2026-10-14",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -3.2},
                    {"site": "femoral_neck", "t_score": -3.4},
                    {"site": "lumbar_spine", "t_score": -2.4},
                ],
            }
        ],
    )
    record["labs"] = [
        {"date": "2026-10-20", "test": "egfr", "value": 72, "unit": "mL/min/1.73m2"},
        {"date": "2026-10-20", "test": "calcium", "value": 2.35, "unit": "mmol/L"},
        {"date": "2026-10-20", "test": "vitamin_d_25oh", "value": 19, "unit": "ng/mL"},
    ]
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    starts = [r for r in a.recommendations if r.action == "start"]
    assert starts and starts[0].regimen is not None
    assert starts[0].regimen[0].drug in ("romosozumab", "teriparatide", "abaloparatide")
    assert starts[0].when == AS_OF, starts[0].rationale
