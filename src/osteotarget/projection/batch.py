"""Vectorised projection for many patients (NumPy): same model as api.project.

For fresh starts the mean path of a regimen does not depend on the patient, so each
(regimen, site) path is computed once; per patient only the T-score arithmetic and the
normal probability remain, done on (patients × regimens) arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug
from osteotarget.projection.api import burden, projection_policy, ranking_key
from osteotarget.projection.forecast import precision_percent, site_reference
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
    all_sites = str(knowledge().get("responses.policy.ranking.all_sites"))
    combined = np.ones((n, r), dtype=np.float64)
    expected: dict[ProjectedSite, FloatArray] = {}
    for site in sites:
        t0 = np.asarray(t_scores[site], dtype=np.float64)[:, None]
        ref = site_reference(site)
        spread = response_spread(site)
        p = precision_percent(site)
        mean_pct = np.full(r, np.nan)
        sd_pct = np.full(r, np.nan)
        for j, regimen in enumerate(regimens):
            path = site_path(site, regimen, previous, horizon_months)
            if path is None:
                continue
            m = float(path.multiplier[horizon_months])
            months_on = float(path.treated_months[horizon_months])
            bio = (spread.sd_percent * months_on / spread.reference_month) ** 2
            mean_pct[j] = (m - 1.0) * 100.0
            sd_pct[j] = math.sqrt(bio + p * p * (1.0 + m * m))
        per_percent = (ref.mean + t0 * ref.sd) / (100.0 * ref.sd)
        mean_t = t0 + per_percent * mean_pct[None, :]
        sd_t = per_percent * sd_pct[None, :]
        prob = probability_above(mean_t, sd_t, target_t_score)
        prob = np.where(np.isnan(mean_pct)[None, :], np.nan, prob)
        measured = ~np.isnan(t0)
        prob = np.where(measured, prob, 1.0)
        combined = np.minimum(combined, prob) if all_sites == "comonotone" else combined * prob
        expected[site] = np.where(measured, mean_t, np.nan)
    if not sites:
        combined = np.full((n, r), np.nan)
    keys = [ranking_key(0.0, len(reg), burden(reg)) for reg in regimens]
    tie = projection_policy()[2]
    bucket = np.floor(np.nan_to_num(combined, nan=-1.0) / tie + 0.5)
    # Higher bucket first, then fewer steps, then lower burden, then input order.
    order_penalty = np.array(
        [k[2] * (r + 1) * 100 + k[3] * (r + 1) + j for j, k in enumerate(keys)], dtype=np.float64
    )
    score = bucket * (order_penalty.max() + 1.0) - order_penalty[None, :]
    score = np.where(np.isnan(combined), -np.inf, score)
    best = np.where(np.all(np.isnan(combined), axis=1), -1, np.argmax(score, axis=1))
    return BatchResult(probability=combined, expected_t=expected, best=best)
