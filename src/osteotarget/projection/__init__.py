"""Projection: expected T-score path and the chance of reaching the target, per regimen.

Placeholder until the projection issue lands: :func:`forecast_options` raises
NotImplementedError and the engine falls back to ranking by expected response.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from osteotarget.model import Patient
from osteotarget.model.assessment import Densitometry, Option, RegimenStep, Target


def forecast_options(
    patient: Patient,
    as_of: date,
    densitometry: Densitometry,
    regimens: Sequence[Sequence[RegimenStep]],
    targets: Sequence[Target],
    horizon_months: int,
) -> list[Option]:
    """One Option per regimen (same order) with probability_of_target and projected T-scores."""
    raise NotImplementedError("projection not built yet")
