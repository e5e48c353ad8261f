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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np
import numpy.typing as npt

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
from osteotarget.projection.response import FloatArray, ProjectedSite
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


# (month, site, expected T-score, band low, band high): plain tuples, built in C by zip().
QuickPoint = tuple[int, ProjectedSite, float, float, float]


@dataclass(frozen=True, slots=True)
class QuickResult:
    """Probability of every target (None: a target site has no data) and the points."""

    probability_of_target: float | None
    points: tuple[QuickPoint, ...]
    steps: int
    burden: int


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
    return quick_many(baselines, [(regimen, previous)], targets, horizon)[0]


@dataclass(frozen=True, slots=True)
class Stacked:
    """Site summaries of several (regimen, previous drug) pairs at several sites as
    (sites × regimens × months) arrays; a regimen without data for a site is NaN there
    (``known`` False). Rows without a baseline effect have slope 0 and bounds [1, 1]."""

    months: tuple[int, ...]
    percent: FloatArray
    bio_var: FloatArray
    known: npt.NDArray[np.bool_]
    slope: FloatArray
    pivot: FloatArray
    low: FloatArray
    high: FloatArray
    ref_sd: tuple[float, ...]


@lru_cache(maxsize=4096)
def stacked(
    sites: tuple[ProjectedSite, ...],
    pairs: tuple[tuple[Regimen, Drug | None], ...],
    horizon: int,
) -> Stacked:
    months = report_months(horizon)
    blank = (math.nan,) * len(months)
    summaries = [
        [site_summary(site, regimen, previous, horizon) for regimen, previous in pairs]
        for site in sites
    ]
    effects = [[s.effect if s is not None else None for s in row] for row in summaries]

    def grid(pick: Callable[[BaselineEffect], float], default: float) -> FloatArray:
        return np.array([[pick(e) if e is not None else default for e in row] for row in effects])

    out = Stacked(
        months=months,
        percent=np.array([[s.percent if s else blank for s in row] for row in summaries]),
        bio_var=np.array([[s.bio_var if s else blank for s in row] for row in summaries]),
        known=np.array([[s is not None for s in row] for row in summaries], dtype=np.bool_),
        slope=grid(lambda e: e.slope, 0.0),
        pivot=grid(lambda e: e.pivot_t, 0.0),
        low=grid(lambda e: e.min_factor, 1.0),
        high=grid(lambda e: e.max_factor, 1.0),
        ref_sd=tuple(site_reference(site).sd for site in sites),
    )
    for array in (out.percent, out.bio_var, out.known, out.slope, out.pivot, out.low, out.high):
        array.setflags(write=False)
    return out


def quick_many(
    baselines: Sequence[Baseline],
    pairs: Sequence[tuple[Regimen, Drug | None]],
    targets: Sequence[TargetSpec],
    horizon: int,
) -> list[QuickResult]:
    """:func:`quick_project` for several (regimen, previous drug) pairs at once: the
    T-score arithmetic on (sites × regimens × months) arrays (the vectorised path); the
    probabilities with the scalar Φ of the object API, so the numbers are identical."""
    return [
        QuickResult(probability, tuple(points), len(regimen), burden(regimen))
        for (regimen, _), (probability, points) in zip(
            pairs, quick_numbers(baselines, pairs, targets, horizon), strict=True
        )
    ]


def quick_numbers(
    baselines: Sequence[Baseline],
    pairs: Sequence[tuple[Regimen, Drug | None]],
    targets: Sequence[TargetSpec],
    horizon: int,
) -> list[tuple[float | None, list[QuickPoint]]]:
    """(probability of every target, points) of :func:`quick_many`, without the ranking
    fields (what the engine's options need)."""
    z = band_z()
    by_site = {b.site: b for b in baselines}
    sites = tuple(by_site)
    key = tuple(pairs)
    n = len(key)
    points: list[list[QuickPoint]] = [[] for _ in range(n)]
    at_horizon: dict[ProjectedSite, list[tuple[float, float, float, float] | None]] = {}
    if sites:
        st = stacked(sites, key, horizon)
        chosen = list(by_site.values())
        t0 = np.array([b.t_score for b in chosen])[:, None]
        p = np.array([b.precision_percent for b in chosen])[:, None, None]
        per_percent = np.array(
            [b.bmd / (100.0 * ref_sd) for b, ref_sd in zip(chosen, st.ref_sd, strict=True)]
        )[:, None, None]
        gain = np.minimum(np.maximum(1.0 + st.slope * (st.pivot - t0), st.low), st.high)
        mean_percent = st.percent * (100.0 * gain[:, :, None])
        meas = p * p * (1.0 + (1.0 + mean_percent / 100.0) ** 2)
        sd_percent = np.sqrt(st.bio_var + meas)
        mean_t = t0[:, :, None] + per_percent * mean_percent
        sd_t = per_percent * sd_percent
        lows, highs = (mean_t - z * sd_t).tolist(), (mean_t + z * sd_t).tolist()
        means, sds = mean_t.tolist(), sd_t.tolist()
        pcts, spcts = mean_percent.tolist(), sd_percent.tolist()
        known = st.known.tolist()
        last = len(st.months) - 1
        for i, site in enumerate(sites):
            column: list[tuple[float, float, float, float] | None] = []
            for j in range(n):
                if not known[i][j]:
                    column.append(None)
                    continue
                row_mean = means[i][j]
                points[j].extend(zip(st.months, repeat(site), row_mean, lows[i][j], highs[i][j]))
                column.append(
                    (pcts[i][j][last], spcts[i][j][last], row_mean[last], sds[i][j][last])
                )
            at_horizon[site] = column
    # Every (site, target) pair priced, site by site and within a site in target order
    # (the order the probabilities are combined in): the same for every regimen.
    per_site: dict[ProjectedSite, list[TargetSpec]] = {s: [] for s in sites}
    for target in targets:
        if target.metric not in SUPPORTED_METRICS:
            continue
        for site in [target.site] if target.site is not None else sites:
            if site in by_site:
                per_site[site].append(target)
    priced = [
        (at_horizon[site], t.metric, t.operator, t.value, by_site[site].t_score)
        for site in sites
        for t in per_site[site]
    ]
    results: list[tuple[float | None, list[QuickPoint]]] = []
    combine_min = projection_policy().all_sites == "comonotone"
    for j in range(n):
        overall: float | None = None
        if priced and all(column[j] is not None for column, *_ in priced):
            known_p = [
                _probability(metric, operator, value, t0, column[j])  # type: ignore[arg-type]
                for column, metric, operator, value, t0 in priced
            ]
            overall = min(known_p) if combine_min else math.prod(known_p)
        results.append((overall, points[j]))
    return results


def quick_rank(results: Sequence[QuickResult]) -> list[int]:
    """Indices from best to worst, by the same rule as ``api.rank_order``."""
    return rank_order_values([(r.probability_of_target, r.steps, r.burden) for r in results])
