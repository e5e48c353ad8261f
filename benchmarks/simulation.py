"""Benchmark: the strategy simulation for 100,000 synthetic patients x 10 years x (step, t2t),
one run. Goal: <= 60 s on two cores. Prints wall and CPU time per phase, peak memory
(tracemalloc: Python and NumPy allocations; and the process's peak RSS) and the machine
load, since the machine is shared.

    .venv/bin/python benchmarks/simulation.py [N] [YEARS]
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from datetime import date

from osteotarget.simulation.api import simulate
from osteotarget.simulation.cohort import synth_cohort
from osteotarget.simulation.model import Options
from osteotarget.simulation.params import resolve_strategy


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    years = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    cohort = synth_cohort(n, 1, date(2026, 1, 1))
    t_cohort = time.perf_counter() - wall
    strategies = [resolve_strategy("step"), resolve_strategy("t2t")]
    times = {}
    for strategy in strategies:
        start = time.perf_counter()
        simulate(cohort, [strategy], Options(years=years, seed=1))
        times[strategy.name] = time.perf_counter() - start
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cohort: {n} drawn, {cohort.n} with a total-hip T-score, {t_cohort:.1f} s")
    for name, seconds in times.items():
        print(f"  {name:>5}: {seconds:.1f} s wall for {cohort.n} patients x {years} years")
    print(f"total: {total_wall:.1f} s wall, {total_cpu:.1f} s CPU (goal <= 60 s)")
    print(f"peak traced memory {peak / 2**20:.0f} MiB, peak RSS {rss:.0f} MiB")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
