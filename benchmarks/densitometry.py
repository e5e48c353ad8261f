"""Benchmark: record validation and the densitometry report, per patient.

Prints figures; asserts nothing. Usage: .venv/bin/python benchmarks/densitometry.py [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from osteotarget.densitometry import assess_densitometry
from osteotarget.model import parse_patient

EXAMPLES = sorted((Path(__file__).parents[1] / "tests/fixtures/spec_examples").glob("*.json"))


def main(n: int) -> None:
    records = [json.loads(p.read_text()) for p in EXAMPLES]
    batch = [dict(records[i % len(records)], id=f"bench-{i}") for i in range(n)]
    as_of = date(2026, 11, 23)
    assess_densitometry(parse_patient(batch[0]), as_of)  # warm caches

    start = time.perf_counter()
    patients = [parse_patient(r) for r in batch]
    parsed = time.perf_counter()
    per_patient = []
    for p in patients:
        t0 = time.perf_counter()
        assess_densitometry(p, as_of)
        per_patient.append(time.perf_counter() - t0)
    done = time.perf_counter()

    print(f"patients: {n}")
    print(f"validate records: {(parsed - start) / n * 1e6:.0f} µs/patient")
    print(
        f"densitometry report: {(done - parsed) / n * 1e6:.0f} µs/patient "
        f"(median {statistics.median(per_patient) * 1e6:.0f} µs, "
        f"p99 {sorted(per_patient)[int(0.99 * (n - 1))] * 1e6:.0f} µs)"
    )
    print(f"throughput: {n / (done - start):.0f} patients/s single-threaded")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
