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
