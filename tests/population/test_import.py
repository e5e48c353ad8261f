"""`osteotarget import`: NDJSON, CSV and FHIR into a real registry (SQLite file); bad rows
named in the rejects file while good rows are kept; idempotent; a killed import resumed
with nothing lost or duplicated."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osteotarget.adapters import fhir_out
from osteotarget.cli import main
from osteotarget.model import parse_patient
from osteotarget.population.tabular import TABLES, template
from osteotarget.store import Registry
from tests.databases import BACKENDS, database_url
from tests.population.conftest import AS_OF, records_of


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_ndjson_bad_lines_are_named_and_good_ones_kept_and_rerun_is_unchanged(
    tmp_path: Path,
) -> None:
    records = records_of(20, 21)
    bad_t = {**records[3], "id": "bad-t", "dxa": [{"date": "2020-01-01",
             "device": {"manufacturer": "hologic"},
             "measurements": [{"site": "total_hip", "t_score": -9.5}]}]}  # fmt: skip
    lines = [json.dumps(r) for r in records[:10]] + ["{not json", json.dumps(bad_t)]
    lines += [json.dumps(r) for r in records[10:]]
    source = tmp_path / "in.ndjson"
    source.write_text("\n".join(lines) + "\n")
    url = _url(tmp_path)
    assert main(["import", str(source), "--database-url", url, "--batch", "4"]) == 2
    rejects = _rejects(tmp_path / "in.ndjson.rejects.csv")
    assert [r["source"] for r in rejects] == [f"{source}:11", f"{source}:12"]
    assert "T-score" in rejects[1]["message"] and "t_score" in rejects[1]["field"]
    registry = Registry(url)
    try:
        assert registry.patient_count() == 20
        assert registry.get_patient(records[19]["id"]) is not None
    finally:
        registry.close()
    # Idempotent: the same file again changes nothing.
    assert main(["import", str(source), "--database-url", url]) == 2
    registry = Registry(url)
    try:
        assert registry.patient_count() == 20
        assert [h["version"] for h in registry.patient_history(records[0]["id"])] == [1]
    finally:
        registry.close()


def test_killed_import_resumes_with_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    records = records_of(1500, 22)
    source = tmp_path / "big.ndjson"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    url = _url(tmp_path)
    checkpoint = tmp_path / "big.ndjson.rejects.csv.checkpoint.json"
    command = [sys.executable, "-m", "osteotarget.cli", "import", str(source),
               "--database-url", url, "--batch", "3"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists():
            try:
                done = json.loads(checkpoint.read_text())["done"]
            except (ValueError, KeyError):
                done = 0
            if done >= 30:
                process.send_signal(signal.SIGKILL)
                break
        time.sleep(0.005)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the import finished before it was killed"
    registry = Registry(url)
    try:
        partial = registry.patient_count()
    finally:
        registry.close()
    assert 30 <= partial < 1500
    assert main(["import", str(source), "--database-url", url]) == 0
    assert not checkpoint.exists()
    registry = Registry(url)
    try:
        assert registry.patient_count() == 1500
        for record in records[::97]:
            assert [h["version"] for h in registry.patient_history(record["id"])] == [1]
            stored = registry.get_patient(record["id"])
            assert stored is not None and stored.patient == parse_patient(record)
    finally:
        registry.close()


def _write(path: Path, table: str, rows: list[dict[str, Any]]) -> Path:
    target = path / f"{table}.csv"
    target.write_text(template(table))
    with target.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLES[table])
        writer.writerows(rows)
    return target


def test_csv_layout_rejects_bad_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "patients", [
            {"id": "c1", "sex": "female", "birth_date": "1950-01-01",
             "menopause_status": "postmenopausal", "current_smoker": "no"},
            {"id": "c2", "sex": "male", "birth_date": "1948-05-05"},
            {"id": "c3", "sex": "robot", "birth_date": "1948-05-05"},
        ]),
        _write(tmp_path, "dxa", [
            {"patient_id": "c1", "date": "2024-01-10", "manufacturer": "hologic",
             "site": "total_hip", "t_score": "-2.7"},
            {"patient_id": "c1", "date": "2024-01-10", "manufacturer": "hologic",
             "site": "lumbar_spine", "t_score": "abc"},
            {"patient_id": "c1", "date": "2024-01-10", "manufacturer": "hologic",
             "site": "femoral_neck", "t_score": "-2.9"},
        ]),
        _write(tmp_path, "therapies", [
            {"patient_id": "c1", "course_id": "1", "drug": "denosumab", "start": "2024-02-01"},
        ]),
        _write(tmp_path, "doses", [
            {"patient_id": "c1", "course_id": "1", "date": "2024-02-01"},
            {"patient_id": "c1", "course_id": "9", "date": "2024-08-01"},
        ]),
        _write(tmp_path, "fractures", [
            {"patient_id": "c2", "date": "2025-03-01", "site": "hip", "fragility": "yes"},
        ]),
        _write(tmp_path, "labs", [
            {"patient_id": "c2", "date": "2025-03-02", "test": "calcium", "value": "2.3",
             "unit": "mmol/L"},
            {"patient_id": "c2", "date": "2025-03-02", "test": "egfr", "value": "55",
             "unit": "furlongs"},
        ]),
        _write(tmp_path, "falls", [{"patient_id": "c2", "date": "2025-03-01",
                                    "injurious": "true"}]),
    ]  # fmt: skip
    url = _url(tmp_path)
    rejects_path = tmp_path / "rejects.csv"
    args = ["import", *map(str, files), "--database-url", url, "--rejects", str(rejects_path)]
    assert main(args) == 2
    rejects = {(Path(r["source"].split(":")[0]).name, r["field"]) for r in _rejects(rejects_path)}
    assert ("dxa.csv", "t_score") in rejects
    assert ("doses.csv", "course_id") in rejects
    assert ("labs.csv", "labs") in rejects or any(f == "labs.csv" for f, _ in rejects)
    assert any("sex" in field for _, field in rejects)
    registry = Registry(url)
    try:
        assert registry.patient_count() == 2
        c1 = registry.get_patient("c1")
        c2 = registry.get_patient("c2")
        assert c1 is not None and c2 is not None
        assert {m.site for m in c1.patient.dxa[0].measurements} == {"total_hip", "femoral_neck"}
        assert c1.patient.therapies[0].doses[0].isoformat() == "2024-02-01"
        assert [lab.test for lab in c2.patient.labs] == ["calcium"]
        assert c2.patient.fractures[0].site == "hip" and c2.patient.falls[0].injurious
    finally:
        registry.close()


def test_fhir_bundle_is_imported_through_the_fhir_adapter(
    tmp_path: Path, examples_dir: Path
) -> None:
    record = json.loads((examples_dir / "denosumab-overdue.json").read_text())
    bundle = fhir_out.record_to_bundle(parse_patient(record))
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps(bundle))
    url = _url(tmp_path)
    assert main(["import", str(source), "--database-url", url]) in (0, 2)
    registry = Registry(url)
    try:
        assert registry.patient_count() == 1
        stored = registry.get_patient(record["id"])
        assert stored is not None and stored.patient.therapies[0].drug == "denosumab"
    finally:
        registry.close()


def test_missing_file_is_refused_and_templates_are_written(tmp_path: Path) -> None:
    assert main(["import", str(tmp_path / "nope.ndjson")]) == 2
    assert main(["import"]) == 2
    assert main(["import", "--templates", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t" / "dxa.csv").read_text().startswith("patient_id,date,manufacturer")
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == sorted(f"{t}.csv" for t in TABLES)


@pytest.fixture(params=BACKENDS)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh registry: an SQLite file, or its own schema in the PostgreSQL test database."""
    with database_url(request.param, tmp_path / "registry.sqlite3", "t") as url:
        yield url


def test_import_then_worklist_and_kpi_over_the_registry(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = records_of(60, 23)
    source = tmp_path / "in.ndjson"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["import", str(source), "--database-url", registry_url]) == 0
    assert main(["import", str(source), "--database-url", registry_url]) == 0
    assert "unchanged 60" in capsys.readouterr().err
    out = tmp_path / "w.csv"
    as_of = AS_OF.isoformat()
    args = ["--registry", "--database-url", registry_url, "--as-of", as_of]
    assert main(["worklist", *args, "--out", str(out)]) == 0
    from_registry = sorted(out.read_text().splitlines())
    file_out = tmp_path / "f.csv"
    assert main(["worklist", str(source), "--as-of", as_of, "--out", str(file_out)]) == 0
    assert from_registry == sorted(file_out.read_text().splitlines())
    capsys.readouterr()
    assert main(["kpi", *args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["patients"] == 60
