"""Merge, don't replace (issue 9): an import or a prefetch adds to the stored history."""

from __future__ import annotations

import copy
from typing import Any

from osteotarget.model import parse_patient
from osteotarget.model.merge import item_key, merge_records
from tests.service.conftest import example_records

WHEN = "2026-12-02T05:00:00+00:00"


def stored() -> dict[str, Any]:
    return next(r for r in example_records() if r["therapies"] and len(r["dxa"]) >= 2)


def test_a_new_dxa_alone_keeps_the_therapy_and_the_older_scans() -> None:
    record = stored()
    scan = {
        "date": "2026-06-01",
        "device": record["dxa"][-1]["device"],
        "measurements": [{"site": "lumbar_spine", "t_score": -2.0}],
    }
    incoming = {"id": record["id"], "sex": record["sex"], "birth_date": record["birth_date"],
                "dxa": [scan]}  # fmt: skip
    result = merge_records(record, incoming, "fhir", WHEN, {"dxa|2026-06-01": ["Observation/x"]})
    merged = parse_patient(result.record)
    assert len(merged.dxa) == len(record["dxa"]) + 1
    assert len(merged.therapies) == len(record["therapies"])
    assert len(merged.labs) == len(record.get("labs", []))
    assert result.added == ["dxa|2026-06-01"]
    (prov,) = result.provenance
    assert prov.resources == ("Observation/x",) and prov.source == "fhir"
    assert prov.imported_at == WHEN


def test_merging_the_same_record_twice_changes_nothing() -> None:
    record = stored()
    result = merge_records(record, copy.deepcopy(record), "fhir", WHEN)
    assert parse_patient(result.record) == parse_patient(record)
    assert result.added == [] and result.changed == []


def test_a_patient_only_prefetch_never_empties_the_record() -> None:
    record = stored()
    bare = {"id": record["id"], "sex": record["sex"], "birth_date": record["birth_date"]}
    merged = parse_patient(merge_records(record, bare, "cds-hooks", WHEN).record)
    assert merged == parse_patient(record)


def test_new_doses_join_the_overlapping_course() -> None:
    record = {"id": "m1", "sex": "female", "birth_date": "1950-01-01",
              "therapies": [{"drug": "denosumab", "start": "2022-01-01",
                             "doses": ["2022-01-01", "2022-07-01"]}]}  # fmt: skip
    incoming = {"id": "m1", "sex": "female", "birth_date": "1950-01-01",
                "therapies": [{"drug": "denosumab", "start": "2022-07-01",
                               "doses": ["2022-07-01", "2023-01-05"]}]}  # fmt: skip
    merged = parse_patient(merge_records(record, incoming, "fhir", WHEN).record)
    (course,) = merged.therapies
    assert course.start.isoformat() == "2022-01-01"
    assert [d.isoformat() for d in course.doses] == ["2022-01-01", "2022-07-01", "2023-01-05"]


def test_item_keys_name_the_item() -> None:
    assert item_key("fractures", {"date": "2021-11-02", "site": "hip"}) == (
        "fractures|2021-11-02|hip"
    )
