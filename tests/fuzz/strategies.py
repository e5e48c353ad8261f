"""Hypothesis strategies for bad input: example records with one part replaced or removed."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import strategies as st

from tests.service.conftest import example_records

# Examples per property: small in `make test`, large in `make fuzz` (FUZZ_EXAMPLES=...).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

NASTY_STRINGS = [
    "",
    "0",
    "0000-01-01",
    "9999-12-31",
    "2020-02-30",
    "2020-1-1",
    "1970-01-01T00:00:00",
    "2020-01-01Z",
    "+002020-01-01",
    "\ud800",
    "\x00",
    "a/b",
    "a:b",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 300,
    "NaN",
    "Infinity",
]

nasty_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 10**19, 2**63, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324]),
    st.text(max_size=20),
    st.sampled_from(NASTY_STRINGS),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(min_value=-5, max_value=5), max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += paths(item, (*prefix, index))
    return out


def _apply(record: dict[str, Any], path: tuple[Any, ...], new: Any, delete: bool) -> None:
    node: Any = record
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = new


@st.composite
def mutated_records(draw: st.DrawFn) -> dict[str, Any]:
    """An example record with 1-3 parts replaced by nasty values or removed."""
    record = copy.deepcopy(draw(st.sampled_from(example_records())))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = paths(record)
        if not where:
            break
        path = draw(st.sampled_from(where))
        _apply(record, path, draw(nasty_values), draw(st.booleans()))
    return record


def to_json(record: Any) -> str:
    """As a client would send it (NaN/Infinity literals included, lone surrogates kept)."""
    return json.dumps(record)
