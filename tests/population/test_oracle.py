"""The per-patient engine is the oracle: on thousands of synthetic patients, every flag and
due date the population kernel computes equals what `assess` says (the compared fields are
listed in tests/population/oracle.py and docs/population.md)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.population.kernel import compute_facts
from osteotarget.population.layout import from_records
from osteotarget.population.runner import run_population
from osteotarget.population.settings import kernel_settings
from tests.clinical.records import very_high_risk_woman
from tests.population.conftest import AS_OF, records_of
from tests.population.oracle import disagreements, pth_limit_reached

# Each compared fact must be exercised by the sample, or the test proves nothing.
_EXERCISED = (
    "dxa_overdue",
    "denosumab_overdue",
    "denosumab_stopped",
    "denosumab_stopped_critical",
    "holiday_review_due",
    "workup_missing",
    "below_minimum_target",
)


@pytest.mark.parametrize(
    ("seed", "n", "profile"),
    [(1, 1500, "t2t2024"), (2, 1500, "t2t2024"), (3, 1000, "nogg2022"), (4, 600, "aace2020")],
)
def test_kernel_equals_assess(seed: int, n: int, profile: str) -> None:
    records = records_of(n, seed)
    facts = compute_facts(from_records(records), AS_OF, kernel_settings(profile))
    rows = facts.to_dicts()
    assert len(rows) == n
    problems: list[str] = []
    seen: Counter[str] = Counter()
    for record, fact in zip(records, rows, strict=True):
        assert fact["patient_id"] == record["id"]
        assessment = assess(parse_patient(record), AS_OF, profile)
        problems += disagreements(assessment, fact)
        seen.update(k for k in _EXERCISED if fact[k])
        seen.update(["next_dose"] if fact["next_dose"] is not None else [])
    assert problems[:20] == []
    if profile == "t2t2024":
        for name in (*_EXERCISED, "next_dose"):
            assert seen[name] > 0, f"{name} never true in the sample"


def test_facts_are_one_row_per_patient_in_input_order() -> None:
    records = records_of(50, 9)
    facts = compute_facts(from_records(records), AS_OF, kernel_settings())
    assert facts["patient_id"].to_list() == [r["id"] for r in records]
    assert isinstance(facts, pl.DataFrame)


_LABEL_AS_OF = date(2026, 12, 2)


def _on_pth(record_id: str, therapies: list[dict[str, Any]]) -> dict[str, Any]:
    return very_high_risk_woman(record_id, therapies)


def _course(drug: str, start: date, end: date | None = None) -> dict[str, Any]:
    return {
        "drug": drug,
        "start": start.isoformat(),
        **({"end": end.isoformat()} if end else {}),
        "adherence": "good",
    }


# The lifetime limit is 24 months = 730.5 days (months of 365.25/12 days): an ongoing
# teriparatide course 730 days old is within it, one 731 days old past it.
_PTH_RECORDS = [
    _on_pth("teri-730d", [_course("teriparatide", _LABEL_AS_OF - timedelta(days=730))]),
    _on_pth("teri-731d", [_course("teriparatide", _LABEL_AS_OF - timedelta(days=731))]),
    _on_pth("teri-26m", [_course("teriparatide", date(2024, 10, 1))]),
    # 18 months of abaloparatide, then 12 of teriparatide: the teriparatide labels count
    # teriparatide only (Forsteo SmPC, Forteo USPI) -> within the limit in every region
    _on_pth(
        "abalo-then-teri",
        [
            _course("abaloparatide", date(2023, 1, 1), date(2024, 7, 1)),
            _course("teriparatide", date(2025, 12, 1)),
        ],
    ),
    # 18 months of teriparatide, then 12 of abaloparatide: the Tymlos USPI counts both
    _on_pth(
        "teri-then-abalo",
        [
            _course("teriparatide", date(2023, 1, 1), date(2024, 7, 1)),
            _course("abaloparatide", date(2025, 12, 1)),
        ],
    ),
]


@pytest.mark.parametrize(
    "profile", ["t2t2024", "nogg2022", "iof_esceo2020", "bhof2022", "aace2020", "endocrine2020"]
)
def test_kernel_equals_assess_at_the_pth_lifetime_limit(profile: str) -> None:
    """The PTH-analogue lifetime limit of the worklist (anabolic course ending) is the
    assessment's, under the label region of each profile: Forsteo SmPC (EU/UK: teriparatide
    not beyond 24 months), Forteo 2020 USPI (US: beyond 2 years only while fracture risk
    remains high, where the profile allows it), Tymlos USPI (teriparatide and abaloparatide
    months together, not beyond 24)."""
    facts = compute_facts(from_records(_PTH_RECORDS), _LABEL_AS_OF, kernel_settings(profile))
    problems: list[str] = []
    reached: dict[str, bool | None] = {}
    for record, fact in zip(_PTH_RECORDS, facts.to_dicts(), strict=True):
        a = assess(parse_patient(record), _LABEL_AS_OF, profile)
        problems += disagreements(a, fact)
        reached[record["id"]] = pth_limit_reached(a)
    assert problems == []
    assert reached == {
        "teri-730d": False,
        "teri-731d": True,
        "teri-26m": True,
        "abalo-then-teri": False,
        "teri-then-abalo": True,
    }
    beyond = dict(zip(facts["patient_id"], facts["anabolic_beyond_if_high_risk"], strict=True))
    us_allows = profile in ("bhof2022", "aace2020")
    assert beyond["teri-26m"] is us_allows
    assert beyond["teri-then-abalo"] is False


def test_the_worklist_says_when_the_us_label_allows_more_than_two_years() -> None:
    """Forteo 2020 USPI under BHOF 2022: the worklist names the condition for going on;
    Forsteo SmPC under NOGG 2022: plan the follow-on."""
    records = [_PTH_RECORDS[2]]
    us = run_population(from_records(records), _LABEL_AS_OF, "bhof2022").rows.to_dicts()
    eu = run_population(from_records(records), _LABEL_AS_OF, "nogg2022").rows.to_dicts()
    (us_row,) = [r for r in us if r["queue"] == "anabolic_ending_without_follow_on"]
    (eu_row,) = [r for r in eu if r["queue"] == "anabolic_ending_without_follow_on"]
    assert "only if fracture risk remains or is again high" in us_row["reason"]
    assert "only if" not in eu_row["reason"]
    assert "plan the antiresorptive follow-on" in eu_row["reason"]
