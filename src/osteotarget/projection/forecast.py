"""Expected T-score path of one site under one regimen, with its spread (pure).

T(t) = T₀ + B₀ · (%Δ(t) / 100) / SD_ref: the percent change applies to BMD in g/cm², so a
given % gain is fewer T-units at a low BMD. Where only a T-score is known,
B₀ = reference mean + T₀ × SD_ref (densitometry.reference_for; spine: the configurable
spine reference in responses/policy.toml).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import overload

import numpy as np

from osteotarget.densitometry import default_precision, reference_for
from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug
from osteotarget.projection.baseline import BaselineEffect, baseline_effect
from osteotarget.projection.response import (
    FloatArray,
    ProjectedSite,
    Provenance,
    max_months,
    step_curve,
)
from osteotarget.projection.trajectory import Regimen, SitePath, site_path
from osteotarget.projection.uncertainty import (
    Shrinkage,
    probability_scalar,
    response_spread,
    shrink,
)


@dataclass(frozen=True, slots=True)
class SiteReference:
    mean: float
    sd: float
    cites: tuple[str, ...]
    unverified: tuple[str, ...] = ()


@cache
def site_reference(site: ProjectedSite) -> SiteReference:
    """Young-adult mean/SD used to turn % change into T-units at *site*."""
    ref = reference_for(site)
    if ref is not None:
        return SiteReference(mean=ref.mean, sd=ref.sd, cites=ref.citations)
    kb = knowledge()
    mean = kb.quantity("responses.policy.lumbar_spine_reference.mean")
    sd = kb.quantity("responses.policy.lumbar_spine_reference.sd")
    return SiteReference(
        mean=mean.value,
        sd=sd.value,
        cites=(mean.cite,),
        unverified=tuple(q.path for q in (mean, sd) if q.evidence == "unverified"),
    )


@overload
def bmd_for_t(site: ProjectedSite, t_score: float) -> float: ...
@overload
def bmd_for_t(site: ProjectedSite, t_score: FloatArray) -> FloatArray: ...
def bmd_for_t(site: ProjectedSite, t_score: float | FloatArray) -> float | FloatArray:
    """BMD (g/cm², reference scale) for a T-score: μ_ref + T·SD_ref (spine: policy reference)."""
    ref = site_reference(site)
    return ref.mean + t_score * ref.sd


def t_for_bmd(site: ProjectedSite, bmd: float) -> float:
    """T-score for a BMD on the reference scale: (BMD − μ_ref) / SD_ref (same references)."""
    ref = site_reference(site)
    return (bmd - ref.mean) / ref.sd


@lru_cache(maxsize=4096)
def _with_site(
    provenance: Provenance,
    site: ProjectedSite,
    first: Drug,
    last: Drug,
    effect: BaselineEffect | None,
) -> Provenance:
    """The path's provenance plus the spread, reference and baseline-effect inputs."""
    ref = site_reference(site)
    spreads = (response_spread(site, first), response_spread(site, last))
    cites = set(ref.cites).union(*(s.cites for s in spreads))
    unverified = set(ref.unverified).union(*(s.unverified for s in spreads))
    paths: frozenset[str] = frozenset()
    if effect is not None:
        cites |= effect.cites
        unverified |= effect.unverified
        paths = effect.paths
    merged = provenance.merge(
        Provenance(paths=paths, cites=frozenset(cites), unverified=frozenset(unverified))
    )
    if effect is None:
        return merged
    return merged.with_assumption(
        f"{site}: mean % change scaled for the baseline T-score (lower baselines gain more "
        "in percent; calibrated to published goal attainment, docs/model.md §10)."
    )


def precision_percent(site: ProjectedSite) -> float:
    precision = default_precision(site)
    if precision is None:
        raise KeyError(f"no default DXA precision on file for {site}")
    return precision.percent_cv


@dataclass(frozen=True, slots=True)
class Baseline:
    """A site's starting point: its T-score and BMD (g/cm²), and the scan precision (%CV)."""

    site: ProjectedSite
    t_score: float
    bmd: float
    precision_percent: float

    @classmethod
    def from_t_score(
        cls, site: ProjectedSite, t_score: float, precision: float | None = None
    ) -> Baseline:
        bmd = bmd_for_t(site, t_score)
        return cls(site, t_score, bmd, precision_percent(site) if precision is None else precision)


@dataclass(frozen=True, slots=True)
class Observed:
    """On-treatment response so far: % change from the scan at the course start to the
    latest scan, *months* apart, on the drug that the regimen continues (its first step)."""

    months: int
    percent_change: float


