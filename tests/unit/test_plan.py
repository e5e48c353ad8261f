"""Plan helpers: calendar arithmetic, history, status and monitoring."""

from __future__ import annotations

from datetime import date

from osteotarget.engine.dates import add_months, age_on, months_between
from osteotarget.model import parse_patient
from osteotarget.therapy.history import History


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
