"""Vectorised projection for many patients (NumPy): same model as api.project.

For fresh starts the mean path of a regimen does not depend on the patient, so each
(regimen, site) path is computed once; per patient only the T-score arithmetic and the
normal probability remain, done on (patients × regimens) arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from osteotarget.model.codes import Drug
from osteotarget.projection.api import TIE_EPS, burden, projection_policy, ranking_key
from osteotarget.projection.baseline import baseline_effect
from osteotarget.projection.forecast import bmd_for_t, precision_percent, site_reference
from osteotarget.projection.response import FloatArray, ProjectedSite
from osteotarget.projection.trajectory import Regimen, site_path
from osteotarget.projection.uncertainty import probability_above, response_spread


@dataclass(frozen=True, slots=True)
class BatchResult:
    """probability[i, r]: patient i reaches every target under regimen r (NaN: unknown).
    expected_t[site][i, r]: mean T-score at the horizon. best[i]: index of the top-ranked
    regimen (−1 if none could be projected)."""

    probability: FloatArray
    expected_t: Mapping[ProjectedSite, FloatArray]
    best: np.ndarray


def best_by_rank(probability: FloatArray, preference: Sequence[int], tie: float) -> np.ndarray:
    """Per row, the column ranked first: greedy tie groups exactly as api.tie_groups (sorted
    by probability, the first group is the top value and everything within *tie* of it),
    then the lowest *preference* (rank of steps, burden, input order). −1 where a row has
    no projectable column."""
    n, r = probability.shape
    missing = np.isnan(probability)
    values = np.where(missing, -1.0, probability)  # below every probability
    order = np.argsort(-values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    group_sorted = np.zeros((n, r), dtype=np.int64)
    top = ordered[:, 0].copy()
    group = np.zeros(n, dtype=np.int64)
    for j in range(1, r):
        new = top - ordered[:, j] > tie + TIE_EPS
        group = group + new
        top = np.where(new, ordered[:, j], top)
        group_sorted[:, j] = group
    groups = np.empty_like(group_sorted)
    np.put_along_axis(groups, order, group_sorted, axis=1)
    rank = np.asarray(preference, dtype=np.float64)[None, :]
    score = np.where((groups == 0) & ~missing, rank, np.inf)
    best = np.argmin(score, axis=1)
    return np.where(missing.all(axis=1), -1, best)


def rank_many(
    t_scores: Mapping[ProjectedSite, FloatArray],
    regimens: Sequence[Regimen],
    target_t_score: float,
    horizon_months: int,
    previous: Drug | None = None,
) -> BatchResult:
    """Probability of T > *target_t_score* at every measured site, for each patient and
    regimen. ``t_scores[site]`` is an (N,) array; NaN marks a site not measured."""
    sites = list(t_scores)
    n = len(next(iter(t_scores.values()))) if sites else 0
    r = len(regimens)
    policy = projection_policy()
    combined = np.ones((n, r), dtype=np.float64)
    expected: dict[ProjectedSite, FloatArray] = {}
    for site in sites:
        t0 = np.asarray(t_scores[site], dtype=np.float64)[:, None]
        ref = site_reference(site)
        p = precision_percent(site)
        mean_pct = np.full(r, np.nan)
        bio_var = np.full(r, np.nan)
        gain = np.ones((t0.shape[0], r), dtype=np.float64)
        for j, regimen in enumerate(regimens):
            path = site_path(site, regimen, previous, horizon_months)
            if path is None:
                continue
            m = float(path.multiplier[horizon_months])
            # Same spread as forecast_site: first step and later steps, independent rates,
            # each with its own drug's SD.
            first = float(path.first_months[horizon_months])
            later = float(path.later_months[horizon_months])
            s1 = response_spread(site, regimen[0][0])
            s2 = response_spread(site, regimen[-1][0])
            bio_var[j] = (s1.sd_percent * first / s1.reference_month) ** 2 + (
                s2.sd_percent * later / s2.reference_month
            ) ** 2
            mean_pct[j] = (m - 1.0) * 100.0
            effect = baseline_effect(site, regimen[0][0])
            if effect is not None:
                gain[:, j] = effect.factors(t0[:, 0])
        scaled = mean_pct[None, :] * gain
        sd_pct = np.sqrt(bio_var[None, :] + p * p * (1.0 + (1.0 + scaled / 100.0) ** 2))
        per_percent = bmd_for_t(site, t0) / (100.0 * ref.sd)
        mean_t = t0 + per_percent * scaled
        sd_t = per_percent * sd_pct
        prob = probability_above(mean_t, sd_t, target_t_score)
        prob = np.where(np.isnan(mean_pct)[None, :], np.nan, prob)
        measured = ~np.isnan(t0)
        prob = np.where(measured, prob, 1.0)
        combined = (
            np.minimum(combined, prob) if policy.all_sites == "comonotone" else combined * prob
        )
        expected[site] = np.where(measured, mean_t, np.nan)
    if not sites:
        combined = np.full((n, r), np.nan)
    keys = [ranking_key(0, len(reg), burden(reg)) for reg in regimens]
    order = sorted(range(r), key=lambda j: keys[j])
    preference = [0] * r
    for position, j in enumerate(order):
        preference[j] = position
    best = best_by_rank(combined, preference, policy.probability_tie)
    return BatchResult(probability=combined, expected_t=expected, best=best)