@dataclass(frozen=True, slots=True)
class SiteForecast:
    site: ProjectedSite
    baseline: Baseline
    mean_percent: FloatArray
    sd_percent: FloatArray
    mean_t: FloatArray
    sd_t: FloatArray
    provenance: Provenance
    shrinkage: Shrinkage | None = None

    def probability(self, metric: str, operator: str, value: float, month: int) -> float:
        if metric == "t_score":
            mean, sd = self.mean_t[month], self.sd_t[month]
        elif metric == "t_score_change":
            mean, sd = self.mean_t[month] - self.baseline.t_score, self.sd_t[month]
        elif metric == "bmd_percent_change":
            mean, sd = self.mean_percent[month], self.sd_percent[month]
        else:
            raise ValueError(f"metric '{metric}' is not projected")
        return probability_scalar(float(mean), float(sd), operator, value)


def forecast_site(
    baseline: Baseline,
    regimen: Regimen,
    previous: Drug | None,
    horizon: int,
    elapsed: int = 0,
    observed: Observed | None = None,
) -> SiteForecast | None:
    """Mean and SD of % change and T-score at months 0…horizon, or None (no data).

    With *observed* (continuing a course of ``regimen[0]`` for ``elapsed`` months, with a
    scan at the course start as *baseline*), the individual rate is updated (shrink()) and
    the path runs from the course start: month m of the output is ``elapsed + m`` months
    after that scan.
    """
    site = baseline.site
    path: SitePath | None = site_path(site, regimen, previous, horizon, elapsed)
    if path is None:
        return None
    first_drug, last_drug = regimen[0][0], regimen[-1][0]
    spread = response_spread(site, first_drug)
    later_spread = response_spread(site, last_drug)
    ref = site_reference(site)
    rate_var = (spread.sd_percent / spread.reference_month) ** 2
    later_var = (later_spread.sd_percent / later_spread.reference_month) ** 2
    effect = baseline_effect(site, first_drug)
    gain = 1.0 if effect is None else effect.factor(baseline.t_score)
    provenance = _with_site(path.provenance, site, first_drug, last_drug, effect)
    # Individual deviation (docs/model.md §4): one rate for the first step, u₁ ~ N(0, v₁),
    # and an independent one for the later steps, u₂ ~ N(0, later_var):
    #     Var = v₁ · a(t)² + later_var · b(t)²
    # a = months on the first step since the baseline scan, b = months on later steps.
    # v₁ = the first drug's rate variance without an observation, the posterior with one.
    # The mean % change is scaled by the baseline factor g (§10; 1 without an effect).
    months_first, other = path.first_months, path.later_months
    shrinkage: Shrinkage | None = None
    first_var = rate_var
    if observed is not None and observed.months > 0:
        curve = step_curve(first_drug, previous, site)
        last = max_months()
        expected_then = 0.0 if curve is None else float(curve.percent[min(observed.months, last)])
        expected_now = 0.0 if curve is None else float(curve.percent[min(elapsed, last)])
        expected_then *= gain
        shrinkage = shrink(
            observed.percent_change,
            expected_then,
            observed.months,
            spread,
            baseline.precision_percent,
        )
        first = elapsed + months_first
        level = (1.0 + expected_now / 100.0) * path.multiplier
        mean_percent = (level - 1.0) * (100.0 * gain) + shrinkage.rate_percent_per_month * first
        first_var = shrinkage.rate_variance
        provenance = provenance.with_assumption(
            f"{site}: observed {observed.percent_change:+.1f}% over {observed.months} months "
            f"vs {expected_then:+.1f}% expected; shrinkage weight {shrinkage.weight:.2f}."
        )
    else:
        first = months_first
        mean_percent = (path.multiplier - 1.0) * (100.0 * gain)
    bio_var = first_var * first**2 + later_var * other**2
    p = baseline.precision_percent
    meas_var = p * p * (1.0 + (1.0 + mean_percent / 100.0) ** 2)
    sd_percent = np.sqrt(bio_var + meas_var)
    per_percent = baseline.bmd / (100.0 * ref.sd)
    return SiteForecast(
        site=site,
        baseline=baseline,
        mean_percent=mean_percent,
        sd_percent=sd_percent,
        mean_t=baseline.t_score + per_percent * mean_percent,
        sd_t=per_percent * sd_percent,
        provenance=provenance,
        shrinkage=shrinkage,
    )


def shifted(forecast: SiteForecast, offset: int, horizon: int) -> SiteForecast:
    """*forecast* re-indexed so that month 0 is *offset* months after its baseline scan
    (values stay relative to that scan); months 0…horizon."""
    window = slice(offset, offset + horizon + 1)
    return SiteForecast(
        site=forecast.site,
        baseline=forecast.baseline,
        mean_percent=forecast.mean_percent[window],
        sd_percent=forecast.sd_percent[window],
        mean_t=forecast.mean_t[window],
        sd_t=forecast.sd_t[window],
        provenance=forecast.provenance,
        shrinkage=forecast.shrinkage,
    )
