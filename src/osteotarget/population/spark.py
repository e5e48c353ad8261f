"""The Spark runner: the SAME kernel (:func:`kernel.compute_facts`) on each Arrow batch of
each partition (``DataFrame.mapInArrow``). A patient is one row, so a partition holds whole
patients and the facts need no shuffle; the worklist and indicators are then read from the
facts exactly as the embedded runner does.

``local[2]`` by default; ``--master spark://host:7077`` (or ``spark-submit``) for a cluster,
whose executors need ``pip install osteotarget[spark]`` and a Java runtime
(docs/population.md, "Spark").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from osteotarget.population.kernel import compute_facts, facts_arrow
from osteotarget.population.layout import SCHEMA
from osteotarget.population.runner import PopulationResult, from_facts
from osteotarget.population.settings import KernelSettings, kernel_settings

DEFAULT_MASTER = "local[2]"


def _plain(kind: pa.DataType) -> pa.DataType:
    """An Arrow type Spark converts: plain strings and lists, signed integers."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        return pa.list_(_plain(kind.value_type))
    if pa.types.is_unsigned_integer(kind):
        return pa.int64()
    return kind


def facts_schema(as_of: date, settings: KernelSettings) -> pa.Schema:
    """The Arrow schema of the kernel's output (from a run on no patients), in types Spark
    converts."""
    empty = pl.DataFrame(schema=SCHEMA)
    schema = compute_facts(empty, as_of, settings).to_arrow().schema
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in schema])


def session(master: str | None = None) -> Any:
    """A Spark session (local[2] unless *master*), workers on this Python."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or DEFAULT_MASTER)
        .appName("osteotarget-population")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
    )
    return builder.getOrCreate()


def spark_facts(frame: Any, as_of: date, settings: KernelSettings) -> Any:
    """A Spark DataFrame of records (the record's JSON shape) → a Spark DataFrame of facts."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = facts_schema(as_of, settings)

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                table = facts_arrow(batch, as_of, settings).cast(schema)
                yield from table.to_batches()

    return frame.mapInArrow(kernel, from_arrow_schema(schema))


def read_records(spark: Any, path: Path) -> Any:
    if path.suffix == ".parquet":
        return spark.read.parquet(str(path))
    return spark.read.json(str(path))


def run_spark(
    path: Path,
    as_of: date,
    profile: str | None = None,
    master: str | None = None,
    spark: Any = None,
) -> PopulationResult:
    """The population job on Spark: records file → facts per partition → worklist + KPIs."""
    settings = kernel_settings(profile)
    own = spark is None
    spark = spark or session(master)
    try:
        records = read_records(spark, path)
        facts_df = spark_facts(records, as_of, settings)
        table = facts_df.toArrow()
        facts = pl.from_arrow(table)
        assert isinstance(facts, pl.DataFrame)
        facts = facts.sort("patient_id")
        return from_facts(facts, as_of, settings, facts.height)
    finally:
        if own:
            spark.stop()
