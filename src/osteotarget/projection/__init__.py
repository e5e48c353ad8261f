"""Projection: expected T-score path and the chance of reaching the target, per regimen.

* :func:`forecast_options` – the seam the engine calls (one Option per regimen).
* :func:`project`, :func:`rank_regimens` – Python API for one patient.
* :func:`rank_many` – vectorised NumPy path for many patients at once.

Model and assumptions: docs/model.md. Response knowledge: knowledge/responses/*.toml.
"""

from __future__ import annotations

from osteotarget.projection.api import (
    PointOut,
    Projection,
    RegimenError,
    SiteResult,
    TargetSpec,
    parse_regimen,
    project,
    rank_order,
    rank_regimens,
    regimen_label,
)
from osteotarget.projection.batch import BatchResult, rank_many
from osteotarget.projection.forecast import Baseline, Observed, SiteForecast, forecast_site
from osteotarget.projection.fracture import RiskReduction, risk_reduction
from osteotarget.projection.options import forecast_options
from osteotarget.projection.response import PROJECTED_SITES, ProjectedSite
from osteotarget.projection.trajectory import Regimen, site_path

__all__ = [
    "PROJECTED_SITES",
    "Baseline",
    "BatchResult",
    "Observed",
    "PointOut",
    "ProjectedSite",
    "Projection",
    "Regimen",
    "RegimenError",
    "RiskReduction",
    "SiteForecast",
    "SiteResult",
    "TargetSpec",
    "forecast_options",
    "forecast_site",
    "parse_regimen",
    "project",
    "rank_many",
    "rank_order",
    "rank_regimens",
    "regimen_label",
    "risk_reduction",
    "site_path",
]
