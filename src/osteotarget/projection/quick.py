"""Fast path for one patient: probabilities and reported points without Projection objects.

For a fresh start (no ongoing course of the regimen's first drug, no on-treatment update)
everything except the T-score arithmetic depends only on (site, regimen, previous drug,
horizon): the mean path at the reported months, the months on each step and the spread
are cached per process (:func:`site_summary`). Per patient only a few scalar operations
and Φ remain — the same formulas, in the same order, as ``forecast.forecast_site`` and
``api.assemble`` (tested to agree), so the numbers are identical to the object API.
Assumptions and unverified inputs are not built here; callers that show them build the
full :class:`~osteotarget.projection.api.Projection` for those options only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from osteotarget.model.codes import Drug
from osteotarget.projection.api import (
    SUPPORTED_METRICS,
    TargetSpec,
    burden,
    projection_policy,
    rank_order_values,
    report_months,
)
from osteotarget.projection.baseline import BaselineEffect, baseline_effect
from osteotarget.projection.forecast import Baseline, site_reference
from osteotarget.projection.response import ProjectedSite
from osteotarget.projection.trajectory import Regimen, site_path
from osteotarget.projection.uncertainty import band_z, probability_scalar, response_spread


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """The patient-independent part of a site's forecast at the reported months."""

    months: tuple[int, ...]
    percent: tuple[float, ...]  # mean % change before the baseline factor
    bio_var: tuple[float, ...]  # individual-response variance (%²)
    effect: BaselineEffect | None
    ref_sd: float


@lru_cache(maxsize=8192)
def site_summary(
    site: ProjectedSite, regimen: Regimen, previous: Drug | None, horizon: int
) -> SiteSummary | None:
    path = site_path(site, regimen, previous, horizon)
    if path is None:
        return None
    first_drug, last_drug = regimen[0][0], regimen[-1][0]
    s1, s2 = response_spread(site, first_drug), response_spread(site, last_drug)
    rate_var = (s1.sd_percent / s1.reference_month) ** 2
    later_var = (s2.sd_percent / s2.reference_month) ** 2
    months = report_months(horizon)
    percent = tuple(float(path.multiplier[m] - 1.0) for m in months)
    bio = tuple(
        float(rate_var * path.first_months[m] ** 2 + later_var * path.later_months[m] ** 2)
        for m in months
    )
    return SiteSummary(
        months=months,
        percent=percent,
        bio_var=bio,
        effect=baseline_effect(site, first_drug),
        ref_sd=site_reference(site).sd,
    )


@dataclass(frozen=True, slots=True)
class QuickPoint:
    month: int
    site: ProjectedSite
    t_score: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class QuickResult:
    """Probability of every target (None: a target site has no data) and the points."""

    probability_of_target: float | None
    points: tuple[QuickPoint, ...]
    steps: int
    burden: int


def _site_points(
    baseline: Baseline, summary: SiteSummary, z: float
) -> tuple[list[QuickPoint], dict[int, tuple[float, float, float, float]]]:
    """Points at the reported months and, per month, (mean %, SD %, mean T, SD T)."""
    gain = 1.0 if summary.effect is None else summary.effect.factor(baseline.t_score)
    p = baseline.precision_percent
    per_percent = baseline.bmd / (100.0 * summary.ref_sd)
    points: list[QuickPoint] = []
    values: dict[int, tuple[float, float, float, float]] = {}
    for month, fraction, bio in zip(summary.months, summary.percent, summary.bio_var, strict=True):
        mean_percent = fraction * (100.0 * gain)
        meas = p * p * (1.0 + (1.0 + mean_percent / 100.0) ** 2)
        sd_percent = math.sqrt(bio + meas)
        mean_t = baseline.t_score + per_percent * mean_percent
        sd_t = per_percent * sd_percent
        values[month] = (mean_percent, sd_percent, mean_t, sd_t)
        points.append(
            QuickPoint(month, baseline.site, mean_t, mean_t - z * sd_t, mean_t + z * sd_t)
        )
    return points, values


def _probability(
    metric: str, operator: str, value: float, t0: float, at: tuple[float, float, float, float]
) -> float:
    mean_percent, sd_percent, mean_t, sd_t = at
    if metric == "t_score":
        return probability_scalar(mean_t, sd_t, operator, value)
    if metric == "t_score_change":
        return probability_scalar(mean_t - t0, sd_t, operator, value)
    return probability_scalar(mean_percent, sd_percent, operator, value)


def quick_project(
    baselines: Sequence[Baseline],
    regimen: Regimen,
    targets: Sequence[TargetSpec],
    horizon: int,
    previous: Drug | None = None,
) -> QuickResult:
    """Probability and points for a fresh start of *regimen*: the numbers of
    ``api.project(baselines, regimen, targets, horizon, previous)``, without provenance."""
    z = band_z()
    by_site = {b.site: b for b in baselines}  # as api.project: the last baseline of a site
    sites = list(by_site)
    points: list[QuickPoint] = []
    at_horizon: dict[ProjectedSite, tuple[float, float, float, float] | None] = {}
    for baseline in by_site.values():
        summary = site_summary(baseline.site, regimen, previous, horizon)
        if summary is None:
            at_horizon[baseline.site] = None
            continue
        site_points, values = _site_points(baseline, summary, z)
        points.extend(site_points)
        at_horizon[baseline.site] = values[horizon]
    # Same order as api.assemble: targets resolved per site, grouped by site.
    per_site: dict[ProjectedSite, list[float | None]] = {s: [] for s in sites}
    for target in targets:
        if target.metric not in SUPPORTED_METRICS:
            continue
        for site in [target.site] if target.site is not None else sites:
            if site not in by_site:
                continue
            at = at_horizon[site]
            per_site[site].append(
                None
                if at is None
                else _probability(
                    target.metric, target.operator, target.value, by_site[site].t_score, at
                )
            )
    flat = [v for site in sites for v in per_site[site]]
    overall: float | None = None
    if flat and all(v is not None for v in flat):
        known = [v for v in flat if v is not None]
        overall = min(known) if projection_policy().all_sites == "comonotone" else math.prod(known)
    return QuickResult(overall, tuple(points), len(regimen), burden(regimen))


def quick_rank(results: Sequence[QuickResult]) -> list[int]:
    """Indices from best to worst, by the same rule as ``api.rank_order``."""
    return rank_order_values([(r.probability_of_target, r.steps, r.burden) for r in results])
