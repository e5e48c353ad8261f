"""The baseline state of a cohort as arrays: age, sex, total-hip T-score, prior fracture.

From a cohort file (NDJSON or Parquet of patient records) or the synthetic generator. A
patient without a total-hip T-score is left out (counted in ``excluded``). Baseline
treatment is not carried over: every strategy starts from the baseline state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

_DAYS_PER_YEAR = 365.25  # noqa: knowledge (calendar)
_DAYS_PER_MONTH = _DAYS_PER_YEAR / 12  # noqa: knowledge (calendar)


@dataclass(frozen=True, slots=True)
class Cohort:
    ids: npt.NDArray[np.str_]
    age: npt.NDArray[np.float64]
    female: npt.NDArray[np.bool_]
    t_score: npt.NDArray[np.float64]  # total hip, latest DXA
    months_since_fracture: npt.NDArray[np.float64]  # inf: none on record
    as_of: date
    excluded: int = 0

    @property
    def n(self) -> int:
        return int(self.age.size)

    def subset(self, index: npt.NDArray[np.intp]) -> Cohort:
        return Cohort(
            ids=self.ids[index],
            age=self.age[index],
            female=self.female[index],
            t_score=self.t_score[index],
            months_since_fracture=self.months_since_fracture[index],
            as_of=self.as_of,
        )


def cohort_from_table(table: pa.Table, as_of: date) -> Cohort:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_row_index("row")
    dxa = (
        frame.select("row", "dxa")
        .explode("dxa")
        .unnest("dxa")
        .select("row", "date", "measurements")
        .explode("measurements")
        .unnest("measurements")
        .filter(pl.col("site") == "total_hip", pl.col("t_score").is_not_null())
        .sort("date")
        .group_by("row")
        .agg(pl.col("t_score").last())
    )
    fx = (
        frame.select("row", "fractures")
        .explode("fractures")
        .unnest("fractures")
        .filter(pl.col("date").is_not_null())
        .group_by("row")
        .agg(pl.col("date").max().alias("last_fx"))
    )
    base = (
        frame.select("row", "id", "sex", "birth_date")
        .join(dxa, on="row", how="inner")
        .join(fx, on="row", how="left")
        .sort("row")
    )
    today = pl.lit(as_of)
    base = base.with_columns(
        ((today - pl.col("birth_date")).dt.total_days() / _DAYS_PER_YEAR).alias("age"),
        ((today - pl.col("last_fx")).dt.total_days() / _DAYS_PER_MONTH)
        .fill_null(float("inf"))
        .alias("since_fx"),
    )
    return Cohort(
        ids=base["id"].cast(pl.String).to_numpy().astype(str),
        age=base["age"].to_numpy().astype(np.float64),
        female=(base["sex"] == "female").to_numpy(),
        t_score=base["t_score"].to_numpy().astype(np.float64),
        months_since_fracture=np.maximum(base["since_fx"].to_numpy().astype(np.float64), 0.0),
        as_of=as_of,
        excluded=frame.height - base.height,
    )


def synth_cohort(n: int, seed: int, as_of: date) -> Cohort:
    from osteotarget.population.synth import synth_table

    return cohort_from_table(synth_table(n, seed, as_of), as_of)


def file_cohort(path: Path, as_of: date, registry_url: str | None = None) -> Cohort:
    """A cohort file (NDJSON or Parquet), or the registry when *path* is None."""
    from osteotarget.population.runner import load_frame

    frame = load_frame(path, registry_url)
    return cohort_from_table(frame.to_arrow(), as_of)
