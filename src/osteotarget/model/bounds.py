"""Bounds on input, in one place: identifiers, dates and the shape of JSON documents.

These are not clinical numbers: they keep a malformed or hostile input from costing
unbounded memory, time or recursion, and turn it into a refusal naming the field.

- **Identifiers** (patient ids): the FHIR ``id`` alphabet, ``[A-Za-z0-9.-]``, 1–64
  characters, starting with a letter or digit. So every stored id is a URL path segment as
  it is, a FHIR resource id as it is, and never ``/``, ``:``, ``_``, ``%``, NUL, ``.``/``..``.
- **Dates**: ISO 8601 calendar dates ``YYYY-MM-DD`` only (never a number of seconds), with a
  year from :data:`MIN_YEAR` to :data:`MAX_YEAR`.
- **JSON**: nesting depth, string length, digits in a number, entries in a list, and no lone
  UTF-16 surrogates (they cannot be stored or echoed as UTF-8).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$"
ID_MAX_LENGTH = 64
ID_RULE = "1-64 characters of A-Z, a-z, 0-9, '-' or '.', starting with a letter or digit"
_ID = re.compile(ID_PATTERN)

MIN_YEAR = 1850
MAX_YEAR = 2200
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The same bounds for the published schema: YYYY-MM-DD with a year MIN_YEAR..MAX_YEAR.
YEAR_BOUNDED_PATTERN = r"^(18[5-9][0-9]|19[0-9]{2}|20[0-9]{2}|21[0-9]{2}|2200)-[0-9]{2}-[0-9]{2}$"

MAX_DEPTH = 64
MAX_STRING = 65_536
MAX_NUMBER_CHARS = 40
MAX_LIST = 100_000
MAX_ENTRIES = 500  # entries in one list of one patient record (labs, visits ...)


class BoundsError(ValueError):
    """A JSON document outside the bounds: ``field`` is where, the message says why."""

    def __init__(self, field: str, message: str, value: str = "") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.value = value


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a safe identifier (None when it is)."""
    if not isinstance(value, str):
        return "must be a string"
    if not _ID.match(value):
        return "must be " + ID_RULE
    return None


def parse_iso_date(value: Any) -> date:
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and _ISO_DATE.match(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not a calendar date ({exc})") from None
    else:
        shown = value if isinstance(value, str) else type(value).__name__
        raise ValueError(f"'{shown}' is not an ISO 8601 date (YYYY-MM-DD)")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"year {parsed.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return parsed


IsoDate = Annotated[
    date,
    BeforeValidator(parse_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": YEAR_BOUNDED_PATTERN}),
]


def check_entry_counts(data: Any) -> Any:
    """Refuse a record whose lists hold more than :data:`MAX_ENTRIES` entries."""
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, list) and len(value) > MAX_ENTRIES:
                raise ValueError(
                    f"{name} has {len(value)} entries; at most {MAX_ENTRIES} per record"
                )
    return data


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BoundsError("body", f"a number has more than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BoundsError("body", f"a number has more than {MAX_NUMBER_CHARS} characters")
    return float(text)


def _where(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "body"


def _check_string(text: str, path: list[str | int]) -> None:
    if len(text) > MAX_STRING:
        raise BoundsError(_where(path), f"a string longer than {MAX_STRING} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BoundsError(_where(path), "contains a lone UTF-16 surrogate") from None


def check_shape(value: Any) -> None:
    """Depth, string, list and key bounds of a parsed document (iterative: no recursion).
    A quick pass without paths first; only a refused document is walked again to name
    where."""
    if not _within_shape(value):
        _explain_shape(value)


def _string_ok(text: str) -> bool:
    if len(text) > MAX_STRING:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _within_shape(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, str):
            if not _string_ok(node):
                return False
        elif isinstance(node, dict):
            if node and depth >= MAX_DEPTH:
                return False
            for key, item in node.items():
                if not _string_ok(key):
                    return False
                if isinstance(item, (dict, list, str)):
                    stack.append((item, depth + 1))
        elif isinstance(node, list):
            if len(node) > MAX_LIST or (node and depth >= MAX_DEPTH):
                return False
            stack.extend((item, depth + 1) for item in node if isinstance(item, (dict, list, str)))
    return True


def _explain_shape(value: Any) -> None:
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise BoundsError(_where(path[:MAX_DEPTH]), f"nested deeper than {MAX_DEPTH}")
        if isinstance(node, str):
            _check_string(node, path)
        elif isinstance(node, dict):
            for key, item in node.items():
                _check_string(key, path)
                stack.append((item, [*path, key[:40]]))
        elif isinstance(node, list):
            if len(node) > MAX_LIST:
                raise BoundsError(_where(path), f"a list of more than {MAX_LIST} items")
            stack.extend((item, [*path, index]) for index, item in enumerate(node))


def loads_bounded(text: str) -> Any:
    """``json.loads`` that refuses what would crash or stall the reader: raises
    :class:`BoundsError` (a ValueError) or ``json.JSONDecodeError``."""
    try:
        value = json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise BoundsError("body", f"nested deeper than {MAX_DEPTH}") from None
    if _text_bounds_strings_and_lists(text):
        if not _depth_within(value):
            _explain_shape(value)
    else:
        check_shape(value)
    return value


# A JSON string escape of a UTF-16 surrogate (paired or lone): such a text takes the full walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _text_bounds_strings_and_lists(text: str) -> bool:
    """True when the text alone rules out a too-long string or key (the text is no longer
    than the limit), a too-long list (fewer commas than the limit) and a lone surrogate
    (no surrogate escape, no surrogate in the text): only the depth is left to check."""
    if len(text) > MAX_STRING or text.count(",") >= MAX_LIST:
        return False
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None


def _depth_within(value: Any) -> bool:
    """:func:`_within_shape` for depth only (containers, level by level): no non-empty
    container at depth ``MAX_DEPTH`` or below."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        deeper: list[Any] = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            if depth >= MAX_DEPTH and children:
                return False
            deeper.extend(c for c in children if isinstance(c, (dict, list)))
        level = deeper
        depth += 1
    return True


def _no_constant(name: str) -> float:
    raise BoundsError("body", f"{name} is not a JSON number")
