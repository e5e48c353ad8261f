"""Benchmark: the whole assessment (``osteotarget.engine.assess``) per patient, in-process.

Patients: the spec examples (``tests/fixtures/spec_examples``) and a synthetic cohort
(``osteotarget synth --n 2000 --seed 1 --as-of 2026-11-23``), default profile. Each
patient is assessed once to warm the per-process caches, then *repeats* times; the
figures are per-call CPU time (``time.process_time``, less disturbed by other work on a
shared machine than wall time) with the wall-time median beside them, and the load
average, since the machine may be shared. Goal: median ≤ 1 ms per patient.

    .venv/bin/python benchmarks/assess.py [--n 2000] [--repeats 3] [--profile] [--top 25]

``--profile`` prints the cProfile of the synthetic run (cumulative time).

Figures (issue 13, speed; 2-core machine shared with other work, so instruction counts
are the steady measure): instructions per ``assess`` under ``valgrind --tool=callgrind``
(4 warm repeats minus a run without them). First pass (50 synthetic patients): 12.0 M ->
7.8 M. Second pass (50 synthetic patients and the 5 spec examples; 8.21 M after the
clinical changes in between): 5.71 M (-30 %). What it took: options ranked on plain
numbers and each Option built once (no Projection or intermediate Option objects);
answer parts of known types built without revalidation; risk criteria worded only when
they fire; knowledge- and profile-only values read once; per-patient facts (courses,
look-back, populations) found once; pathway decisions remembered.

CPU median per patient, before -> after, run back to back (n=2000) at load average 5-6:
synthetic cohort 1.59 -> 1.08 ms and 1.58 -> 0.97 ms; spec examples 1.53 -> 1.05 ms and
1.70 -> 1.30 ms. At a quiet moment (load < 1; 6.1 M instructions, before the last few
changes) the synthetic median was 0.98 ms and the spec examples' per-patient medians
0.74-1.23 ms (median patient 0.93 ms); the pooled spec-example median of this script
stays above 1 ms whenever other work runs. The 1 ms goal is met for the synthetic cohort
on a quiet machine, not reliably for the spec examples.

Stop 17 (2026-12-02): at a quiet start (load < 1) synthetic n=2000 median 1.05 / 0.97 ms,
spec examples 0.86 ms; 5.97 M instructions. The clinical rules added this stop (label
regions, reproductive potential, PTH lifetime, status/targets, response, CKD staging,
aromatase inhibitors, glucocorticoids, fracture review, leaving denosumab, missing
information) cost about 0.7 M instructions (6.58 M per assess); a one-pass History.course_at
saved 0.08 M. After them, at load 2.8: synthetic median 0.93 ms, spec examples 0.95 ms
(goal met; p90 1.12 / 1.26 ms).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from osteotarget.engine import assess
from osteotarget.model import Patient, parse_patient
from osteotarget.population.synth import synth_table, write_cohort

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "tests/fixtures/spec_examples").glob("*.json"))
AS_OF = date(2026, 11, 23)
GOAL_MS = 1.0


def synthetic(n: int, seed: int) -> list[Patient]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cohort.ndjson"
        write_cohort(synth_table(n, seed, AS_OF), out)
        lines = out.read_text().splitlines()
    return [parse_patient(json.loads(line)) for line in lines if line.strip()]


def per_call_ms(patients: list[Patient], repeats: int) -> tuple[list[float], list[float]]:
    """(CPU ms, wall ms) of every call, after one warm call per patient."""
    for p in patients:
        assess(p, AS_OF)
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeats):
        for p in patients:
            c0, w0 = time.process_time(), time.perf_counter()
            assess(p, AS_OF)
            cpu.append((time.process_time() - c0) * 1e3)
            wall.append((time.perf_counter() - w0) * 1e3)
    return cpu, wall


def quantiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[89], cuts[98]


def report(label: str, cpu: list[float], wall: list[float]) -> None:
    median, p90, p99 = quantiles(cpu)
    goal = "met" if median <= GOAL_MS else "NOT met"
    print(
        f"{label}: CPU median {median:.3f} ms, p90 {p90:.3f} ms, p99 {p99:.3f} ms; "
        f"wall median {statistics.median(wall):.3f} ms  ({len(cpu)} calls; goal median ≤ "
        f"{GOAL_MS:g} ms {goal})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="synthetic patients")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    examples = [parse_patient(json.loads(p.read_text())) for p in EXAMPLES]
    report(f"spec examples ({len(examples)})", *per_call_ms(examples, max(args.repeats, 50)))
    cohort = synthetic(args.n, args.seed)
    report(
        f"synthetic cohort (n={len(cohort)}, seed {args.seed})", *per_call_ms(cohort, args.repeats)
    )
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for p in cohort:
            assess(p, AS_OF)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
