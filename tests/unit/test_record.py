"""The patient record: every contract example loads; bad input is refused by field and value."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from osteotarget.cli import main
from osteotarget.model import RecordError, check_as_of, iter_ndjson, load_path, parse_patient
from tests.conftest import EXAMPLE_FILES

BASE: dict[str, Any] = json.loads(
    (
        Path(__file__).parents[1] / "fixtures/spec_examples/alendronate-inadequate-response.json"
    ).read_text()
)


def refused(record: dict[str, Any]) -> RecordError:
    with pytest.raises(RecordError) as info:
        parse_patient(record)
    return info.value


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_contract_example_loads(path: Path) -> None:
    [patient] = load_path(path)
    assert not isinstance(patient, RecordError), patient
    assert patient.id.startswith("example-")


def _mutated(path: list[str | int], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(BASE)
    node: Any = record
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return record


@pytest.mark.parametrize(
    ("path", "value", "field", "shown"),
    [
        (["dxa", 0, "measurements", 0, "bmd"], 2.4, "dxa[0].measurements[0].bmd", "2.4"),
        (["dxa", 0, "measurements", 0, "bmd"], 0.1, "dxa[0].measurements[0].bmd", "0.1"),
        (["dxa", 0, "measurements", 0, "t_score"], -7.5, "dxa[0].measurements[0].t_score", "-7.5"),
        (["dxa", 0, "measurements", 0, "site"], "hip", "dxa[0].measurements[0].site", "'hip'"),
        (["therapies", 0, "drug"], "fosamax", "therapies[0].drug", "'fosamax'"),
        (["labs", 0, "test"], "ferritin", "labs[0].test", "'ferritin'"),
        (["sex"], "unknown", "sex", "'unknown'"),
        (["birth_date"], "1952-13-01", "birth_date", "'1952-13-01'"),
        (["dxa", 0, "device", "manufacturer"], "siemens", "dxa[0].device.manufacturer", "siemens"),
        (["frax", 0, "mof"], 140, "frax[0].mof", "140"),
        (["labs", 0, "unit"], "mmol/L", "labs[0]", "egfr"),
        (["menopause", "status"], "post", "menopause.status", "'post'"),
    ],
)
def test_bad_values_are_refused_naming_field_and_value(
    path: list[str | int], value: Any, field: str, shown: str
) -> None:
    error = refused(_mutated(path, value))
    assert any(p.field.startswith(field) for p in error.problems), error
    assert shown in str(error)


def test_unknown_condition_code_is_refused() -> None:
    error = refused(_mutated(["conditions"], [{"code": "gout"}]))
    assert error.problems[0].field == "conditions[0].code"
    assert "'gout'" in str(error)


def test_unknown_field_is_refused_not_dropped() -> None:
    error = refused(_mutated(["dxa", 0, "measurements", 0, "t_scor"], -2.0))
    assert "t_scor" in str(error)


def test_measurement_needs_bmd_or_t_score() -> None:
    error = refused(_mutated(["dxa", 0, "measurements", 0], {"site": "total_hip"}))
    assert "bmd and t_score are both missing" in str(error)


def test_therapy_ending_before_it_starts_is_refused() -> None:
    error = refused(_mutated(["therapies", 0, "end"], "2020-01-01"))
    assert error.problems[0].field == "therapies[0]"
    assert "2020-01-01 is before start 2021-04-01" in str(error)


def test_dose_outside_its_course_is_refused() -> None:
    record = _mutated(
        ["therapies"],
        [{"drug": "denosumab", "start": "2022-01-01", "end": "2023-01-01",
          "doses": ["2022-01-01", "2023-06-01"]}],
    )  # fmt: skip
    error = refused(record)
    assert "dose on 2023-06-01 is outside its course" in str(error)


def test_duplicate_dxa_visit_same_date_and_device_is_refused() -> None:
    record = copy.deepcopy(BASE)
    record["dxa"].append(copy.deepcopy(record["dxa"][0]))
    error = refused(record)
    assert "duplicate visit on 2021-03-10" in str(error)


def test_same_date_on_another_device_is_accepted() -> None:
    record = copy.deepcopy(BASE)
    other = copy.deepcopy(record["dxa"][0])
    other["device"] = {"manufacturer": "ge_lunar", "model": "iDXA"}
    record["dxa"].append(other)
    assert len(parse_patient(record).dxa) == 3


def test_dates_after_as_of_are_refused_by_name() -> None:
    patient = parse_patient(BASE)
    with pytest.raises(RecordError) as info:
        check_as_of(patient, date(2024, 3, 13))
    fields = {p.field for p in info.value.problems}
    assert fields == {"dxa[1].date"}
    check_as_of(patient, date(2024, 3, 15))


def test_lists_are_kept_in_date_order() -> None:
    record = copy.deepcopy(BASE)
    record["dxa"].reverse()
    record["labs"].reverse()
    patient = parse_patient(record)
    assert [v.date for v in patient.dxa] == sorted(v.date for v in patient.dxa)
    assert patient == parse_patient(BASE)


def test_lab_units_convert_to_canonical() -> None:
    record = _mutated(["labs", 2], {"date": "2024-03-12", "test": "vitamin_d_25oh",
                                    "value": 50.0, "unit": "nmol/L"})  # fmt: skip
    lab = parse_patient(record).labs[-1]
    assert lab.canonical_value == pytest.approx(20.0, abs=0.1)


def test_ndjson_keeps_good_lines_and_reports_bad_ones() -> None:
    bad = copy.deepcopy(BASE)
    bad["id"] = "bad-one"
    bad["sex"] = "x"
    lines = [json.dumps(BASE), "", json.dumps(bad), "{not json"]
    results = list(iter_ndjson(iter(lines), "batch.ndjson"))
    assert [type(r).__name__ for r in results] == ["Patient", "RecordError", "RecordError"]
    assert isinstance(results[1], RecordError)
    assert results[1].source == "batch.ndjson:3"
    assert "not valid JSON" in str(results[2])


def test_cli_refuses_bad_record_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_mutated(["dxa", 0, "measurements", 0, "bmd"], 5.0)))
    proc = subprocess.run(
        [sys.executable, "-m", "osteotarget.cli", "assess", str(path), "--as-of", "2025-01-01"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "dxa[0].measurements[0].bmd" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_assess_json_and_as_of_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLE_FILES[0])
    assert main(["assess", path, "--as-of", "2026-11-23", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patient_id"] == "example-alendronate-inadequate"
    assert out["densitometry"]["sites"][0]["site"] == "total_hip"
    assert main(["assess", path, "--as-of", "2021-01-01"]) == 2
    assert "is after as_of 2021-01-01" in capsys.readouterr().err


def test_schema_command_publishes_the_record_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"id", "sex", "birth_date"} <= set(schema["required"])
    assert "DxaVisit" in schema["$defs"]


def test_errors_name_the_input_position_even_when_lists_are_out_of_order() -> None:
    record = copy.deepcopy(BASE)
    record["fractures"] = [
        {"date": "2023-05-01", "site": "rib"},
        {"date": "2019-05-01", "site": "vertebral"},
    ]
    patient = parse_patient(record)
    assert [f.date.year for f in patient.fractures] == [2019, 2023]
    with pytest.raises(RecordError) as info:
        check_as_of(patient, date(2023, 1, 1))
    late_fractures = [p.field for p in info.value.problems if p.field.startswith("fractures")]
    assert late_fractures == ["fractures[0].date"]  # the 2023 one, given first
    record["fractures"][0]["date"] = "1940-01-01"  # before birth, given first
    error = refused(record)
    assert "fractures[0].date 1940-01-01 is before birth_date" in str(error)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["dxa", 0, "measurements", 0, "bmd"], True),
        (["dxa", 0, "measurements", 0, "bmd"], "0.6"),
        (["dxa", 0, "measurements", 0, "t_score"], float("nan")),
        (["labs", 0, "value"], float("inf")),
        (["labs", 0, "value"], -1.0),
        (["risk_factors", "glucocorticoids", "prednisolone_mg_per_day"], float("inf")),
        (["risk_factors", "alcohol_units_per_day"], -2),
        (["risk_factors", "current_smoker"], "yes"),
        (["falls", 0, "injurious"], 1),
    ],
)
def test_values_are_never_coerced(path: list[str | int], value: Any) -> None:
    """A boolean is not a BMD, "yes" is not a boolean, NaN/inf/negatives are refused."""
    record = (
        _mutated(path, value)
        if path[0] != "falls"
        else _mutated(["falls"], [{"date": "2023-09-02", "injurious": value}])
    )
    error = refused(record)
    assert any(p.field.startswith(str(path[0])) for p in error.problems), error


def test_frax_hip_above_mof_is_refused() -> None:
    """Hip fracture is one of the major osteoporotic fractures, so hip ≤ MOF."""
    error = refused(_mutated(["frax", 0, "hip"], 25.0))
    assert "FRAX hip 25% is above FRAX MOF 19%" in str(error)


def test_published_schema_carries_the_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    bmd = schema["$defs"]["Measurement"]["properties"]["bmd"]
    assert (bmd["minimum"], bmd["maximum"]) == (0.2, 2.0)
