"""The flat CSV layout of patient records (docs/population.md, "CSV layout"): one file per
table, named by the table (``patients.csv``, ``dxa.csv``, ``therapies.csv``, ``doses.csv``,
``fractures.csv``, ``labs.csv``, ``falls.csv``), rows joined on ``patient_id`` (and
``course_id`` for doses). Each bad row is refused with its file, row and field; the rest of
the patient is kept.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from osteotarget.model import Fall, Fracture, Lab, Measurement, Problem, RecordError
from osteotarget.model.validate import parse_patient, problems_from

TABLES: dict[str, tuple[str, ...]] = {
    "patients": (
        "id",
        "sex",
        "birth_date",
        "height_cm",
        "weight_kg",
        "menopause_status",
        "menopause_age",
        "current_smoker",
        "parental_hip_fracture",
        "rheumatoid_arthritis",
        "secondary_osteoporosis",
        "type2_diabetes",
        "type1_diabetes",
        "alcohol_units_per_day",
        "glucocorticoids_current",
        "prednisolone_mg_per_day",
        "glucocorticoids_start",
    ),
    "dxa": (
        "patient_id",
        "date",
        "manufacturer",
        "model",
        "facility",
        "site",
        "side",
        "region",
        "bmd",
        "t_score",
        "z_score",
    ),
    "therapies": ("patient_id", "course_id", "drug", "start", "end", "adherence", "stop_reason"),
    "doses": ("patient_id", "course_id", "date"),
    "fractures": ("patient_id", "date", "site", "fragility", "source"),
    "labs": ("patient_id", "date", "test", "value", "unit"),
    "falls": ("patient_id", "date", "injurious"),
}
REQUIRED = {
    "patients": ("id", "sex", "birth_date"),
    "dxa": ("patient_id", "date", "manufacturer", "site"),
    "therapies": ("patient_id", "course_id", "drug", "start"),
    "doses": ("patient_id", "course_id", "date"),
    "fractures": ("patient_id", "date", "site"),
    "labs": ("patient_id", "date", "test", "value", "unit"),
    "falls": ("patient_id", "date"),
}
_NUMBERS = {
    "height_cm",
    "weight_kg",
    "menopause_age",
    "alcohol_units_per_day",
    "prednisolone_mg_per_day",
    "bmd",
    "t_score",
    "z_score",
    "value",
}
_FLAGS = {
    "current_smoker",
    "parental_hip_fracture",
    "rheumatoid_arthritis",
    "secondary_osteoporosis",
    "type2_diabetes",
    "type1_diabetes",
    "glucocorticoids_current",
    "fragility",
    "injurious",
}
_MEASUREMENT_FIELDS = ("site", "side", "region", "bmd", "t_score", "z_score")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class CellError(ValueError):
    def __init__(self, field: str, message: str, value: str) -> None:
        super().__init__(f"{field}: {message}")
        self.problem = Problem(field, message, value)


def template(table: str) -> str:
    """The header line of a table's CSV template."""
    return ",".join(TABLES[table]) + "\n"


def _cell(name: str, raw: str | None) -> Any:
    text = (raw or "").strip()
    if text == "":
        return None
    if name in _NUMBERS:
        try:
            value = float(text)
        except ValueError:
            raise CellError(name, "is not a number", text) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(name, "is not a finite number", text)
        return value
    if name in _FLAGS:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise CellError(name, "is not true/false", text)
    return text


@dataclass
class Row:
    table: str
    source: str
    values: dict[str, Any]


def _rows(path: Path, table: str, refused: list[RecordError]) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        unknown = [c for c in reader.fieldnames or [] if c not in TABLES[table]]
        if unknown:
            refused.append(
                RecordError(
                    [Problem("header", f"unknown column(s) for table {table}", ", ".join(unknown))],
                    str(path),
                )
            )
            return
        for number, raw in enumerate(reader, start=2):
            source = f"{path}:{number}"
            try:
                values = {name: _cell(name, raw.get(name)) for name in TABLES[table]}
                missing = [f for f in REQUIRED[table] if values.get(f) is None]
                if missing:
                    raise CellError(missing[0], "is required", "")
            except CellError as exc:
                refused.append(RecordError([exc.problem], source))
                continue
            yield Row(table, source, values)


