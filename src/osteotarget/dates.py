"""Calendar arithmetic (months and years between dates), one place for every layer; no
clinical numbers here."""

from __future__ import annotations

import calendar
from datetime import date

_DAYS_PER_YEAR = 365.25
_MONTHS_PER_YEAR = 12
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SHORTEST_MONTH = 28
_LEAP_FEBRUARY = 29


def add_months(day: date, months: float) -> date:
    """*day* plus a whole number of months (fractions rounded), clamped to month end."""
    whole = round(months)
    index = day.year * _MONTHS_PER_YEAR + (day.month - 1) + whole
    year, month0 = divmod(index, _MONTHS_PER_YEAR)
    if day.day <= _SHORTEST_MONTH:
        return date(year, month0 + 1, day.day)
    last = _LEAP_FEBRUARY if month0 == 1 and calendar.isleap(year) else _DAYS_IN_MONTH[month0]
    return date(year, month0 + 1, min(day.day, last))


def years_between(start: date, end: date) -> float:
    return (end - start).days / _DAYS_PER_YEAR


def months_between(start: date, end: date) -> float:
    return years_between(start, end) * _MONTHS_PER_YEAR


def whole_months_between(start: date, end: date) -> int:
    """Whole calendar months from *start* to *end* (never negative)."""
    months = (end.year - start.year) * _MONTHS_PER_YEAR + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
