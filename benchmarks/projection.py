"""Benchmark: rank all candidate regimens for one patient, and for 100,000 patients
vectorised (NumPy); the engine seam (forecast_options) and the whole assessment
(osteotarget.engine.assess) per spec example patient. Goals: ranking under 1 ms per
patient single-threaded; ``assess`` ≤ 1 ms median per patient in-process.

Times are medians of per-call CPU time (``time.process_time``), which a machine shared
with other work disturbs less than wall time; wall-time medians are printed beside them.

    .venv/bin/python benchmarks/projection.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

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


EXAMPLES = sorted((Path(__file__).parents[1] / "tests/fixtures/spec_examples").glob("*.json"))
AS_OF = date(2026, 11, 23)


def _medians(calls: list[Callable[[], object]], repeats: int) -> tuple[float, float]:
    """(median CPU time, median wall time) per call, in seconds."""
    cpu: list[float] = []
    wall: list[float] = []
    for call in calls:
        call()  # warm
    for _ in range(repeats):
        for call in calls:
            c0, w0 = time.process_time(), time.perf_counter()
            call()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall)


def per_patient(repeats: int = 300) -> dict[str, tuple[float, float]]:
    """forecast_options and assess for each spec example patient."""
    from osteotarget.densitometry import assess_densitometry
    from osteotarget.engine import assess
    from osteotarget.model import parse_patient
    from osteotarget.model.assessment import Target
    from osteotarget.projection import forecast_options
    from osteotarget.therapy.catalogue import regimens

    patients = [parse_patient(json.loads(p.read_text())) for p in EXAMPLES]
    steps = [list(r.steps) for r in regimens()]
    target = [Target(metric="t_score", operator=">", value=TARGET, rationale="benchmark")]
    dens = [assess_densitometry(p, AS_OF) for p in patients]
    seam = [
        (lambda p=p, d=d: forecast_options(p, AS_OF, d, steps, target, HORIZON))
        for p, d in zip(patients, dens, strict=True)
    ]
    whole = [(lambda p=p: assess(p, AS_OF)) for p in patients]
    return {
        f"forecast_options ({len(steps)} regimens)": _medians(seam, repeats),  # type: ignore[misc]
        "assess (whole assessment)": _medians(whole, repeats),  # type: ignore[misc]
    }


def single_patient_top(repeats: int = 200) -> float:
    baselines = [
        Baseline.from_t_score("total_hip", -3.1),
        Baseline.from_t_score("femoral_neck", -2.9),
        Baseline.from_t_score("lumbar_spine", -3.3),
    ]
    targets = [TargetSpec(TARGET)]
    rank_regimens(baselines, CANDIDATES, targets, HORIZON, top_k=3)
    start = time.perf_counter()
    for _ in range(repeats):
        rank_regimens(baselines, CANDIDATES, targets, HORIZON, top_k=3)
    return (time.perf_counter() - start) / repeats


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
    top = single_patient_top()
    print(
        f"one patient, {len(CANDIDATES)} regimens ranked on the fast path, full projections "
        f"for the top 3 (rank_regimens top_k=3): {top * 1e3:.2f} ms"
    )
    for label, (cpu, wall) in per_patient().items():
        goal = "  (goal ≤ 1 ms)" if label.startswith("assess") else ""
        print(
            f"{label}, median per spec example patient: {cpu * 1e3:.3f} ms CPU, "
            f"{wall * 1e3:.3f} ms wall{goal}"
        )
    total, best = many_patients()
    print(
        f"{PATIENTS:,} patients, {len(CANDIDATES)} regimens, 2 sites (vectorised rank_many): "
        f"{total * 1e3:.1f} ms total, {total / PATIENTS * 1e6:.2f} µs per patient"
    )
    counts = np.bincount(best[best >= 0], minlength=len(CANDIDATES))
    first = int(np.argmax(counts))
    print(
        f"most often ranked first: {' → '.join(d for d, _ in CANDIDATES[first])} "
        f"({counts[first]:,})"
    )


if __name__ == "__main__":
    main()
