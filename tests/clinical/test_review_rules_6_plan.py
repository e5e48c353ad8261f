"""Golden cases for the specialist's sixth review, plan rules (general rules, no record
special-cased): a fracture on treatment that is not IOF treatment failure, leaving
denosumab, route-dependent adherence checks, no further dose of a drug the plan leaves, a
DXA at the end of an anabolic course and a parenteral switch after poor oral adherence.
Each test names its guideline, trial or label."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.model.assessment import Assessment
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 12, 2)

DMAB_DOSES = [
    "2022-06-14", "2022-12-13", "2023-06-13", "2023-12-12", "2024-06-11", "2024-12-10",
    "2025-06-10", "2025-12-09", "2026-06-09",
]  # fmt: skip


def _scan(day: str, hip: float, hip_bmd: float, spine: float, spine_bmd: float) -> dict[str, Any]:
    return {
        "date": day,
        "device": HOLOGIC,
        "measurements": [
            {"site": "total_hip", "t_score": hip, "bmd": hip_bmd},
            {"site": "lumbar_spine", "t_score": spine, "bmd": spine_bmd},
        ],
    }


def _row(a: Assessment) -> str:
    step = next(s for s in a.trace if s.rule == "pathway")
    return step.outcome.split(" ", 1)[0]


def _on_denosumab(
    record_id: str,
    fractures: list[dict[str, Any]],
    latest: dict[str, Any],
    *,
    prior: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return woman(
        record_id,
        "1956-07-21",
        dxa=[_scan("2022-05-20", -2.9, 0.580, -2.6, 0.760), latest],
        fractures=[*(prior or []), *fractures],
        therapies=[
            {"drug": "denosumab", "start": "2022-06-14", "doses": DMAB_DOSES, "adherence": "good"}
        ],
    )


_WRIST = {"date": "2026-08-15", "site": "distal_forearm", "fragility": True, "source": "clinical"}
_GAIN = _scan("2026-07-20", -2.6, 0.617, -2.1, 0.820)  # hip +6.4 %, spine +7.9 % (> LSC)
_LOSS = _scan("2026-07-20", -3.2, 0.545, -2.9, 0.715)  # hip -6.0 %, spine -5.9 % (> LSC)


# --- 1. One fracture on treatment with a BMD gain is not IOF treatment failure ------------


def test_one_fracture_with_a_bmd_gain_is_reviewed_not_failure() -> None:
    """IOF working group (Diez-Perez et al. Osteoporos Int 2012): failure is >= 2 incident
    fragility fractures, or 1 with a significant BMD decrease or unsuppressed turnover
    markers. Review r3-30: one fracture on denosumab with a BMD gain beyond the LSC was
    treated as failure and escalated. High (not very high) risk: a review, then continue."""
    a = assess(parse_patient(_on_denosumab("r6-dmab-1fx-gain", [_WRIST], _GAIN)), AS_OF, "t2t2024")
    assert a.risk is not None and a.risk.category == "high"
    assert _row(a) == "fracture_review"
    codes = {al.code for al in a.alerts}
    assert "treatment_failure" not in codes and "fracture_on_treatment" in codes
    first = a.recommendations[0]
    assert first.action == "investigate"
    assert "not treatment failure by the IOF criteria" in first.rationale
    assert "bone turnover markers" in first.rationale  # not measured: completes the assessment
    assert not any(r.action in ("escalate", "switch") for r in a.recommendations)
    cont = next(r for r in a.recommendations if r.action == "continue")
    assert cont.regimen is not None and cont.regimen[0].drug == "denosumab"


def test_one_fracture_with_a_bmd_loss_or_two_fractures_is_failure() -> None:
    """IOF 2012 (Diez-Perez): 1 fracture with a significant BMD decrease (beyond the LSC), or
    >= 2 incident fractures, is treatment failure: the change of therapy stays."""
    loss = assess(
        parse_patient(_on_denosumab("r6-dmab-1fx-loss", [_WRIST], _LOSS)), AS_OF, "t2t2024"
    )
    assert "treatment_failure" in {al.code for al in loss.alerts}
    assert _row(loss) == "escalate_failure_high_risk"
    assert any(r.action in ("escalate", "switch") for r in loss.recommendations)
    second = {**_WRIST, "date": "2025-03-10", "site": "rib"}
    two = assess(
        parse_patient(_on_denosumab("r6-dmab-2fx-gain", [second, _WRIST], _GAIN)), AS_OF, "t2t2024"
    )
    assert "treatment_failure" in {al.code for al in two.alerts}
    assert _row(two) in ("escalate_failure_high_risk", "switch_failure")


def test_one_fracture_at_very_high_risk_may_escalate_but_is_not_called_failure() -> None:
    """IOF 2012 (Diez-Perez) / Lewiecki 2021 Fig. 3: a change may also suit a patient
    responding yet at very high risk; the words say it is a fracture on treatment, not
    failure (review r3-30: recent vertebral fracture on denosumab, BMD gain)."""
    vfx = {**_WRIST, "site": "vertebral"}
    old = {"date": "2022-04-01", "site": "vertebral", "fragility": True, "source": "clinical"}
    record = _on_denosumab("r6-dmab-vfx-gain", [vfx], _GAIN, prior=[old])
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    assert a.risk is not None and a.risk.category == "very_high"
    assert _row(a) == "fracture_review_very_high"
    assert "treatment_failure" not in {al.code for al in a.alerts}
    esc = next(r for r in a.recommendations if r.action == "escalate")
    assert "not IOF failure" in esc.rationale and "treatment failure (IOF" not in esc.rationale


def test_fracture_with_an_inadequate_three_year_response_stays_inadequate() -> None:
    """Hoong et al. BMJ 2025 (3-year rule) with IOF 2012: a fracture never weakens an
    inadequate response; at high risk the escalation rule still applies."""
    record = woman(
        "r6-aln-1fx-nogain",
        "1952-02-10",
        dxa=[
            _scan("2022-01-10", -2.7, 0.620, -2.4, 0.800),
            _scan("2026-10-01", -2.7, 0.622, -2.4, 0.801),
        ],
        fractures=[_WRIST],
        therapies=[{"drug": "alendronate", "start": "2022-02-01", "adherence": "good"}],
    )
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    assert _row(a) == "escalate_failure_high_risk"
    assert "inadequate_response" in {al.code for al in a.alerts}


# --- 2. Leaving denosumab: no gap, and monitoring -----------------------------------------


def test_leaving_denosumab_gives_the_next_drug_when_denosumab_is_due_and_monitors() -> None:
    """ECTS 2021 (Tsourdi et al. JCEM 2021): after denosumab the next drug starts when the
    next injection would have been due (6 months after the last), the rebound is only partly
    prevented (seemingly depending on how long denosumab was given): monitor. DATA-Switch
    (Leder 2015) / Cosman 2022: an anabolic after denosumab carries the sequence caution.
    Review r3-30: the escalation from 4 years of denosumab was dated today, with no word on
    the due date, under both profiles."""
    vfx = {**_WRIST, "site": "vertebral"}
    old = {"date": "2022-04-01", "site": "vertebral", "fragility": True, "source": "clinical"}
    record = _on_denosumab("r6-dmab-leave", [vfx], _GAIN, prior=[old])
    for profile in ("t2t2024", "nogg2022"):
        a = assess(parse_patient(record), AS_OF, profile)
        esc = next(r for r in a.recommendations if r.action in ("escalate", "switch"))
        assert esc.regimen is not None and esc.regimen[0].drug != "denosumab", profile
        assert esc.when == date(2026, 12, 9), profile  # last injection 2026-06-09 + 6 months
        assert "when the next denosumab dose is due (2026-12-09), with no gap" in esc.rationale
        assert "may not fully prevent the rebound" in esc.rationale and "monitor" in esc.rationale
        assert "tsourdi2021" in esc.citations
        if esc.regimen[0].drug in ("romosozumab", "teriparatide", "abaloparatide"):
            assert "sequence caution" in esc.rationale, profile
        assert a.monitoring is not None and a.monitoring.next_dose == date(2026, 12, 9)


def test_switch_from_another_drug_keeps_today() -> None:
    """The no-gap date belongs to denosumab only (ECTS 2021): an escalation from zoledronate
    after IOF failure (Diez-Perez 2012: two fractures) is dated today, without the words."""
    fx1 = {**_WRIST, "date": "2025-03-10", "site": "rib"}
    record = woman(
        "r6-zol-2fx",
        "1950-05-05",
        dxa=[
            _scan("2021-05-01", -3.0, 0.570, -3.1, 0.690),
            _scan("2026-09-01", -2.8, 0.590, -2.8, 0.720),
        ],
        fractures=[fx1, _WRIST],
        therapies=[
            {
                "drug": "zoledronate",
                "start": "2021-05-12",
                "doses": [
                    "2021-05-12",
                    "2022-05-12",
                    "2023-05-12",
                    "2024-05-12",
                    "2025-05-12",
                    "2026-05-12",
                ],
                "adherence": "good",
            }
        ],
    )
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    esc = next(r for r in a.recommendations if r.action in ("escalate", "switch"))
    assert esc.when == AS_OF
    assert "leaving denosumab" not in esc.rationale


# --- 3. Route-dependent checks, no dose of a drug the plan leaves, end-of-course DXA -----


def _zoledronate_two_fractures() -> dict[str, Any]:
    fx1 = {**_WRIST, "date": "2025-03-10", "site": "rib"}
    return woman(
        "r6-zol-2fx-route",
        "1950-05-05",
        dxa=[
            _scan("2021-05-01", -3.0, 0.570, -3.1, 0.690),
            _scan("2026-09-01", -2.8, 0.590, -2.8, 0.720),
        ],
        fractures=[fx1, _WRIST],
        therapies=[
            {
                "drug": "zoledronate",
                "start": "2021-05-12",
                "doses": [f"{y}-05-12" for y in range(2021, 2027)],
                "adherence": "good",
            }
        ],
    )


def test_adherence_check_follows_the_route_and_the_left_drug_is_not_dosed_again() -> None:
    """IOF 2012 (Diez-Perez): failure presupposes adherent treatment; the check differs by
    route (drugs.toml ``route``; Reclast label: a supervised yearly infusion). Review r3-26:
    "dosing technique, absorption" was printed for an IV infusion, and the next zoledronate
    infusion (2027-05-12) was scheduled while the plan escalated away from it."""
    a = assess(parse_patient(_zoledronate_two_fractures()), AS_OF, "t2t2024")
    text = " ".join(r.rationale for r in a.recommendations)
    assert "dosing technique" not in text and "absorption" not in text
    assert "zoledronate infusions were given as scheduled" in text
    esc = next(r for r in a.recommendations if r.action in ("escalate", "switch"))
    assert esc.regimen is not None and esc.regimen[0].drug != "zoledronate"
    assert a.monitoring is not None and a.monitoring.next_dose != date(2027, 5, 12)
    assert "zoledronate" not in {s.drug for s in esc.regimen}  # not back to the failed drug
    # the same failure on an oral drug keeps the oral check
    oral = _zoledronate_two_fractures()
    oral["therapies"] = [{"drug": "alendronate", "start": "2021-05-12", "adherence": "good"}]
    b = assess(parse_patient(oral), AS_OF, "t2t2024")
    assert "dosing technique, absorption" in " ".join(r.rationale for r in b.recommendations)


def test_a_dxa_is_planned_at_the_end_of_an_anabolic_course() -> None:
    """Lewiecki 2021 Fig. 3: BMD at the end of the anabolic course, before the
    consolidating antiresorptive; Evenity label: 12 monthly doses. Review r3-13: at dose 7
    of 12 the next DXA was 2028-04, not at the end of the course (about 2027-05)."""
    doses = ["2026-05-05", "2026-06-05", "2026-07-05", "2026-08-05", "2026-09-05", "2026-10-05",
             "2026-11-05"]  # fmt: skip
    hip = {"date": "2026-03-10", "site": "hip", "fragility": True, "source": "clinical"}
    record = woman(
        "r6-romo-month7",
        "1953-04-20",
        dxa=[_scan("2026-04-20", -3.4, 0.520, -3.3, 0.690)],
        fractures=[hip],
        therapies=[{"drug": "romosozumab", "start": "2026-05-05", "doses": doses}],
    )
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    assert a.recommendations[0].action == "continue"
    assert a.monitoring is not None
    assert a.monitoring.next_dose == date(2026, 12, 5)
    assert a.monitoring.next_dxa == date(2027, 5, 5)  # one month after the 12th dose


def test_poor_adherence_to_an_oral_bisphosphonate_suggests_a_parenteral_switch() -> None:
    """IOF 2012 (Diez-Perez; Lewiecki 2021: an oral drug replaced by an injected one):
    poor adherence to an oral bisphosphonate: address it, and consider a parenteral
    antiresorptive — never an anabolic on this basis. Review r3-07: only "investigate"."""
    record = woman(
        "r6-aln-poor",
        "1952-06-01",
        dxa=[
            _scan("2023-08-20", -2.8, 0.600, -2.9, 0.700),
            _scan("2026-08-20", -2.9, 0.595, -2.9, 0.700),
        ],
        therapies=[{"drug": "alendronate", "start": "2023-09-01", "adherence": "poor"}],
    )
    a = assess(parse_patient(record), AS_OF, "t2t2024")
    assert _row(a) == "poor_adherence"
    assert a.recommendations[0].action == "investigate"
    switch = next(r for r in a.recommendations if r.action == "switch")
    assert switch.regimen is not None and switch.regimen[0].drug in ("zoledronate", "denosumab")
    assert "parenteral" in switch.rationale
    assert not any(r.action == "escalate" for r in a.recommendations)
    # poor adherence to a parenteral drug: restore the schedule, no route change
    record["therapies"] = [
        {"drug": "zoledronate", "start": "2023-09-01", "doses": ["2023-09-01"], "adherence": "poor"}
    ]
    b = assess(parse_patient(record), AS_OF, "t2t2024")
    assert _row(b) == "poor_adherence"
    assert not any(r.action == "switch" for r in b.recommendations)
    assert "infusions were given as scheduled" in b.recommendations[0].rationale
