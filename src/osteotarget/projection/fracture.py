"""Expected fracture-risk reduction from a projected total-hip % change (FNIH, Bouxsein 2019).

ln(RR) = a + b·Δ, fitted through the two published points per outcome (data.md §4a).
A study-level association: an estimate for a regimen, not a prediction for a patient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

from osteotarget.knowledge import knowledge

Outcome = Literal["vertebral", "hip"]
OUTCOMES: tuple[Outcome, ...] = ("vertebral", "hip")

CAVEATS = (
    "Study-level meta-regression of placebo-controlled trials (FNIH/SABRE, Bouxsein 2019): "
    "an estimate for the regimen, not a prediction for this patient.",
    "The regression uses the treatment − placebo difference in total-hip % change; the "
    "patient's projected change from baseline is used in its place.",
    "Line fitted through the two published points (+2% and +6%); outside that range it is "
    "an extrapolation. No useful association for nonvertebral fractures.",
)


@dataclass(frozen=True, slots=True)
class Line:
    intercept: float
    slope: float
    low: float
    high: float
    r_squared: float


@dataclass(frozen=True, slots=True)
class RiskReduction:
    outcome: Outcome
    total_hip_percent: float
    relative_risk: float
    relative_risk_reduction: float
    within_published_points: bool
    r_squared: float
    citation: str
    caveats: tuple[str, ...] = CAVEATS


@cache
def fnih_line(outcome: Outcome) -> Line:
    kb = knowledge()
    table = kb.table("responses.fracture.total_hip")
    (x1, r1), (x2, r2) = ((float(p["th_percent"]), float(p["rrr_percent"])) for p in table[outcome])
    y1, y2 = math.log(1.0 - r1 / 100.0), math.log(1.0 - r2 / 100.0)
    slope = (y2 - y1) / (x2 - x1)
    return Line(
        intercept=y1 - slope * x1,
        slope=slope,
        low=min(x1, x2),
        high=max(x1, x2),
        r_squared=float(table["r_squared"][outcome]),
    )


@cache
def citation_key() -> str:
    return str(knowledge().get("responses.fracture.total_hip.cite"))


def risk_reduction(total_hip_percent: float, outcome: Outcome) -> RiskReduction:
    """Relative risk and relative risk reduction for a total-hip % change."""
    line = fnih_line(outcome)
    rr = math.exp(line.intercept + line.slope * total_hip_percent)
    return RiskReduction(
        outcome=outcome,
        total_hip_percent=total_hip_percent,
        relative_risk=rr,
        relative_risk_reduction=1.0 - rr,
        within_published_points=line.low <= total_hip_percent <= line.high,
        r_squared=line.r_squared,
        citation=citation_key(),
    )
