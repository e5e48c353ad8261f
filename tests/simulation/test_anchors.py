"""Published anchors (knowledge/calibration.toml rows; FIT in knowledge/simulation/anchors.toml).

Share reaching a total-hip T-score target at 3 years (Cosman 2021 FRAME/ARCH; Cosman 2025
FREEDOM) within the stated tolerance, and alendronate's fracture reduction in FIT (Black
1996) within the trial's 95% confidence interval.
"""

from __future__ import annotations

import pytest

from osteotarget.knowledge import knowledge
from osteotarget.simulation.model import Options, simulate_one
from tests.simulation.helpers import fixed_regimen, never, uniform_cohort

ADHERENT = Options(years=3, seed=11, oral_adherent_share=1.0, annual_discontinuation=0.0)
ROWS = [
    "th_romo_dmab_36_from_-3.0",
    "th_romo_aln_36_from_-3.0",
    "th_aln_36_from_-3.0",
    "th_dmab_36_from_-2.7",
    "th_dmab_36_from_-3.0",
    "th_dmab_36_from_-3.5",
]


def _row(row_id: str) -> dict[str, object]:
    rows = knowledge().table("calibration")["rows"]
    return next(dict(r) for r in rows if r["id"] == row_id)


@pytest.mark.parametrize("row_id", ROWS)
def test_share_reaching_total_hip_target_at_three_years(row_id: str) -> None:
    row = _row(row_id)
    tolerance = knowledge().number("simulation.anchors.tolerance.goal_points")
    cohort = uniform_cohort(2000, float(row["baseline_t"]))  # type: ignore[arg-type]
    regimen = str(row["regimen"]).rsplit(":", 1)[0]  # the last step open-ended
    result = simulate_one(cohort, fixed_regimen("anchor", regimen), ADHERENT)
    measured = result.patient["last_measured_t"]
    share = float((measured > float(row["target_t"])).mean()) * 100  # type: ignore[arg-type]
    assert abs(share - float(row["observed_percent"])) <= tolerance, (row_id, share)  # type: ignore[arg-type]


def test_romosozumab_then_denosumab_gains_more_than_denosumab_alone() -> None:
    cohort = uniform_cohort(1000, -3.0)
    romo = simulate_one(cohort, fixed_regimen("r", "romosozumab:12,denosumab"), ADHERENT)
    dmab = simulate_one(cohort, fixed_regimen("d", "denosumab"), ADHERENT)
    assert romo.patient["final_t"].mean() > dmab.patient["final_t"].mean()


def test_alendronate_fracture_reduction_matches_fit() -> None:
    fit = knowledge().table("simulation.anchors")["fit"]
    cohort = uniform_cohort(20000, -2.5, age=70.0, months_since_fracture=60.0)
    treated = simulate_one(cohort, fixed_regimen("aln", "alendronate"), ADHERENT)
    untreated = simulate_one(cohort, never(), ADHERENT)
    for outcome in ("vertebral", "hip"):
        rr = (
            treated.patient[f"fractures_{outcome}"].sum()
            / untreated.patient[f"fractures_{outcome}"].sum()
        )
        assert fit[outcome]["low"] <= rr <= fit[outcome]["high"], (outcome, rr)
