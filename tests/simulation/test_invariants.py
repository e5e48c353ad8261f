"""Reproducibility and invariants of the strategy simulation (small cohorts)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np

from osteotarget.simulation.api import result_json, simulate
from osteotarget.simulation.cohort import synth_cohort
from osteotarget.simulation.model import Options, RunResult, simulate_one
from osteotarget.simulation.outcomes import Prices, run_cost
from osteotarget.simulation.params import resolve_strategy
from tests.simulation.helpers import fixed_regimen, never, uniform_cohort

COHORT = synth_cohort(600, 5, date(2026, 1, 1))
OPTIONS = Options(years=5, seed=9)


def _json(seed: int) -> str:
    strategies = [resolve_strategy("step"), resolve_strategy("t2t")]
    result = simulate(COHORT, strategies, replace(OPTIONS, seed=seed), runs=2)
    return json.dumps(result_json(result), sort_keys=True)


def test_same_seed_same_result() -> None:
    assert _json(9) == _json(9)


def test_different_seed_different_result() -> None:
    assert _json(9) != _json(10)


def test_strategy_that_never_treats_avoids_no_fractures() -> None:
    result = simulate(
        COHORT, [resolve_strategy("never_treat"), never("also_never")], OPTIONS, runs=2
    )
    avoided = result.summary.comparisons["also_never"]["fractures_avoided"]
    assert avoided["mean"] == 0.0 and avoided["low"] == 0.0 and avoided["high"] == 0.0
    untreated = result.results["never_treat"][0]
    assert untreated.drug_months == {}
    assert float(untreated.patient["injections"].sum()) == 0.0


def test_treatment_avoids_fractures_on_average() -> None:
    cohort = uniform_cohort(4000, -3.0, months_since_fracture=6.0)
    treated = simulate_one(cohort, fixed_regimen("dmab", "denosumab"), OPTIONS)
    untreated = simulate_one(cohort, never(), OPTIONS)
    assert _total(treated) < _total(untreated)


def _total(run: RunResult) -> int:
    return sum(int(run.patient[f"fractures_{k}"].sum()) for k in ("hip", "vertebral", "other"))


def _prices(factor: float) -> Prices:
    return Prices(
        currency="TEST",
        drug_per_month={
            "alendronate": 2.0 * factor,
            "denosumab": 30.0 * factor,
            "teriparatide": 100.0 * factor,
        },
        injection=1.0 * factor,
        infusion=3.0 * factor,
        dxa=5.0 * factor,
        fracture={"hip": 1000.0 * factor, "vertebral": 300.0 * factor, "other": 100.0 * factor},
    )


def test_costs_scale_linearly_with_the_price_table() -> None:
    run = simulate_one(COHORT, resolve_strategy("step"), OPTIONS)
    base = run_cost(run, _prices(1.0))
    assert base > 0
    assert np.isclose(run_cost(run, _prices(3.0)), 3.0 * base)
    assert np.isclose(run_cost(run, _prices(1.0).scaled(0.5)), 0.5 * base)
    zero = Prices(currency="", drug_per_month={}, injection=0.0, infusion=0.0, dxa=0.0, fracture={})
    assert run_cost(run, zero) == 0.0


def test_more_adherence_never_fewer_at_target_on_average() -> None:
    shares = []
    for adherence in (0.2, 0.6, 1.0):
        run = simulate_one(
            COHORT, resolve_strategy("step"), replace(OPTIONS, oral_adherent_share=adherence)
        )
        shares.append(float(run.at_target.mean()))
    assert shares[0] <= shares[1] <= shares[2]


def test_outcomes_have_intervals_and_subgroups() -> None:
    result = simulate(COHORT, [resolve_strategy("step"), resolve_strategy("t2t")], OPTIONS, runs=3)
    out = result.summary.strategies["t2t"]
    rate = out["fractures_per_1000_py"]["all"]
    assert rate["low"] <= rate["mean"] <= rate["high"]
    assert len(out["at_target_by_year"]) == OPTIONS.years + 1
    assert {r["subgroup"] for r in result.summary.subgroups} == {"risk", "t_band"}
