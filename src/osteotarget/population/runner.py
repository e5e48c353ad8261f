"""The embedded runner: the kernel on a whole table in this process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from osteotarget.population.kernel import compute_facts
from osteotarget.population.kpi import Indicator, indicators, queue_counts
from osteotarget.population.layout import from_records, read_records
from osteotarget.population.settings import KernelSettings, kernel_settings
from osteotarget.population.worklist import worklist_rows


@dataclass
class PopulationResult:
    as_of: date
    profile: str
    patients: int
    facts: pl.DataFrame
    rows: pl.DataFrame
    indicators: list[Indicator]

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "profile": self.profile,
            "patients": self.patients,
            "queues": queue_counts(self.rows),
            "indicators": [i.as_dict() for i in self.indicators],
        }


def load_frame(path: Path | None = None, registry_url: str | None = None) -> pl.DataFrame:
    """Records from a file (NDJSON or Parquet) or from the registry, in the columnar layout."""
    if path is not None:
        return read_records(path)
    from osteotarget.store.registry import Registry

    registry = Registry(registry_url or "")
    try:
        return from_records(_registry_records(registry))
    finally:
        registry.close()


def _registry_records(registry: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from osteotarget.store.models import PatientRow

    with registry.session() as session:
        return [dict(r) for r in session.scalars(select(PatientRow.record))]


def from_facts(
    facts: pl.DataFrame, as_of: date, settings: KernelSettings, patients: int
) -> PopulationResult:
    rows = worklist_rows(facts, as_of, settings)
    return PopulationResult(
        as_of=as_of,
        profile=settings.profile,
        patients=patients,
        facts=facts,
        rows=rows,
        indicators=indicators(facts, as_of, settings),
    )


def run_population(
    frame: pl.DataFrame, as_of: date, profile: str | None = None
) -> PopulationResult:
    settings = kernel_settings(profile)
    facts = compute_facts(frame, as_of, settings)
    return from_facts(facts, as_of, settings, frame.height)
