"""The answer-first summary and the entry forms, as pure functions (no browser)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from osteotarget.engine import assess
from osteotarget.model import Patient, Problem
from osteotarget.model.assessment import Option, ProjectedPoint, RegimenStep
from osteotarget.report import answer_first
from osteotarget.report.summary import option_row, percent, sentence
from osteotarget.web.forms import SECTIONS, item_problems, split_path

DEMO = Path(__file__).resolve().parents[2] / "src" / "osteotarget" / "demo"


def test_a_small_chance_never_reads_zero() -> None:
    assert percent(0.004) == "< 1 %"
    assert percent(0.0) == "0 %"
    assert percent(0.54) == "54 %"
    assert percent(None) == "—"


def test_every_dash_is_explained() -> None:
    ineligible = Option(
        regimen=[RegimenStep(drug="romosozumab", months=12)],
        horizon_months=36,
        eligible=False,
        excluded_because=["cardiovascular event in the last year"],
    )
    row = option_row(0, ineligible)
    assert row.probability == "—" and row.expected_t == "—"
    assert "not eligible: cardiovascular event" in row.note
    unpriced = Option(
        regimen=[RegimenStep(drug="alendronate")], horizon_months=36, basis="expected_response"
    )
    row = option_row(1, unpriced)
    assert "chance not computed" in row.note and "expected T-score not shown" in row.note


def test_expected_t_is_the_lowest_site_at_the_horizon() -> None:
    option = Option(
        regimen=[RegimenStep(drug="denosumab")],
        horizon_months=24,
        probability_of_target=0.3,
        projected_t_scores=[
            ProjectedPoint(month=12, site="total_hip", t_score=-2.4),
            ProjectedPoint(month=24, site="total_hip", t_score=-2.1),
            ProjectedPoint(month=24, site="lumbar_spine", t_score=-2.3),
            ProjectedPoint(month=36, site="lumbar_spine", t_score=-1.0),
        ],
    )
    row = option_row(0, option)
    assert row.expected_t == "T −2.3" and row.expected_site == "lumbar spine"
    assert row.probability == "30 %"


def test_answer_first_for_the_overdue_denosumab_example() -> None:
    """Denosumab overdue (Tsourdi 2021 rebound): the critical alert leads the page. Read on
    2024-03-01 (one month late), when the 2023 scan can still be projected."""
    record = json.loads((DEMO / "denosumab-overdue.json").read_text())
    a = assess(Patient.model_validate(record), date(2024, 3, 1), "t2t2024")
    answer = answer_first(a)
    assert [al.code for al in answer.critical] == ["denosumab_overdue"]
    assert answer.risk == "high" and answer.risk_reason
    # +0.13 T/year from -2.3 reaches -2.0 within the 36-month reasonable period from now:
    # on a path (Lewiecki 2021 Fig. 3; the specialist review's rule for responders).
    assert answer.standing.label == "on a path"
    assert answer.next_step is a.recommendations[0]
    assert 1 <= len(answer.best) <= 3 and all(o.eligible for o in answer.best)
    assert all("%" in o.probability for o in answer.best)


def test_long_denosumab_gap_is_not_judged_from_the_old_scan() -> None:
    """40 months without denosumab (ECTS 2021, Tsourdi: bone is lost after stopping): the
    2023 scan no longer shows where she stands, so the page says "not judged" and shows no
    chances, rather than a path drawn across the gap (issue 8, item 7)."""
    record = json.loads((DEMO / "denosumab-overdue.json").read_text())
    a = assess(Patient.model_validate(record), date(2026, 12, 2), "t2t2024")
    answer = answer_first(a)
    assert [al.code for al in answer.critical] == ["denosumab_overdue"]
    assert answer.standing.label == "not judged"
    assert not any("%" in o.probability for o in answer.best)


def test_sentence_keeps_case_and_ends_with_a_stop() -> None:
    assert sentence("vitamin D 800-1000 IU/day as needed") == "Vitamin D 800-1000 IU/day as needed."


def test_record_problems_map_to_form_fields() -> None:
    item = {
        "date": "2030-01-01",
        "device": {"manufacturer": "hologic"},
        "measurements": [{"site": "lumbar_spine", "t_score": -9.0}],
    }
    problems = [
        Problem("dxa[3].date", "is after as_of 2026-12-02", "2030-01-01"),
        Problem("dxa[3].measurements[0].t_score", "is out of range", "-9.0"),
        Problem("labs[0].unit", "unknown unit", "x"),
    ]
    mine, others = item_problems(problems, "dxa", 3, item)
    assert [p.field for p in mine] == ["date", "lumbar_spine_t"]
    assert [p.field for p in others] == ["labs[0].unit"]
    assert split_path("therapies[1].doses[0]") == ("therapies", 1, "doses[0]")


def test_dxa_form_round_trip() -> None:
    section = SECTIONS["dxa"]
    assert section.to_item is not None and section.from_item is not None
    form = {"date": "2025-01-10", "manufacturer": "hologic", "total_hip_t": "-2.6"}
    item, problems = section.to_item(form)
    assert problems == []
    assert item["measurements"] == [{"site": "total_hip", "t_score": -2.6}]
    values = section.from_item(item)
    assert values["total_hip_t"] == "-2.6" and values["manufacturer"] == "hologic"
    _, problems = section.to_item({"date": "2025-01-10", "manufacturer": "hologic"})
    assert problems and problems[0].field == "total_hip_t"
