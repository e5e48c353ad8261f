"""Baseline-dependent response: lower baselines gain more in percent (docs/model.md §10).

    g(T₀) = clip(1 + slope × (pivot_t − T₀), min_factor, max_factor)

multiplies the mean % change of a regimen at a site; the slope is chosen by the class of
the regimen's first drug (anabolic or antiresorptive). Parameters: responses/calibration.toml
(fitted to published goal attainment, unverified; pivots: ARCH mean baselines). A site
without an entry (femoral neck) has g = 1. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug
from osteotarget.projection.response import FloatArray, ProjectedSite, drug_infos

_BASE = "responses.calibration.baseline_effect"


@dataclass(frozen=True, slots=True)
class BaselineEffect:
    pivot_t: float
    slope: float
    min_factor: float
    max_factor: float
    paths: frozenset[str]
    cites: frozenset[str]
    unverified: frozenset[str]

    def factor(self, t_score: float) -> float:
        raw = 1.0 + self.slope * (self.pivot_t - t_score)
        return min(max(raw, self.min_factor), self.max_factor)

    def factors(self, t_scores: FloatArray) -> FloatArray:
        raw = 1.0 + self.slope * (self.pivot_t - np.asarray(t_scores, dtype=np.float64))
        out: FloatArray = np.clip(raw, self.min_factor, self.max_factor)
        return out


@cache
def _anabolic_classes() -> frozenset[str]:
    return frozenset(str(c) for c in knowledge().get(f"{_BASE}.anabolic_classes"))


def drug_kind(drug: Drug) -> str:
    """ "anabolic" or "antiresorptive": which slope applies to a regimen starting with *drug*."""
    return "anabolic" if drug_infos()[drug].drug_class in _anabolic_classes() else "antiresorptive"


@cache
def baseline_effect(site: ProjectedSite, first_drug: Drug) -> BaselineEffect | None:
    """The site's baseline effect for a regimen whose first drug is *first_drug*; None when
    the site has no entry or the slope is 0 (no effect, nothing to report)."""
    kb = knowledge()
    if site not in kb.table(f"{_BASE}.pivot_t"):
        return None
    slope_path = f"{_BASE}.slope_per_t.{site}.{drug_kind(first_drug)}"
    slope = kb.quantity(slope_path)
    if slope.value == 0.0:  # noqa: knowledge (no effect configured)
        return None
    pivot = kb.quantity(f"{_BASE}.pivot_t.{site}")
    low, high = kb.quantity(f"{_BASE}.min_factor"), kb.quantity(f"{_BASE}.max_factor")
    quantities = (slope, pivot, low, high)
    return BaselineEffect(
        pivot_t=pivot.value,
        slope=slope.value,
        min_factor=low.value,
        max_factor=high.value,
        paths=frozenset(q.path for q in quantities),
        cites=frozenset(q.cite for q in quantities),
        unverified=frozenset(q.path for q in quantities if q.evidence == "unverified"),
    )
