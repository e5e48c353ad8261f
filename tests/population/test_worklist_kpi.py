"""Worklists and indicators on hand-written patients whose answer is known, and the
`worklist` / `kpi` / `assess` (NDJSON) commands."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from osteotarget.cli import main
from osteotarget.population import run_population
from osteotarget.population.layout import from_records
from osteotarget.population.worklist import COLUMNS, QUEUES

AS_OF = date(2026, 6, 1)
HIP = [{"site": "total_hip", "t_score": -2.8}]


def _dxa(day: str, t: float = -2.8) -> dict[str, Any]:
    return {
        "date": day,
        "device": {"manufacturer": "hologic"},
        "measurements": [{"site": "total_hip", "t_score": t}],
    }


PATIENTS: list[dict[str, Any]] = [
    # ECTS 2021 / 2020 joint guidance: a denosumab dose more than 7 months late.
    {
        "id": "dmab-late",
        "sex": "female",
        "birth_date": "1950-01-01",
        "dxa": [_dxa("2025-09-01")],
        "therapies": [
            {
                "drug": "denosumab",
                "start": "2023-01-10",
                "doses": [
                    "2023-01-10",
                    "2023-07-10",
                    "2024-01-10",
                    "2024-07-10",
                    "2025-01-10",
                    "2025-07-10",
                ],
            }
        ],
    },
    # Denosumab stopped, no follow-on: critical once 6 months have passed.
    {
        "id": "dmab-stopped",
        "sex": "female",
        "birth_date": "1948-03-01",
        "dxa": [_dxa("2025-09-01")],
        "therapies": [
            {
                "drug": "denosumab",
                "start": "2022-01-10",
                "end": "2025-06-01",
                "doses": ["2022-01-10", "2022-07-10", "2023-01-10", "2024-12-01"],
            }
        ],
    },
    # Denosumab on schedule, next dose within the due-soon window.
    {
        "id": "dmab-soon",
        "sex": "female",
        "birth_date": "1955-05-05",
        "dxa": [_dxa("2025-09-01", -2.0)],
        "therapies": [
            {
                "drug": "denosumab",
                "start": "2024-12-20",
                "doses": ["2024-12-20", "2025-06-20", "2025-12-20"],
            }
        ],
    },
    # FLS core: a hip fracture 3 months ago at 76, no drug started, no labs.
    {
        "id": "fracture-untreated",
        "sex": "female",
        "birth_date": "1950-02-01",
        "fractures": [{"date": "2026-03-01", "site": "hip", "fragility": True}],
        "dxa": [_dxa("2026-03-20")],
    },
    # A fracture treated within 16 weeks, DXA within 12 weeks: counted by the FLS KPIs.
    {
        "id": "fracture-treated",
        "sex": "male",
        "birth_date": "1945-06-01",
        "fractures": [{"date": "2024-01-15", "site": "distal_forearm", "fragility": True}],
        "dxa": [_dxa("2024-02-20", -2.6)],
        "therapies": [{"drug": "alendronate", "start": "2024-03-01"}],
        "labs": [
            {"date": "2026-01-10", "test": "calcium", "value": 2.4, "unit": "mmol/L"},
        ],
    },
    # Romosozumab started 11.5 months ago: course limit (12 months) within the window.
    {
        "id": "romo-ending",
        "sex": "female",
        "birth_date": "1952-01-01",
        "dxa": [_dxa("2025-06-20", -3.4)],
        "therapies": [
            {
                "drug": "romosozumab",
                "start": "2025-06-20",
                "doses": [
                    "2025-06-20",
                    "2025-07-20",
                    "2025-08-20",
                    "2025-09-20",
                    "2025-10-20",
                    "2025-11-20",
                    "2025-12-20",
                    "2026-01-20",
                    "2026-02-20",
                    "2026-03-20",
                    "2026-04-20",
                    "2026-05-20",
                ],
            }
        ],
    },
    # Alendronate for 5 years, stopped for a holiday 2.5 years ago: review due.
    {
        "id": "holiday",
        "sex": "female",
        "birth_date": "1958-01-01",
        "dxa": [_dxa("2024-11-01", -1.9)],
        "therapies": [
            {
                "drug": "alendronate",
                "start": "2018-11-01",
                "end": "2023-11-01",
                "stop_reason": "drug holiday",
            }
        ],
    },
    # On zoledronate 4 years, hip T still -2.8: not at the minimum target.
    {
        "id": "not-at-target",
        "sex": "female",
        "birth_date": "1949-01-01",
        "dxa": [_dxa("2022-05-01", -3.0), _dxa("2025-05-01", -2.8)],
        "therapies": [
            {
                "drug": "zoledronate",
                "start": "2022-05-15",
                "doses": ["2022-05-15", "2023-05-15", "2024-05-15", "2025-05-15"],
            }
        ],
    },
    # No DXA ever: overdue.
    {"id": "no-dxa", "sex": "female", "birth_date": "1960-01-01"},
]
# fmt: on


@pytest.fixture(scope="module")
def result() -> Any:
    return run_population(from_records(PATIENTS), AS_OF)


def _queues(result: Any, patient: str) -> dict[str, dict[str, Any]]:
    rows = result.rows.filter(result.rows["patient_id"] == patient).to_dicts()
    return {r["queue"]: r for r in rows}


def test_denosumab_queues(result: Any) -> None:
    late = _queues(result, "dmab-late")["denosumab_overdue"]
    assert late["due"] == date(2026, 2, 10) and late["priority"] == 1
    assert "2025-07-10" in late["reason"]
    stopped = _queues(result, "dmab-stopped")["denosumab_stopped_without_follow_on"]
    assert stopped["due"] == date(2025, 6, 1)
    soon = _queues(result, "dmab-soon")
    assert soon["denosumab_due_soon"]["due"] == date(2026, 6, 20)
    assert "denosumab_overdue" not in soon


def test_fracture_without_treatment_and_missing_workup(result: Any) -> None:
    q = _queues(result, "fracture-untreated")
    assert q["fracture_without_treatment"]["due"] == date(2026, 6, 21)  # + 16 weeks
    assert "hip" in q["fracture_without_treatment"]["reason"]
    assert "calcium" in q["workup_missing"]["reason"]
    assert "fracture_without_treatment" not in _queues(result, "fracture-treated")


def test_anabolic_holiday_target_and_dxa_queues(result: Any) -> None:
    romo = _queues(result, "romo-ending")["anabolic_ending_without_follow_on"]
    assert romo["due"] == date(2026, 6, 20)
    assert _queues(result, "holiday")["holiday_review_due"]["due"] == date(2025, 11, 1)
    target = _queues(result, "not-at-target")["not_at_target"]
    assert "-2.8" in target["reason"]
    assert _queues(result, "no-dxa")["dxa_overdue"]["reason"] == "no DXA on record"
    assert set(result.rows["queue"].unique()) <= set(QUEUES)


def test_fls_indicators_count_the_windows(result: Any) -> None:
    by_id = {i.id: i for i in result.indicators}
    # Only the 2024 fracture has a closed 16- and 52-week window (the 2026 one has not).
    started = by_id["iof_9_started_16_weeks"]
    assert (started.numerator, started.denominator, started.percent) == (1, 1, 100.0)
    dxa = by_id["iof_4_dxa_12_weeks"]
    assert (dxa.numerator, dxa.denominator) == (2, 2)  # 36 and 19 days after
    assert by_id["iof_10_on_medication_52_weeks"].numerator == 1
    assert by_id["flsdb_days_to_dxa"].value == pytest.approx((36 + 19) / 2)
    assert not by_id["iof_5_falls_assessment"].computable
    assert by_id["iof_5_falls_assessment"].note


def test_worklist_and_kpi_commands(tmp_path: Path) -> None:
    source = tmp_path / "p.ndjson"
    source.write_text("".join(json.dumps(p) + "\n" for p in PATIENTS))
    out = tmp_path / "w.csv"
    assert main(["worklist", str(source), "--as-of", AS_OF.isoformat(), "--out", str(out)]) == 0
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["priority"] == "1"  # most urgent first
    assert any(r["patient_id"] == "dmab-late" and r["queue"] == "denosumab_overdue" for r in rows)
    assert all(r["due"] == "" or date.fromisoformat(r["due"]) for r in rows)


def test_kpi_json_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "p.ndjson"
    source.write_text("".join(json.dumps(p) + "\n" for p in PATIENTS))
    assert main(["kpi", str(source), "--as-of", AS_OF.isoformat(), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["patients"] == len(PATIENTS)
    assert summary["queues"]["denosumab_overdue"] == 1
    assert main(["kpi", str(tmp_path / "missing.ndjson")]) == 2
    assert main(["kpi", str(source), "--profile", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_assess_ndjson_prints_one_assessment_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.ndjson"
    source.write_text("".join(json.dumps(p) + "\n" for p in PATIENTS[:3]))
    assert main(["assess", str(source), "--as-of", AS_OF.isoformat(), "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["patient_id"] for line in lines] == [p["id"] for p in PATIENTS[:3]]


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("not json", "parse"),
        ('{"id": "x", "sex": "female", "birth_date": "19xx"}', "birth_date"),
        ('{"id": "x", "birth_date": "1950-01-01"}', "sex"),
    ],
)
def test_unreadable_records_are_refused_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, named: str
) -> None:
    source = tmp_path / "bad.ndjson"
    source.write_text(json.dumps(PATIENTS[0]) + "\n" + line + "\n")
    assert main(["worklist", str(source), "--out", str(tmp_path / "w.csv")]) == 2
    assert named in capsys.readouterr().err
