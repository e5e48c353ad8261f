"""The same kernel on Spark (`mapInArrow`, local[2]) gives the same worklist and
indicators as the embedded Polars runner. One Spark session for the module, small data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osteotarget.population import load_frame, run_population
from osteotarget.population.synth import synth_table, write_cohort
from tests.population.conftest import AS_OF

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None, reason="Spark needs a Java runtime (.ci/services.sh installs it)"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from osteotarget.population.spark import session

    spark = session("local[2]")
    yield spark
    spark.stop()


@pytest.mark.parametrize("suffix", [".ndjson", ".parquet"])
def test_spark_equals_polars(spark: Any, tmp_path: Path, suffix: str) -> None:
    from osteotarget.population.spark import run_spark

    path = tmp_path / f"cohort{suffix}"
    write_cohort(synth_table(400, 31, AS_OF), path)
    on_spark = run_spark(path, AS_OF, spark=spark)
    embedded = run_population(load_frame(path), AS_OF)
    key = ["patient_id", "queue"]
    assert on_spark.rows.sort(key).equals(embedded.rows.sort(key))
    assert on_spark.summary() == embedded.summary()
    assert on_spark.facts.sort("patient_id").equals(embedded.facts.sort("patient_id"))
    assert on_spark.rows.height > 0
