"""`osteotarget synth`: deterministic, valid records, NDJSON and Parquet alike."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from osteotarget.cli import main
from osteotarget.model import Patient, RecordError, check_as_of, load_path
from osteotarget.population.layout import read_records
from tests.population.conftest import AS_OF


def test_every_synthetic_record_validates_and_has_no_date_after_as_of(tmp_path: Path) -> None:
    out = tmp_path / "c.ndjson"
    assert main(["synth", "--n", "400", "--seed", "7", "--as-of", AS_OF.isoformat(),
                 "--out", str(out)]) == 0  # fmt: skip
    items = load_path(out)
    assert len(items) == 400
    refused = [i for i in items if isinstance(i, RecordError)]
    assert refused == []
    for patient in items:
        assert isinstance(patient, Patient)
        check_as_of(patient, AS_OF)


def test_cohort_has_the_parts_a_service_sees(tmp_path: Path) -> None:
    out = tmp_path / "c.ndjson"
    main(["synth", "--n", "2000", "--seed", "3", "--as-of", AS_OF.isoformat(), "--out", str(out)])
    patients = [p for p in load_path(out) if isinstance(p, Patient)]
    drugs = {t.drug for p in patients for t in p.therapies}
    assert {"alendronate", "zoledronate", "denosumab", "romosozumab"} <= drugs
    assert any(p.sex == "male" for p in patients) and any(p.sex == "female" for p in patients)
    assert any(t.drug == "denosumab" and t.doses for p in patients for t in p.therapies)
    assert any(t.end is None for p in patients for t in p.therapies)
    assert any(not p.dxa for p in patients) and any(len(p.dxa) >= 3 for p in patients)
    assert any(p.fractures for p in patients) and any(p.labs for p in patients)
    assert {t.adherence for p in patients for t in p.therapies} == {"good", "poor", "unknown"}


def test_same_seed_same_cohort_and_parquet_equals_ndjson(tmp_path: Path) -> None:
    for name in ("a.ndjson", "b.ndjson", "c.parquet"):
        assert main(["synth", "--n", "200", "--seed", "5", "--as-of", AS_OF.isoformat(),
                     "--out", str(tmp_path / name)]) == 0  # fmt: skip
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()
    from_ndjson = read_records(tmp_path / "a.ndjson")
    from_parquet = read_records(tmp_path / "c.parquet")
    assert from_ndjson.equals(from_parquet)
    assert isinstance(from_parquet, pl.DataFrame) and from_parquet.height == 200


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    assert main(["synth", "--n", "5", "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["synth", "--n", "-1", "--out", str(tmp_path / "x.ndjson")]) == 2
