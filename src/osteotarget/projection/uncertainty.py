"""Spread around the mean path: individual response and DXA precision; normal probabilities.

An individual's % change from the start = mean path + u × (months on treatment), with an
individual rate u ~ Normal(0, (σ / t_ref)²), σ = the site's SD of individual % change at
the reference month (DATA, RMS over arms). A measured T-score also carries the scan error
of the baseline and the future scan: precision (%CV) × BMD for each. Everything is a
normal approximation (docs/model.md §4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug
from osteotarget.projection.response import FloatArray, ProjectedSite


@dataclass(frozen=True, slots=True)
class ResponseSpread:
    sd_percent: float
    reference_month: float
    cites: tuple[str, ...]
    unverified: tuple[str, ...] = ()


@cache
def spread_scale(site: ProjectedSite) -> tuple[float, str]:
    """Calibrated multiplier of the SD of individual response at *site* and its path
    (responses/calibration.toml, fitted; docs/model.md §10)."""
    path = f"responses.calibration.spread_scale.{site}"
    return knowledge().number(path), path


@cache
def response_spread(site: ProjectedSite, drug: Drug | None = None) -> ResponseSpread:
    """SD of individual % change at the reference month for *drug* at *site*: DATA's arm
    SD where DATA reports the drug (denosumab, teriparatide), else the RMS of DATA's arms
    (an assumption for every other drug); times the site's calibrated spread scale."""
    kb = knowledge()
    base = f"responses.variability.sd_percent_at_reference.{site}"
    arms = kb.table(base)
    if drug is not None and drug in arms:
        sd = float(arms[drug])
    else:
        values = [float(v) for v in arms.values()]
        sd = math.sqrt(sum(v * v for v in values) / len(values))
    month = kb.quantity("responses.variability.reference.month")
    scale, scale_path = spread_scale(site)
    unverified = (scale_path,) if scale != 1.0 else ()  # noqa: knowledge (identity scale)
    return ResponseSpread(
        sd_percent=sd * scale,
        reference_month=month.value,
        cites=(
            str(kb.get("responses.variability.sd_percent_at_reference.cite")),
            month.cite,
            *(("osteotarget_calibration",) if unverified else ()),
        ),
        unverified=unverified,
    )


@cache
def band_z() -> float:
    coverage = knowledge().number("responses.policy.report.band_coverage")
    return NormalDist().inv_cdf(0.5 + coverage / 2.0)


_SQRT2 = math.sqrt(2.0)
# Abramowitz & Stegun 7.1.26 (absolute error of erf at most 1.5e-7): NumPy has no erf.
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_P = 0.3275911


def normal_cdf_scalar(x: float) -> float:
    """Standard normal CDF Φ(x) = ½·erfc(−x/√2), one value (math.erfc)."""
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_cdf(x: FloatArray) -> FloatArray:
    """Φ element-wise, the vectorised twin of :func:`normal_cdf_scalar`: the same
    ½·(1 + erf(x/√2)) with erf from A&S 7.1.26 (agrees with the scalar to < 1e-6; tested)."""
    z = np.asarray(x, dtype=np.float64) / _SQRT2
    a = np.abs(z)
    t = 1.0 / (1.0 + _P * a)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    erf_abs = 1.0 - poly * np.exp(-a * a)
    result: FloatArray = 0.5 * (1.0 + np.where(z >= 0, erf_abs, -erf_abs))
    return result


def probability_above(mean: FloatArray, sd: FloatArray, threshold: float) -> FloatArray:
    """P(X > threshold) for X ~ Normal(mean, sd²), element-wise; sd 0 gives 0 or 1."""
    safe = np.where(sd > 0, sd, 1.0)
    p = normal_cdf((mean - threshold) / safe)
    return np.where(sd > 0, p, (mean > threshold).astype(np.float64))


def probability_scalar(mean: float, sd: float, operator: str, threshold: float) -> float:
    """P(X op threshold) for X ~ Normal(mean, sd²), one value (same Φ as the arrays)."""
    if operator in (">", ">="):
        sign = 1.0
    elif operator in ("<", "<="):
        sign = -1.0
    else:
        raise ValueError(f"operator '{operator}' has no probability (use >, >=, < or <=)")
    if sd <= 0:
        return 1.0 if sign * (mean - threshold) > 0 else 0.0
    return normal_cdf_scalar(sign * (mean - threshold) / sd)


@dataclass(frozen=True, slots=True)
class Shrinkage:
    """Posterior of an individual's rate from an observed on-treatment change."""

    rate_percent_per_month: float
    rate_variance: float
    weight: float
    expected_percent: float
    observed_percent: float


def shrink(
    observed_percent: float,
    expected_percent: float,
    months: float,
    spread: ResponseSpread,
    precision_percent: float,
) -> Shrinkage:
    """Gaussian update of the individual rate u from one observed change over *months*.

    Prior u ~ N(0, (σ/t_ref)²); observed deviation d = observed − expected = u·m + ε,
    ε ~ N(0, p²(1 + (1 + observed/100)²)) (two scans). Weight w = v_b / (v_b + v_ε) with
    v_b = (σ·m/t_ref)²; posterior mean of u = w·d/m, variance (1 − w)·(σ/t_ref)².
    """
    prior_rate_var = (spread.sd_percent / spread.reference_month) ** 2
    v_b = prior_rate_var * months * months
    v_e = precision_percent**2 * (1.0 + (1.0 + observed_percent / 100.0) ** 2)
    weight = v_b / (v_b + v_e) if v_b + v_e > 0 else 0.0
    deviation = observed_percent - expected_percent
    rate = weight * deviation / months if months > 0 else 0.0
    return Shrinkage(
        rate_percent_per_month=rate,
        rate_variance=(1.0 - weight) * prior_rate_var,
        weight=weight,
        expected_percent=expected_percent,
        observed_percent=observed_percent,
    )
