"""Property tests of the record validator: valid records load, corruptions are refused by
field name, and nothing but a RecordError ever escapes."""

from __future__ import annotations

import copy
import math
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteotarget.knowledge import knowledge
from osteotarget.model import Patient, RecordError, parse_patient
from osteotarget.model.codes import DRUGS, LAB_TESTS, SITES

START, END = date(1990, 1, 1), date(2026, 1, 1)
dates = st.dates(min_value=START, max_value=END)
iso = dates.map(date.isoformat)


@st.composite
def measurements(draw: st.DrawFn) -> list[dict[str, Any]]:
    sites = draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=4, unique=True))
    out = []
    for site in sites:
        m: dict[str, Any] = {"site": site}
        kind = draw(st.sampled_from(("bmd", "t", "both")))
        if kind in ("bmd", "both"):
            m["bmd"] = draw(st.floats(0.2, 2.0))
        if kind in ("t", "both"):
            m["t_score"] = draw(st.floats(-7.0, 7.0))
        out.append(m)
    return out


@st.composite
def therapies(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(dates)
    end = draw(st.none() | st.dates(min_value=start, max_value=END))
    last = end or END
    doses = draw(st.lists(st.dates(min_value=start, max_value=last), max_size=4))
    return {
        "drug": draw(st.sampled_from(DRUGS)),
        "start": start.isoformat(),
        "end": end.isoformat() if end else None,
        "doses": [d.isoformat() for d in doses],
        "adherence": draw(st.sampled_from(("good", "poor", "unknown"))),
    }


@st.composite
def labs(draw: st.DrawFn) -> dict[str, Any]:
    test = draw(st.sampled_from(LAB_TESTS))
    unit = draw(st.sampled_from(sorted(knowledge().table(f"labs.{test}.units"))))
    return {"date": draw(iso), "test": test, "value": draw(st.floats(0, 1000)), "unit": unit}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    visit_dates = draw(st.lists(dates, max_size=4, unique=True))
    return {
        # ids: the documented safe alphabet (model/bounds.py): a letter or digit first
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9.\-]{0,11}", fullmatch=True)),
        "sex": draw(st.sampled_from(("female", "male"))),
        "birth_date": draw(st.dates(date(1920, 1, 1), date(1989, 12, 31))).isoformat(),
        "dxa": [
            {
                "date": d.isoformat(),
                "device": {"manufacturer": draw(st.sampled_from(("hologic", "ge_lunar")))},
                "measurements": draw(measurements()),
            }
            for d in visit_dates
        ],
        "fractures": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"date": iso, "site": st.sampled_from(("hip", "vertebral", "rib"))}
                ),
                max_size=3,
            )
        ),
        "therapies": draw(st.lists(therapies(), max_size=3)),
        "labs": draw(st.lists(labs(), max_size=4)),
    }


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_random_valid_records_load(record: dict[str, Any]) -> None:
    patient = parse_patient(record)
    assert isinstance(patient, Patient)
    assert [v.date for v in patient.dxa] == sorted(v.date for v in patient.dxa)


def _corrupt(record: dict[str, Any], choice: int, junk: Any) -> tuple[dict[str, Any], str]:
    bad = copy.deepcopy(record)
    bad["dxa"] = bad["dxa"] or [
        {"date": "2020-01-01", "device": {"manufacturer": "hologic"},
         "measurements": [{"site": "total_hip", "bmd": 0.8}]}
    ]  # fmt: skip
    bad["therapies"] = bad["therapies"] or [{"drug": "alendronate", "start": "2020-01-01"}]
    m = bad["dxa"][0]["measurements"][0]
    if choice == 0:
        m["bmd"] = junk
        return bad, "dxa[0].measurements[0].bmd"
    if choice == 1:
        m["t_score"] = math.copysign(7.01 + abs(junk), junk or 1.0)
        return bad, "dxa[0].measurements[0].t_score"
    if choice == 2:
        m["site"] = f"x-{junk}"
        return bad, "dxa[0].measurements[0].site"
    if choice == 3:
        bad["therapies"][0]["drug"] = f"drug-{junk}"
        return bad, "therapies[0].drug"
    if choice == 4:
        start = date.fromisoformat(bad["therapies"][0]["start"])
        bad["therapies"][0]["end"] = (start - timedelta(days=1)).isoformat()
        bad["therapies"][0]["doses"] = []
        return bad, "therapies[0]"
    if choice == 5:
        bad["sex"] = f"s{junk}"
        return bad, "sex"
    # never coerced: a boolean, a numeric string, NaN or infinity is not a measurement
    m["bmd"] = (True, str(junk), math.nan, math.inf)[choice - 6]
    return bad, "dxa[0].measurements[0].bmd"


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.integers(0, 9), st.floats(2.01, 1e6) | st.floats(-1e6, 0.19))
def test_corruptions_are_refused_naming_the_field(
    record: dict[str, Any], choice: int, junk: float
) -> None:
    bad, field = _corrupt(record, choice, junk)
    try:
        parse_patient(bad)
    except RecordError as exc:
        assert any(p.field.startswith(field) for p in exc.problems), (field, str(exc))
    else:
        raise AssertionError(f"corruption of {field} was accepted")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=150)
@given(st.dictionaries(st.sampled_from(list(Patient.model_fields)), json_values) | json_values)
def test_nothing_but_record_error_escapes(data: Any) -> None:
    try:
        parse_patient(data)
    except RecordError as exc:
        assert exc.problems and all(p.field for p in exc.problems)
