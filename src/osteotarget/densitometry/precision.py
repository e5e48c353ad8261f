"""Precision and least significant change (ISCD).

A facility precision study (15 patients × 3 scans, or 30 × 2) gives the root-mean-square
SD (RMS-SD, g/cm²) of repeat scans, with degrees of freedom Σ(nᵢ − 1) (Glüer 1995).
LSC (95%) = 2.77 × precision. Without a facility study the ISCD minimum acceptable
precision (%CV) is used and marked as a default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Site

LscSource = Literal["facility", "iscd_minimum_default"]


@dataclass(frozen=True, slots=True)
class PrecisionStudy:
    """Result of a precision study: RMS-SD (g/cm²), %CV (RMS), degrees of freedom, LSC."""

    rms_sd_g_cm2: float
    rms_cv_percent: float
    degrees_of_freedom: int
    patients: int
    lsc_g_cm2: float
    lsc_percent: float
    meets_recommended_design: bool


@dataclass(frozen=True, slots=True)
class Precision:
    """The precision used for one site: g/cm² when a facility study exists, else %CV."""

    site: Site
    source: LscSource
    percent_cv: float
    rms_sd_g_cm2: float | None = None

    def lsc_percent(self) -> float:
        return lsc_multiplier() * self.percent_cv

    def lsc_g_cm2(self, baseline_bmd: float | None) -> float | None:
        if self.rms_sd_g_cm2 is not None:
            return lsc_multiplier() * self.rms_sd_g_cm2
        if baseline_bmd is None:
            return None
        return self.lsc_percent() / 100.0 * baseline_bmd


def lsc_multiplier() -> float:
    return knowledge().number("precision.lsc.multiplier")


def _designs() -> list[tuple[int, int]]:
    table = knowledge().table("precision.precision_study")
    return [(int(d["patients"]), int(d["scans"])) for d in table["designs"]]


def precision_study(scans_per_patient: Sequence[Sequence[float]]) -> PrecisionStudy:
    """RMS-SD precision from repeat scans (g/cm²), one inner sequence per patient.

    Each patient needs ≥ 2 scans. RMS-SD = sqrt(Σ Σ (xᵢⱼ − x̄ᵢ)² / Σ(nᵢ − 1)).
    """
    if not scans_per_patient:
        raise ValueError("precision study: no patients")
    squares = 0.0
    cv_squares = 0.0
    dof = 0
    for index, scans in enumerate(scans_per_patient):
        if len(scans) < 2:
            raise ValueError(f"precision study: patient {index + 1} has {len(scans)} scan(s); ≥ 2")
        mean = sum(scans) / len(scans)
        if mean <= 0:
            raise ValueError(f"precision study: patient {index + 1} has a non-positive mean BMD")
        ss = sum((x - mean) ** 2 for x in scans)
        squares += ss
        cv_squares += ss / mean**2
        dof += len(scans) - 1
    rms_sd = math.sqrt(squares / dof)
    rms_cv = 100.0 * math.sqrt(cv_squares / dof)
    n = len(scans_per_patient)
    counts = {len(s) for s in scans_per_patient}
    meets = any(n >= patients and min(counts) >= scans for patients, scans in _designs())
    return PrecisionStudy(
        rms_sd_g_cm2=rms_sd,
        rms_cv_percent=rms_cv,
        degrees_of_freedom=dof,
        patients=n,
        lsc_g_cm2=lsc_multiplier() * rms_sd,
        lsc_percent=lsc_multiplier() * rms_cv,
        meets_recommended_design=meets,
    )


_DEFAULTS: dict[str, tuple[object, Precision | None]] = {}


def default_precision(site: Site) -> Precision | None:
    """The ISCD minimum acceptable precision for *site*, or None where none is on file
    (a pure function of the knowledge base, loaded once and immutable: looked up once)."""
    kb = knowledge()
    hit = _DEFAULTS.get(site)
    if hit is not None and hit[0] is kb:
        return hit[1]
    found = _default_precision(site)
    _DEFAULTS[site] = (kb, found)
    return found


def _default_precision(site: Site) -> Precision | None:
    table = knowledge().table("precision.minimum_acceptable_percent")
    if site not in table:
        return None
    return Precision(site=site, source="iscd_minimum_default", percent_cv=float(table[site]))


def facility_precision(site: Site, study: PrecisionStudy) -> Precision:
    return Precision(
        site=site,
        source="facility",
        percent_cv=study.rms_cv_percent,
        rms_sd_g_cm2=study.rms_sd_g_cm2,
    )
