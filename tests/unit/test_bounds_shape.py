"""The quick shape check (no paths) refuses exactly what the explaining walk refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osteotarget.model.bounds import (
    MAX_DEPTH,
    MAX_LIST,
    MAX_STRING,
    BoundsError,
    _bounded_float,
    _bounded_int,
    _explain_shape,
    _no_constant,
    _within_shape,
    check_shape,
    loads_bounded,
)

TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xDFFF), max_size=8)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)


def _explained(value: Any) -> bool:
    try:
        _explain_shape(value)
    except BoundsError:
        return False
    return True


@given(JSONISH)
def test_quick_pass_agrees_with_the_explaining_walk(value: Any) -> None:
    assert _within_shape(value) == _explained(value)


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
@pytest.mark.parametrize("leaf", [1, "x", None, [], {}])
def test_depth_limit_is_the_same_for_every_kind_of_leaf(depth: int, leaf: Any) -> None:
    value = _nested(depth, leaf)
    assert _within_shape(value) == _explained(value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "x" * (MAX_STRING + 1)},
        {"x" * (MAX_STRING + 1): 1},
        {"a": ["ok", "\ud800"]},
        {"\udfff": 1},
        {"a": list(range(MAX_LIST + 1))},
    ],
)
def test_refused_documents_name_where(value: Any) -> None:
    assert not _within_shape(value)
    with pytest.raises(BoundsError):
        check_shape(value)


def _refused_by_the_full_walk(text: str) -> bool:
    """The same parse (number and constant bounds) followed by the full shape walk."""
    try:
        check_shape(
            json.loads(
                text,
                parse_int=_bounded_int,
                parse_float=_bounded_float,
                parse_constant=_no_constant,
            )
        )
    except BoundsError:
        return True
    return False


def _refused(text: str) -> bool:
    try:
        loads_bounded(text)
    except BoundsError:
        return True
    return False


@given(JSONISH, st.booleans())
def test_text_prechecks_refuse_exactly_what_the_full_walk_refuses(
    value: Any, ascii_only: bool
) -> None:
    """loads_bounded skips the string and list walk when the text alone rules those out;
    it must refuse the same documents as the full walk (surrogate escapes included)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert _refused(text) == _refused_by_the_full_walk(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
def test_depth_at_the_limit_on_the_quick_path(depth: int) -> None:
    for leaf in ("[]", "{}", "1", '"x"', "[1]", '{"a":1}'):
        text = "[" * depth + leaf + "]" * depth
        assert _refused(text) == _refused_by_the_full_walk(text), (depth, leaf)


def test_a_lone_surrogate_escape_is_still_refused() -> None:
    assert _refused('{"a": "\\ud800"}')
    assert not _refused('{"a": "\\ud83d\\ude00"}')  # a pair is one character
