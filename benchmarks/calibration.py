"""Calibration: the projection against published goal attainment (knowledge/calibration.toml).

Prints, for the FIT rows and the HELD-OUT rows separately, the mean and worst absolute
error in percentage points and whether the published orderings (regimen against regimen,
baseline against baseline, within one analysis) are reproduced; then every row.

    .venv/bin/python benchmarks/calibration.py          # the figures
    .venv/bin/python benchmarks/calibration.py --fit    # also the grid search on FIT rows
"""

from __future__ import annotations

import sys

import numpy as np

from osteotarget.knowledge import knowledge
from osteotarget.projection import parse_regimen, site_path
from osteotarget.projection.baseline import drug_kind
from osteotarget.projection.calibration import CalibrationRow, evaluate, rows_in
from osteotarget.projection.forecast import bmd_for_t, precision_percent, site_reference
from osteotarget.projection.response import ProjectedSite
from osteotarget.projection.uncertainty import normal_cdf, response_spread, spread_scale


def _components(row: CalibrationRow) -> tuple[str, float, float, float, float, float]:
    """(slope kind, mean %, unscaled biological variance, precision %, BMD, T per %·BMD)
    of the model at the row's horizon, for the grid search (same formulas as
    forecast.forecast_site without an observation)."""
    regimen = parse_regimen(row.regimen)
    path = site_path(row.site, regimen, None, row.months)
    assert path is not None
    first, later = regimen[0][0], regimen[-1][0]
    scale, _ = spread_scale(row.site)
    s1, s2 = response_spread(row.site, first), response_spread(row.site, later)
    a = float(path.first_months[row.months])
    b = float(path.later_months[row.months])
    bio = ((s1.sd_percent * a / s1.reference_month) ** 2) + (
        (s2.sd_percent * b / s2.reference_month) ** 2
    )
    mean = (float(path.multiplier[row.months]) - 1.0) * 100.0
    bmd = bmd_for_t(row.site, row.baseline_t)
    return (
        drug_kind(first),
        mean,
        bio / (scale * scale),
        precision_percent(row.site),
        bmd,
        site_reference(row.site).sd,
    )


def fit(site: ProjectedSite) -> tuple[float, float, float, float]:
    """Grid search on the FIT rows of *site*: (anabolic slope, antiresorptive slope,
    spread scale, mean |error|) minimising the mean absolute error."""
    kb = knowledge()
    base = "responses.calibration.baseline_effect"
    pivot = kb.number(f"{base}.pivot_t.{site}")
    low, high = kb.number(f"{base}.min_factor"), kb.number(f"{base}.max_factor")
    rows = [r for r in rows_in("fit") if r.site == site]
    slopes = np.round(np.arange(0.0, 2.501, 0.05), 2)
    scales = np.round(np.arange(0.5, 2.501, 0.05), 2)
    sa, sr, k = np.meshgrid(slopes, slopes, scales, indexing="ij")
    total = np.zeros_like(sa)
    for row in rows:
        kind, mean, bio, p, bmd, ref_sd = _components(row)
        slope = sa if kind == "anabolic" else sr
        gain = np.clip(1.0 + slope * (pivot - row.baseline_t), low, high)
        pct = mean * gain
        sd = np.sqrt(bio * k * k + p * p * (1.0 + (1.0 + pct / 100.0) ** 2))
        per = bmd / (100.0 * ref_sd)
        z = (row.baseline_t + per * pct - row.target_t) / (per * sd)
        prob = 100.0 * normal_cdf(z)
        total += np.where(
            prob < row.low, row.low - prob, np.where(prob > row.high, prob - row.high, 0.0)
        )
    mean_error = total / len(rows)
    best = np.unravel_index(int(np.argmin(mean_error)), mean_error.shape)
    return float(sa[best]), float(sr[best]), float(k[best]), float(mean_error[best])


def main() -> None:
    for which in ("fit", "held_out"):
        rows = rows_in(which)
        fit, predicted = evaluate(rows)
        label = "FIT" if which == "fit" else "HELD-OUT"
        agree = "yes" if fit.orderings_agree else f"no {list(fit.disagreeing)}"
        print(
            f"{label:8s} rows {fit.rows:2d}: mean |error| {fit.mean_error:5.1f} pp, "
            f"worst {fit.worst_error:5.1f} pp ({fit.worst_row}); "
            f"orderings agree: {agree} ({fit.pairs_agreeing}/{fit.pairs} pairs)"
        )
        for row in rows:
            published = f"{row.low:g}" if row.low == row.high else f"{row.low:g}–{row.high:g}"
            print(
                f"    {row.id:28s} published {published:>6s} %  projected "
                f"{predicted[row.id]:5.1f} %  |error| {row.error(predicted[row.id]):4.1f}  "
                f"[{row.cite}, {row.evidence}]"
            )


if __name__ == "__main__":
    if "--fit" in sys.argv:
        for fit_site in ("total_hip", "lumbar_spine"):
            anabolic, antiresorptive, scale, error = fit(fit_site)  # type: ignore[arg-type]
            print(
                f"{fit_site}: slope anabolic {anabolic:.2f}, antiresorptive "
                f"{antiresorptive:.2f} per T; spread scale {scale:.2f} "
                f"(FIT mean |error| {error:.1f} pp)"
            )
    main()
