"""Run strategies over a cohort K times and write the result files (``--out DIR``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osteotarget.simulation.cohort import Cohort
from osteotarget.simulation.model import Options, RunResult, minimum_target, simulate_one
from osteotarget.simulation.outcomes import Prices, Summary, patient_frame, summarise
from osteotarget.simulation.params import Strategy

DISCLAIMER = (
    "Simulation for research and planning: a model of a cohort, not a prediction for any "
    "patient. Several inputs are placeholders (shown as unverified); see docs/simulation.md."
)


@dataclass
class SimulationResult:
    cohort: Cohort
    strategies: list[Strategy]
    options: Options
    runs: int
    target: float
    results: dict[str, list[RunResult]]
    summary: Summary
    prices: Prices | None


def simulate(
    cohort: Cohort,
    strategies: Sequence[Strategy],
    options: Options,
    runs: int = 1,
    prices: Prices | None = None,
) -> SimulationResult:
    results: dict[str, list[RunResult]] = {}
    for strategy in strategies:
        results[strategy.name] = [
            simulate_one(
                cohort,
                strategy,
                Options(
                    years=options.years,
                    seed=options.seed,
                    run=k,
                    oral_adherent_share=options.oral_adherent_share,
                    annual_discontinuation=options.annual_discontinuation,
                    target_t=options.target_t,
                ),
            )
            for k in range(runs)
        ]
    target = options.target_t if options.target_t is not None else minimum_target()
    return SimulationResult(
        cohort=cohort,
        strategies=list(strategies),
        options=options,
        runs=runs,
        target=target,
        results=results,
        summary=summarise(results, options.years, target, prices),
        prices=prices,
    )


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def result_json(res: SimulationResult) -> dict[str, Any]:
    from osteotarget.knowledge import knowledge

    kb = knowledge()
    unverified = sorted(
        q.path
        for q in kb.quantities.values()
        if q.path.startswith("simulation.") and q.evidence == "unverified"
    )
    cleaned: dict[str, Any] = _clean(
        {
            "disclaimer": DISCLAIMER,
            "knowledge_version": kb.version,
            "cohort": {
                "patients": res.cohort.n,
                "excluded_without_total_hip_t": res.cohort.excluded,
            },
            "years": res.options.years,
            "seed": res.options.seed,
            "runs": res.runs,
            "target": {
                "site": "total_hip",
                "metric": "t_score",
                "operator": ">",
                "value": res.target,
            },
            "strategies": [
                {"name": s.name, "kind": s.kind, "label": s.label, "profile": s.profile}
                for s in res.strategies
            ],
            "prices": None
            if res.prices is None
            else {"source": res.prices.source, "currency": res.prices.currency},
            "outcomes": res.summary.strategies,
            "comparisons": res.summary.comparisons,
            "subgroups": res.summary.subgroups,
            "unverified_inputs": unverified,
        }
    )
    return cleaned


def write_outputs(res: SimulationResult, out: Path, pdf: bool = False) -> list[Path]:
    from osteotarget.simulation.report import write_html, write_plots

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    data = result_json(res)
    path = out / "simulation.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    written.append(path)
    table = out / "patients.parquet"
    patient_frame(res.results).write_parquet(table)
    written.append(table)
    written.extend(write_plots(res, out))
    written.extend(write_html(res, data, out, pdf=pdf))
    return written
