"""Loading records (JSON, NDJSON) and the checks that need the assessment date.

Every refusal is a :class:`RecordError` whose ``problems`` name the field and the value;
the CLI turns it into exit code 2 and the API into an RFC 9457 problem (HTTP 422).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from osteotarget.model.bounds import BoundsError, loads_bounded
from osteotarget.model.record import Patient


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused value: where it is, what it was, and why."""

    field: str
    message: str
    value: str = ""

    def __str__(self) -> str:
        shown = f" (value: {self.value})" if self.value else ""
        return f"{self.field}: {self.message}{shown}"


class RecordError(ValueError):
    """A record was refused. ``problems`` lists each bad field; ``source`` names the input."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(str(p) for p in problems))


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "record"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def problems_from(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        # Literal choices: pydantic says "Input should be 'a', 'b' ..."; keep it, it names them.
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        message = str(item["msg"]).removeprefix("Value error, ")
        value = item.get("input")
        shown = "" if isinstance(value, dict | list) else _short(value)
        problems.append(Problem(field=_loc(loc), message=message, value=shown))
    return problems


def parse_patient(data: Any, source: str = "") -> Patient:
    """Validate one record (a dict from JSON); raise :class:`RecordError` naming each bad field."""
    if not isinstance(data, dict):
        raise RecordError([Problem("record", "a patient record must be a JSON object")], source)
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise RecordError(problems_from(exc), source) from None
    except (ArithmeticError, LookupError, TypeError, RecursionError) as exc:
        # A value no check above foresaw: still a refusal of the input, never a crash.
        raise RecordError(
            [Problem("record", f"could not be read ({type(exc).__name__})")], source
        ) from None


def check_as_of(patient: Patient, as_of: date) -> None:
    """Refuse a record with any dated fact after ``as_of`` (the assessment date)."""
    late = [
        Problem(name, f"is after as_of {as_of.isoformat()}", when.isoformat())
        for name, when in patient.dated_events()
        if when > as_of
    ]
    if patient.birth_date > as_of:
        late.insert(
            0,
            Problem(
                "birth_date", f"is after as_of {as_of.isoformat()}", patient.birth_date.isoformat()
            ),
        )
    if late:
        raise RecordError(late, patient.id)


def load_json(text: str, source: str = "") -> Patient:
    """One record from JSON text, within the bounds of :mod:`osteotarget.model.bounds`."""
    try:
        data = loads_bounded(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            [Problem(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}")],
            source,
        ) from None
    except BoundsError as exc:
        raise RecordError([Problem(exc.field, exc.message)], source) from None
    return parse_patient(data, source)


def iter_ndjson(lines: Iterator[str], source: str = "") -> Iterator[Patient | RecordError]:
    """Yield a Patient or a RecordError per non-blank line, so one bad line loses nothing else."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}" if source else f"line {number}"
        try:
            yield load_json(line, where)
        except RecordError as exc:
            yield exc


def load_path(path: Path) -> list[Patient | RecordError]:
    """Load a .json (one patient) or .ndjson/.jsonl (many) file; refusals are returned."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [RecordError([Problem("file", "is not UTF-8 text")], str(path))]
    if path.suffix in {".ndjson", ".jsonl"}:
        return list(iter_ndjson(iter(text.splitlines()), str(path)))
    try:
        return [load_json(text, str(path))]
    except RecordError as exc:
        return [exc]
