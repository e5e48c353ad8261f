"""Plan helpers: calendar arithmetic, history, status and monitoring."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.base.facts import Facts
from osteotarget.base.history import History
from osteotarget.dates import add_months, age_on, months_between
from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.model.record import TherapyCourse


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 15), -24) == date(2022, 3, 15)
    assert add_months(date(2024, 3, 15), 6) == date(2024, 9, 15)


def test_age_and_months() -> None:
    assert age_on(date(1950, 6, 1), date(2024, 5, 31)) == 73
    assert round(months_between(date(2020, 1, 1), date(2023, 1, 1))) == 36


def test_history_current_and_followed_by() -> None:
    patient = parse_patient(
        {
            "id": "h",
            "sex": "female",
            "birth_date": "1950-01-01",
            "therapies": [
                {"drug": "denosumab", "start": "2019-01-01", "end": "2021-01-01"},
                {"drug": "zoledronate", "start": "2021-07-01"},
            ],
        }
    )
    history = History(patient, date(2022, 1, 1))
    current = history.current()
    assert current is not None and current.drug == "zoledronate"
    dmab = history.courses()[0]
    followed = history.followed_by(dmab, "antiresorptive")
    assert followed is not None and followed.drug == "zoledronate"
    assert round(history.cumulative_months(("denosumab",))) == 24


# ---- status and monitoring ---------------------------------------------------------------


def _record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "m", "sex": "female", "birth_date": "1950-01-01"}
    base.update(fields)
    return base


def _scan(day: str, th: float) -> dict[str, Any]:
    return {
        "date": day,
        "device": {"manufacturer": "hologic", "model": "A", "facility": "F"},
        "measurements": [{"site": "total_hip", "t_score": th}],
    }


def _labs(day: str) -> list[dict[str, Any]]:
    return [
        {"date": day, "test": "egfr", "value": 70, "unit": "mL/min/1.73m2"},
        {"date": day, "test": "calcium", "value": 2.35, "unit": "mmol/L"},
        {"date": day, "test": "vitamin_d_25oh", "value": 35, "unit": "ng/mL"},
    ]


def test_next_dxa_when_overdue_is_today() -> None:
    data = _record(
        dxa=[_scan("2019-01-05", -2.8)],
        therapies=[{"drug": "alendronate", "start": "2019-01-10"}],
        labs=_labs("2022-01-01"),
    )
    a = assess(parse_patient(data), date(2022, 2, 1), "endocrine2020")
    assert a.monitoring.next_dxa == date(2022, 2, 1)
    assert "dxa_due" in {al.code for al in a.alerts}


def test_next_dxa_routine_interval() -> None:
    data = _record(
        dxa=[_scan("2021-06-01", -2.8)],
        therapies=[{"drug": "alendronate", "start": "2021-06-10"}],
        labs=_labs("2022-01-01"),
    )
    a = assess(parse_patient(data), date(2022, 2, 1), "endocrine2020")
    assert a.monitoring.next_dxa == date(2023, 6, 1)


def test_next_dose_after_romosozumab_course_end_is_not_romosozumab() -> None:
    data = _record(
        dxa=[_scan("2023-01-05", -3.2)],
        therapies=[{"drug": "romosozumab", "start": "2023-01-10", "end": "2024-01-10"}],
        labs=_labs("2023-12-01"),
    )
    a = assess(parse_patient(data), date(2024, 1, 20))
    consolidate = next(r for r in a.recommendations if r.action == "consolidate")
    assert consolidate.regimen is not None
    # The next dose is the consolidating drug's first dose, or none for an oral drug.
    parenteral = {"denosumab", "zoledronate"}
    expected = consolidate.when if consolidate.regimen[0].drug in parenteral else None
    assert a.monitoring.next_dose == expected


def test_next_dose_denosumab_on_time() -> None:
    data = _record(
        dxa=[_scan("2022-01-05", -2.8)],
        therapies=[
            {"drug": "denosumab", "start": "2022-01-10", "doses": ["2022-01-10", "2022-07-10"]}
        ],
        labs=_labs("2022-07-01"),
    )
    a = assess(parse_patient(data), date(2022, 9, 1), "endocrine2020")
    assert a.monitoring.next_dose == date(2023, 1, 10)


def test_last_dose_is_the_latest_whatever_the_order() -> None:
    course = TherapyCourse.model_construct(
        drug="denosumab",
        start=date(2021, 1, 10),
        end=None,
        doses=[date(2022, 1, 10), date(2021, 1, 10), date(2021, 7, 10)],
    )
    patient = parse_patient(_record()).model_copy(update={"therapies": [course]})
    assert History(patient, date(2022, 3, 1)).last_dose(course) == date(2022, 1, 10)


def test_one_definition_of_on_treatment() -> None:
    patient = parse_patient(
        _record(therapies=[{"drug": "alendronate", "start": "2020-01-01", "end": "2021-01-01"}])
    )
    history = History(patient, date(2022, 1, 1))
    assert history.course_at(date(2020, 6, 1)) is not None
    assert history.course_at(date(2021, 1, 1)) is None  # ended that day
    assert history.current() is None
    assert not hasattr(Facts, "courses") and not hasattr(Facts, "on_treatment_at")


def test_status_target_date_passed_is_said() -> None:
    data = _record(
        dxa=[_scan("2017-01-05", -2.8), _scan("2021-12-01", -2.6)],
        therapies=[{"drug": "alendronate", "start": "2017-01-10"}],
        labs=_labs("2022-01-01"),
    )
    a = assess(parse_patient(data), date(2022, 2, 1))
    assert a.status.on_track is False
    assert "target date 2020-01-10 passed, not met" in a.status.explanation
