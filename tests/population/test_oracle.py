"""The per-patient engine is the oracle: on thousands of synthetic patients, every flag and
due date the population kernel computes equals what `assess` says (the compared fields are
listed in tests/population/oracle.py and docs/population.md)."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.population.kernel import compute_facts
from osteotarget.population.layout import from_records
from osteotarget.population.settings import kernel_settings
from tests.population.conftest import AS_OF, records_of
from tests.population.oracle import disagreements

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
