"""Speed work changes no answer: the JSON of ``assess`` equals a snapshot taken before it.

The snapshot (``tests/fixtures/speed/assess-golden.json.gz``) holds one SHA-256 per
(patient, as-of date, guideline profile) of ``assess(...).model_dump_json()``, computed
from the code before any speed change (issue 13, speed). Patients: the spec examples, the
demo patients (every profile, two dates) and 300 synthetic patients (``osteotarget synth
--n 300 --seed 13 --as-of 2026-11-23``, stored beside it) under three profiles.

A deliberate clinical change also changes these hashes: regenerate the snapshot with

    .venv/bin/python -m tests.unit.test_speed_equivalence --regenerate

and say in the commit which clinical change moved which cases.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from osteotarget.base.profile import list_profiles
from osteotarget.engine import assess
from osteotarget.model import Patient, parse_patient

ROOT = Path(__file__).parents[2]
SNAPSHOT = ROOT / "tests/fixtures/speed/assess-golden.json.gz"
SYNTH = ROOT / "tests/fixtures/speed/synth300-seed13.ndjson.gz"
RECORDS = sorted(
    [
        *(ROOT / "tests/fixtures/spec_examples").glob("*.json"),
        *(ROOT / "src/osteotarget/demo").glob("*.json"),
    ]
)
RECORD_DATES = (date(2026, 11, 23), date(2027, 9, 1))
SYNTH_DATE = date(2026, 11, 23)
SYNTH_PROFILES = ("t2t2024", "aace2020", "nogg2022")


def _records() -> list[tuple[str, Patient]]:
    return [
        (f"{p.parent.name}/{p.stem}", parse_patient(json.loads(p.read_text()))) for p in RECORDS
    ]


def _synthetic() -> list[Patient]:
    with gzip.open(SYNTH, "rt") as lines:
        return [parse_patient(json.loads(line)) for line in lines if line.strip()]


def _cases() -> Iterator[tuple[str, Patient, date, str]]:
    for name, patient in _records():
        for as_of in RECORD_DATES:
            if as_of < max(_dates_in(patient), default=as_of):
                continue
            for profile in list_profiles():
                yield f"{name}|{as_of}|{profile}", patient, as_of, profile
    for patient in _synthetic():
        for profile in SYNTH_PROFILES:
            yield f"synth/{patient.id}|{SYNTH_DATE}|{profile}", patient, SYNTH_DATE, profile


def _dates_in(patient: Patient) -> list[date]:
    return [v.date for v in patient.dxa]


def _digest(patient: Patient, as_of: date, profile: str) -> str:
    answer = assess(patient, as_of, profile).model_dump_json()
    return hashlib.sha256(answer.encode()).hexdigest()


def _snapshot() -> dict[str, str]:
    with gzip.open(SNAPSHOT, "rt") as f:
        loaded: dict[str, str] = json.load(f)
    return loaded


def test_the_snapshot_covers_every_case() -> None:
    keys = [key for key, *_ in _cases()]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(_snapshot())
    assert len(keys) > 900


@pytest.mark.parametrize("source", ["records", "synthetic"])
def test_assess_json_equals_the_snapshot(source: str) -> None:
    golden = _snapshot()
    changed: list[str] = []
    for key, patient, as_of, profile in _cases():
        if key.startswith("synth/") != (source == "synthetic"):
            continue
        if _digest(patient, as_of, profile) != golden[key]:
            changed.append(key)
    assert not changed, f"{len(changed)} answers changed, e.g. {changed[:5]}"


def _regenerate() -> None:
    snapshot = {key: _digest(p, as_of, profile) for key, p, as_of, profile in _cases()}
    with gzip.open(SNAPSHOT, "wt") as f:
        json.dump(snapshot, f, indent=0, sort_keys=True)
    print(f"wrote {len(snapshot)} digests to {SNAPSHOT}")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    _regenerate()


def test_built_equals_model_construct() -> None:
    """The cheap constructor makes the same object as pydantic's ``model_construct``."""
    from osteotarget.model.assessment import (
        Option,
        ProjectedPoint,
        RegimenStep,
        TraceStep,
        built,
        rebuilt,
    )

    point = {"month": 12, "site": "total_hip", "t_score": -2.4, "low": -2.7, "high": -2.1}
    values = {
        "regimen": [RegimenStep(drug="alendronate")],
        "horizon_months": 36,
        "projected_t_scores": [ProjectedPoint.model_validate(point)],
        "rank": 2,
    }
    fast, slow = built(Option, **values), Option.model_construct(**values)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json() == Option(**values).model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.citations == [] and fast.citations is not built(Option, **values).citations
    ranked = rebuilt(fast, rank=1, first_line=True)
    assert ranked == fast.model_copy(update={"rank": 1, "first_line": True})
    assert fast.rank == 2
    step = built(TraceStep, rule="r", outcome="o")
    assert step.model_dump_json() == TraceStep(rule="r", outcome="o").model_dump_json()
    with pytest.raises(TypeError, match="no field"):
        built(TraceStep, rule="r", outcome="o", nonsense=1)


def test_answers_built_without_validation_are_what_validation_makes() -> None:
    """Parts the core assembles without validating (``built``, ``model_construct``) hold
    values of the declared types: validating the answer again changes no byte of its JSON
    and serialising it raises no type warning (an int in a float field would print "0"
    where validation prints "0.0")."""
    import warnings

    from osteotarget.model.assessment import Assessment

    changed: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for key, patient, as_of, profile in _cases():
            answer = assess(patient, as_of, profile)
            again = Assessment.model_validate(answer.model_dump())
            if again.model_dump_json() != answer.model_dump_json():
                changed.append(key)
    assert not changed, f"{len(changed)} answers change on validation, e.g. {changed[:5]}"


def test_built_whole_needs_every_field() -> None:
    from osteotarget.model.assessment import ProjectedPoint, built, built_whole, projected_points

    values = {"month": 12, "site": "total_hip", "t_score": -2.4, "low": -2.7, "high": -2.1}
    whole = built_whole(ProjectedPoint, dict(values))
    assert whole == built(ProjectedPoint, **values) == ProjectedPoint(**values)
    assert whole.model_dump_json() == ProjectedPoint(**values).model_dump_json()
    assert projected_points([tuple(values.values())]) == [whole]  # type: ignore[list-item]
    with pytest.raises(TypeError, match="every field"):
        built_whole(ProjectedPoint, {"month": 12, "site": "total_hip", "t_score": -2.4})


def test_add_months_equals_the_calendar() -> None:
    """The month-end clamp without ``calendar.monthrange`` (speed) gives the same dates."""
    import calendar
    from datetime import timedelta

    from osteotarget.dates import add_months

    def by_calendar(day: date, months: float) -> date:
        year, month0 = divmod(day.year * 12 + day.month - 1 + round(months), 12)
        return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))

    day = date(1999, 12, 1)
    while day < date(2030, 3, 1):
        for months in (-24, -13, -1, 0, 1, 2.5, 6, 11, 12, 36):
            assert add_months(day, months) == by_calendar(day, months), (day, months)
        day += timedelta(days=1)
