"""Shared fixtures of the population tests: a synthetic cohort on a fixed date."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from osteotarget.population.synth import synth_table, write_cohort

AS_OF = date(2026, 6, 1)


def records_of(n: int, seed: int) -> list[dict[str, Any]]:
    """*n* synthetic records as JSON dicts (nulls dropped at the top level)."""
    frame = pl.from_arrow(synth_table(n, seed, AS_OF))
    assert isinstance(frame, pl.DataFrame)
    out = []
    for rec in frame.to_dicts():
        out.append(json.loads(json.dumps({k: v for k, v in rec.items() if v is not None},
                                         default=str)))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.ndjson"
    write_cohort(synth_table(300, 11, AS_OF), path)
    return path
