"""The quick shape check (no paths) refuses exactly what the explaining walk refuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osteotarget.model.bounds import (
    MAX_DEPTH,
    MAX_LIST,
    MAX_STRING,
    BoundsError,
    _explain_shape,
    _within_shape,
    check_shape,
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
