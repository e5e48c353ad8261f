"""Published goal-attainment rows (knowledge/calibration.toml) against the projection.

Each row says: of the women who started *regimen* at *baseline_t* at *site*, a share
``observed_percent`` (or a range) measured a T-score above *target_t* after *months*.
The projection's answer for the same patient is the probability that the measured
T-score at the horizon meets the target (docs/model.md §4). This module only compares;
it is used by ``benchmarks/calibration.py`` and the calibration tests, never by the
projection itself. Pure: no I/O beyond the (cached) knowledge base.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import Any, Literal, cast

from osteotarget.knowledge import knowledge
from osteotarget.projection.api import TargetSpec, parse_regimen, project
from osteotarget.projection.forecast import Baseline
from osteotarget.projection.response import ProjectedSite

RowSet = Literal["fit", "held_out"]


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    """One published goal-attainment figure (percent of women reaching the target)."""

    id: str
    set: RowSet
    site: ProjectedSite
    regimen: str
    months: int
    baseline_t: float
    target_t: float
    low: float
    high: float
    cite: str
    evidence: str
    trial: str
    threshold_row: bool = False

    @property
    def observed(self) -> float:
        """The published value (the middle of a published range, for display only)."""
        return (self.low + self.high) / 2.0

    def error(self, predicted_percent: float) -> float:
        """Absolute error in percentage points: distance to the published value, or to
        the published range (0 inside it)."""
        if predicted_percent < self.low:
            return self.low - predicted_percent
        if predicted_percent > self.high:
            return predicted_percent - self.high
        return 0.0


def _row(raw: dict[str, Any]) -> CalibrationRow:
    if "observed_percent" in raw:
        low = high = float(raw["observed_percent"])
    else:
        low, high = float(raw["observed_low"]), float(raw["observed_high"])
    return CalibrationRow(
        id=str(raw["id"]),
        set=cast(RowSet, str(raw["set"])),
        site=cast(ProjectedSite, str(raw["site"])),
        regimen=str(raw["regimen"]),
        months=int(raw["months"]),
        baseline_t=float(raw["baseline_t"]),
        target_t=float(raw["target_t"]),
        low=low,
        high=high,
        cite=str(raw["cite"]),
        evidence=str(raw["evidence"]),
        trial=str(raw.get("trial", "")),
        threshold_row=bool(raw.get("threshold_row", False)),
    )


@cache
def calibration_rows() -> tuple[CalibrationRow, ...]:
    """Every row of ``knowledge/calibration.toml``, in file order."""
    return tuple(_row(dict(r)) for r in knowledge().get("calibration.rows"))


def rows_in(which: RowSet) -> tuple[CalibrationRow, ...]:
    return tuple(r for r in calibration_rows() if r.set == which)


def predicted_percent(row: CalibrationRow) -> float:
    """The projection's probability (in percent) for the row's patient and regimen."""
    result = project(
        [Baseline.from_t_score(row.site, row.baseline_t)],
        parse_regimen(row.regimen),
        [TargetSpec(value=row.target_t, site=row.site)],
        row.months,
    )
    if result.probability_of_target is None:
        raise ValueError(f"calibration row {row.id}: the regimen is not projected")
    return result.probability_of_target * 100.0


@dataclass(frozen=True, slots=True)
class Fit:
    """Mean and worst absolute error (percentage points) and ordering agreement."""

    rows: int
    mean_error: float
    worst_error: float
    worst_row: str
    pairs: int
    pairs_agreeing: int
    disagreeing: tuple[tuple[str, str], ...]

    @property
    def orderings_agree(self) -> bool:
        return self.pairs_agreeing == self.pairs


def _comparable(a: CalibrationRow, b: CalibrationRow) -> bool:
    """Two rows of one analysis that differ in one thing only: the regimen, or the
    baseline T-score (threshold rows are excluded: their values are all 50 %)."""
    if a.cite != b.cite or a.site != b.site or a.target_t != b.target_t:
        return False
    if a.threshold_row or b.threshold_row or a.months != b.months:
        return False
    same_regimen = a.regimen == b.regimen
    return same_regimen != (a.baseline_t == b.baseline_t)


def ordering_pairs(rows: Sequence[CalibrationRow]) -> list[tuple[CalibrationRow, CalibrationRow]]:
    """Pairs whose published order is clear (the values or ranges do not overlap),
    higher first."""
    pairs: list[tuple[CalibrationRow, CalibrationRow]] = []
    for a, b in combinations(rows, 2):
        if not _comparable(a, b):
            continue
        if a.low > b.high:
            pairs.append((a, b))
        elif b.low > a.high:
            pairs.append((b, a))
    return pairs


def evaluate(
    rows: Sequence[CalibrationRow],
    predict: Callable[[CalibrationRow], float] = predicted_percent,
) -> tuple[Fit, dict[str, float]]:
    """Errors and ordering agreement of *predict* over *rows*; also each row's prediction."""
    predicted = {r.id: predict(r) for r in rows}
    errors = {r.id: r.error(predicted[r.id]) for r in rows}
    worst = max(errors, key=lambda k: errors[k]) if errors else ""
    pairs = ordering_pairs(rows)
    wrong = tuple((hi.id, lo.id) for hi, lo in pairs if not predicted[hi.id] > predicted[lo.id])
    fit = Fit(
        rows=len(rows),
        mean_error=sum(errors.values()) / len(errors) if errors else 0.0,
        worst_error=errors[worst] if errors else 0.0,
        worst_row=worst,
        pairs=len(pairs),
        pairs_agreeing=len(pairs) - len(wrong),
        disagreeing=wrong,
    )
    return fit, predicted