def _check(row: Row, build: Callable[[], Any], refused: list[RecordError]) -> Any:
    try:
        return build()
    except ValidationError as exc:
        refused.append(RecordError(problems_from(exc), row.source))
    except ValueError as exc:
        refused.append(RecordError([Problem(row.table, str(exc))], row.source))
    return None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def read_tables(paths: list[Path]) -> Iterator[Any]:
    """Yield a validated Patient or a RecordError per bad row / bad patient (in id order)."""
    refused: list[RecordError] = []
    by_table: dict[str, list[Row]] = defaultdict(list)
    for path in paths:
        table = path.stem.split(".")[0]
        if table not in TABLES:
            yield RecordError(
                [Problem("file", f"name must be one of {', '.join(t + '.csv' for t in TABLES)}")],
                str(path),
            )
            continue
        by_table[table].extend(_rows(path, table, refused))
    yield from refused
    refused.clear()
    parts: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "dxa": defaultdict(list),
            "therapies": {},
            "fractures": [],
            "labs": [],
            "falls": [],
        }
    )
    patients: dict[str, Row] = {}
    for row in by_table["patients"]:
        patients[str(row.values["id"])] = row
    for row in by_table["dxa"]:
        v = row.values
        fields = _drop_none({k: v[k] for k in _MEASUREMENT_FIELDS})
        m = _check(row, partial(Measurement.model_validate, fields), refused)
        if m is not None:
            device = _drop_none(
                {"manufacturer": v["manufacturer"], "model": v["model"], "facility": v["facility"]}
            )
            key = (v["date"], tuple(sorted(device.items())))
            parts[v["patient_id"]]["dxa"][key].append((row, m.model_dump(exclude_none=True)))
    for row in by_table["therapies"]:
        v = row.values
        course = _drop_none({k: v[k] for k in ("drug", "start", "end", "adherence", "stop_reason")})
        parts[v["patient_id"]]["therapies"][v["course_id"]] = {**course, "doses": []}
    for row in by_table["doses"]:
        v = row.values
        course = parts[v["patient_id"]]["therapies"].get(v["course_id"])
        if course is None:
            refused.append(
                RecordError(
                    [Problem("course_id", "no such course in therapies", v["course_id"])],
                    row.source,
                )
            )
        else:
            course["doses"].append(v["date"])
    for table, model in (("fractures", Fracture), ("labs", Lab), ("falls", Fall)):
        for row in by_table[table]:
            v = _drop_none({k: x for k, x in row.values.items() if k != "patient_id"})
            item = _check(row, partial(model.model_validate, v), refused)
            if item is not None:
                parts[row.values["patient_id"]][table].append(v)
    yield from refused
    for pid in sorted(set(parts) - set(patients)):
        yield RecordError([Problem("patient_id", "not in patients.csv", pid)], "csv")
    for pid in sorted(patients):
        yield _patient(patients[pid], parts.get(pid))


def _patient(row: Row, parts: dict[str, Any] | None) -> Any:
    v = row.values
    record: dict[str, Any] = _drop_none(
        {k: v[k] for k in ("id", "sex", "birth_date", "height_cm", "weight_kg")}
    )
    if v["menopause_status"] is not None:
        record["menopause"] = _drop_none(
            {"status": v["menopause_status"], "age": v["menopause_age"]}
        )
    flags = ("current_smoker", "parental_hip_fracture", "rheumatoid_arthritis",
             "secondary_osteoporosis", "type2_diabetes", "type1_diabetes",
             "alcohol_units_per_day")  # fmt: skip
    risk = _drop_none({k: v[k] for k in flags})
    gc = _drop_none(
        {
            "current": v["glucocorticoids_current"],
            "prednisolone_mg_per_day": v["prednisolone_mg_per_day"],
            "start": v["glucocorticoids_start"],
        }
    )
    if gc:
        risk["glucocorticoids"] = gc
    if risk:
        record["risk_factors"] = risk
    if parts:
        record["dxa"] = [
            {"date": when, "device": dict(device), "measurements": [m for _, m in items]}
            for (when, device), items in parts["dxa"].items()
        ]
        record["therapies"] = list(parts["therapies"].values())
        for table in ("fractures", "labs", "falls"):
            record[table] = parts[table]
    try:
        return parse_patient(record, f"{row.source} (patient {v['id']})")
    except RecordError as exc:
        return exc
