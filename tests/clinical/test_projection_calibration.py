"""Calibration of the projection to published goal attainment (docs/model.md §10).

Rows: knowledge/calibration.toml — Cosman 2021 JBMR Plus (FRAME/FRAME extension, ARCH),
Cosman 2024 JBMR doi:10.1093/jbmr/zjae116 (FRAME/extension), Cosman 2025 JBMR
doi:10.1093/jbmr/zjaf014 (FREEDOM/extension). The calibration parameters
(responses/calibration.toml) were fitted on the FIT rows only; HELD-OUT rows test them.

Tolerances (percentage points, absolute):
* 8 pp for a FIT row: the same regimen from the same baseline differs by 7 pp between two
  trials (romosozumab 12 months from total hip −2.7: 71 % in one of FRAME/ARCH, 78 % in
  the other; Cosman 2021), so a model pooled across trials cannot be held closer than that.
* 15 pp for the two FIT rows at the ends of the FREEDOM table (total hip −2.7, lumbar
  spine −3.5): Cosman 2025's probabilities follow a logistic curve in the baseline that is
  steeper than a normal model with one spread per site can follow at both ends; the grid
  search's optimum leaves 13–14 pp there (a known misfit, docs/model.md §10).
* 12 pp for a HELD-OUT row: the 8 pp above plus 4 pp because these rows lie outside the fit
  (another horizon or another analysis), and for the "50 % at baseline T" rows the
  baseline is given to 0.1 T, which moves the probability by about 4 pp per 0.05 T here.
"""

from __future__ import annotations

import pytest

from osteotarget.projection.calibration import (
    CalibrationRow,
    calibration_rows,
    evaluate,
    predicted_percent,
    rows_in,
)

FIT_TOLERANCE = 8.0
FIT_EDGE_TOLERANCE = 15.0
FIT_EDGE_ROWS = {"th_dmab_36_from_-2.7", "ls_dmab_36_from_-3.5"}
HELD_OUT_TOLERANCE = 12.0


def _tolerance(row: CalibrationRow) -> float:
    if row.set == "held_out":
        return HELD_OUT_TOLERANCE
    return FIT_EDGE_TOLERANCE if row.id in FIT_EDGE_ROWS else FIT_TOLERANCE


def test_rows_are_cited_and_split_before_fitting() -> None:
    rows = calibration_rows()
    assert len({r.id for r in rows}) == len(rows)
    assert {r.set for r in rows} == {"fit", "held_out"}
    assert len(rows_in("fit")) >= 10 and len(rows_in("held_out")) >= 10
    assert all(r.cite and r.evidence in ("verified", "secondary", "unverified") for r in rows)


@pytest.mark.parametrize("row", calibration_rows(), ids=lambda r: f"{r.set}:{r.id}")
def test_each_row_within_its_tolerance(row: CalibrationRow) -> None:
    """Each published probability is reproduced within the row's tolerance (see above)."""
    predicted = predicted_percent(row)
    assert row.error(predicted) <= _tolerance(row), (row.id, predicted, row.low, row.high)


@pytest.mark.parametrize("which", ["fit", "held_out"])
def test_published_orderings_are_reproduced(which: str) -> None:
    """Within one analysis, a regimen that reached the target more often is projected
    higher, and so is a higher baseline under the same regimen."""
    fit, _ = evaluate(rows_in(which))  # type: ignore[arg-type]
    assert fit.pairs > 0
    assert fit.orderings_agree, fit.disagreeing


def test_mean_errors_after_calibration() -> None:
    """Before calibration: FIT mean 8.9 pp (worst 28.2), HELD-OUT mean 6.5 pp (worst 23.8).
    The fit must stay well below the former, and the held-out rows must not get worse."""
    fit, _ = evaluate(rows_in("fit"))
    held, _ = evaluate(rows_in("held_out"))
    assert fit.mean_error <= 5.0
    assert held.mean_error <= 6.5
    assert held.worst_error <= HELD_OUT_TOLERANCE


def test_romosozumab_then_denosumab_from_total_hip_minus_3() -> None:
    """The issue's gap: FRAME romosozumab → denosumab from total hip −3.0 reached T > −2.5 in
    61 % at 36 months (Cosman 2021, FIT) and 50 % at 24 months (Cosman 2024, HELD OUT); the
    uncalibrated model gave 33 % and 26 %. Both now lie within 10 pp."""
    by_id = {r.id: r for r in calibration_rows()}
    for key in ("th_romo_dmab_36_from_-3.0", "th_romo_dmab_24_from_-3.0"):
        row = by_id[key]
        assert row.error(predicted_percent(row)) <= 10.0


def test_calibration_parameters_are_the_fit_on_the_fit_rows() -> None:
    """responses/calibration.toml holds what benchmarks/calibration.py --fit finds on the
    FIT rows (grid search), so no parameter is hand-tuned or fitted to held-out rows."""
    import importlib.util
    from pathlib import Path

    from osteotarget.knowledge import knowledge

    path = Path(__file__).parents[2] / "benchmarks" / "calibration.py"
    spec = importlib.util.spec_from_file_location("calibration_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kb = knowledge()
    base = "responses.calibration"
    for site in ("total_hip", "lumbar_spine"):
        anabolic, antiresorptive, scale, _ = module.fit(site)
        assert anabolic == kb.number(f"{base}.baseline_effect.slope_per_t.{site}.anabolic")
        assert antiresorptive == kb.number(
            f"{base}.baseline_effect.slope_per_t.{site}.antiresorptive"
        )
        assert scale == kb.number(f"{base}.spread_scale.{site}")
