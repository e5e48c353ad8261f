"""Benchmark: rank all candidate regimens for one patient, and for 100,000 patients
vectorised (NumPy). Goal: under 1 ms per patient, single-threaded.

    .venv/bin/python benchmarks/projection.py
"""

from __future__ import annotations

import time

import numpy as np

from osteotarget.projection import Baseline, TargetSpec, parse_regimen, rank_many, rank_regimens

CANDIDATES = [
    parse_regimen(text)
    for text in (
        "alendronate",
        "risedronate",
        "ibandronate",
        "zoledronate",
        "denosumab",
        "raloxifene",
        "romosozumab:12,denosumab",
        "romosozumab:12,alendronate",
        "teriparatide:24,denosumab",
        "abaloparatide:18,alendronate",
    )
]
HORIZON = 36
TARGET = -2.5
PATIENTS = 100_000


def single_patient(repeats: int = 200) -> float:
    baselines = [
        Baseline.from_t_score("total_hip", -3.1),
        Baseline.from_t_score("femoral_neck", -2.9),
        Baseline.from_t_score("lumbar_spine", -3.3),
    ]
    targets = [TargetSpec(TARGET)]
    rank_regimens(baselines, CANDIDATES, targets, HORIZON)  # warm the curve caches
    start = time.perf_counter()
    for _ in range(repeats):
        rank_regimens(baselines, CANDIDATES, targets, HORIZON)
    return (time.perf_counter() - start) / repeats


def many_patients() -> tuple[float, np.ndarray]:
    rng = np.random.default_rng(1)
    t_scores = {
        "total_hip": rng.uniform(-4.0, -1.0, PATIENTS),
        "femoral_neck": rng.uniform(-4.0, -1.0, PATIENTS),
    }
    rank_many({"total_hip": t_scores["total_hip"][:10]}, CANDIDATES, TARGET, HORIZON)  # warm
    start = time.perf_counter()
    result = rank_many(t_scores, CANDIDATES, TARGET, HORIZON)  # type: ignore[arg-type]
    return time.perf_counter() - start, result.best


def main() -> None:
    one = single_patient()
    print(
        f"one patient, {len(CANDIDATES)} regimens, 3 sites (object API, rank_regimens): "
        f"{one * 1e3:.2f} ms"
    )
    total, best = many_patients()
    print(
        f"{PATIENTS:,} patients, {len(CANDIDATES)} regimens, 2 sites (vectorised rank_many): "
        f"{total * 1e3:.1f} ms total, {total / PATIENTS * 1e6:.2f} µs per patient"
    )
    counts = np.bincount(best[best >= 0], minlength=len(CANDIDATES))
    top = int(np.argmax(counts))
    print(f"most often ranked first: {' → '.join(d for d, _ in CANDIDATES[top])} ({counts[top]:,})")


if __name__ == "__main__":
    main()
