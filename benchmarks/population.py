"""Population benchmark: N synthetic patients from Parquet and from NDJSON to every worklist
and indicator (embedded Polars runner), the same job on Spark local[2], and the ratio to
the per-patient engine on a sample. Each job runs in its own process, which reports its
own wall time and peak RSS. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/population.py [--n 1000000] [--spark-n 1000000] [--sample 500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = date(2026, 6, 1)
_KIB_PER_GIB = 1024 * 1024


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB_PER_GIB


def child(job: str, path: Path, sample: int) -> None:
    """One measured job in this process; prints one JSON line."""
    started = time.perf_counter()
    out: dict[str, object] = {"job": job}
    if job == "synth":
        from osteotarget.population.synth import synth_table, write_cohort

        n = int(os.environ["BENCH_N"])
        table = synth_table(n, 1, AS_OF)
        out["synth_s"] = round(time.perf_counter() - started, 1)
        mark = time.perf_counter()
        write_cohort(table, path)
        out["parquet_write_s"] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()
        write_cohort(table, path.with_suffix(".ndjson"))
        out["ndjson_write_s"] = round(time.perf_counter() - mark, 1)
    elif job == "polars":
        from osteotarget.population import load_frame, run_population

        frame = load_frame(path)
        out["read_s"] = round(time.perf_counter() - started, 1)
        result = run_population(frame, AS_OF)
        out["patients"] = result.patients
        out["rows"] = result.rows.height
        out["queues"] = result.summary()["queues"]
    elif job == "spark":
        from osteotarget.population.spark import run_spark

        result = run_spark(path, AS_OF)
        out["patients"] = result.patients
        out["rows"] = result.rows.height
        out["note"] = "peak_rss_gib is the Python driver; the JVM and its workers are not counted"
    elif job == "engine":
        from itertools import islice

        from osteotarget.engine import assess
        from osteotarget.model import Patient, iter_ndjson

        with path.open(encoding="utf-8") as handle:
            read = list(iter_ndjson(islice(handle, sample), str(path)))
        patients = [p for p in read if isinstance(p, Patient)]
        mark = time.perf_counter()
        for patient in patients:
            assess(patient, AS_OF)
        out["patients"] = len(patients)
        out["ms_per_patient"] = round(1000 * (time.perf_counter() - mark) / len(patients), 2)
    out["wall_s"] = round(time.perf_counter() - started, 1)
    out["peak_rss_gib"] = round(_peak_gib(), 2)
    print(json.dumps(out), flush=True)


def _run(job: str, path: Path, sample: int, n: int) -> dict[str, object]:
    env = {**os.environ, "BENCH_N": str(n)}
    command = [sys.executable, __file__, "--child", job, "--path", str(path),
               "--sample", str(sample)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"job": job, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--spark-n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--child", default=None)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--only", default=None, help="run one job on --path (e.g. engine)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.sample)
        return
    if args.only:
        print(_run(args.only, args.path, args.sample, args.n))
        return
    folder = Path(tempfile.mkdtemp(prefix="osteotarget-bench-"))
    try:
        print(f"population benchmark: {args.n:,} synthetic patients, as of {AS_OF}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        big = folder / "cohort.parquet"
        synth = _run("synth", big, args.sample, args.n)
        print(f"  synth: {synth}")
        polars_parquet = _run("polars", big, args.sample, args.n)
        print(f"  Polars from Parquet (read + kernel + worklists + KPIs): {polars_parquet}")
        polars_ndjson = _run("polars", big.with_suffix(".ndjson"), args.sample, args.n)
        print(f"  Polars from NDJSON: {polars_ndjson}")
        spark_path = big
        if args.spark_n != args.n:
            spark_path = folder / "spark.parquet"
            _run("synth", spark_path, args.sample, args.spark_n)
        if shutil.which("java"):
            spark = _run("spark", spark_path, args.sample, args.spark_n)
            print(f"  Spark local[2] from Parquet, {args.spark_n:,} patients: {spark}")
        else:
            print("  Spark: skipped (no Java runtime)")
        engine = _run("engine", big.with_suffix(".ndjson"), args.sample, args.n)
        print(f"  per-patient engine on a sample: {engine}")
        per_patient = engine.get("ms_per_patient")
        wall = polars_parquet.get("wall_s")
        if isinstance(per_patient, float | int) and isinstance(wall, float | int) and wall:
            loop_s = float(per_patient) * args.n / 1000
            print(f"  per-patient loop over {args.n:,} (extrapolated): {loop_s:,.0f} s; "
                  f"kernel from Parquet {wall} s: {loop_s / float(wall):,.0f}x faster")  # fmt: skip
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} (shared machine)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
