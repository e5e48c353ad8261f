"""Small hand-built cohorts for the simulation tests."""

from __future__ import annotations

from datetime import date

import numpy as np

from osteotarget.simulation.cohort import Cohort
from osteotarget.simulation.params import RISKS, Strategy, parse_regimen

AS_OF = date(2026, 1, 1)


def uniform_cohort(
    n: int, t_score: float, age: float = 70.0, months_since_fracture: float = float("inf")
) -> Cohort:
    return Cohort(
        ids=np.array([f"p{i}" for i in range(n)]),
        age=np.full(n, age),
        female=np.ones(n, dtype=bool),
        t_score=np.full(n, t_score),
        months_since_fracture=np.full(n, months_since_fracture),
        as_of=AS_OF,
    )


def fixed_regimen(name: str, regimen: str, interval: int = 12) -> Strategy:
    """Everyone starts *regimen* at baseline whatever the risk; no switch."""
    parsed = parse_regimen(regimen)
    return Strategy(
        name=name,
        kind="step",
        label=name,
        first={risk: parsed for risk in RISKS},
        switch_to=(),
        dxa_interval_months=interval,
    )


def never(name: str = "never") -> Strategy:
    return Strategy(
        name=name, kind="step", label=name, first={}, switch_to=(), dxa_interval_months=24
    )
