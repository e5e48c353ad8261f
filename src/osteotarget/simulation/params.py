"""Parameters of the strategy simulation, read from ``knowledge/simulation/*.toml``.

Every number comes from a knowledge file (with its citation and evidence tag); run options
may override the care-process ones (adherence, discontinuation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_args

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug

OUTCOMES = ("hip", "vertebral", "other")
RISKS = ("low", "moderate", "high", "very_high")

Step = tuple[Drug, int | None]
Regimen = tuple[Step, ...]


def parse_regimen(text: str) -> Regimen:
    """``"romosozumab:12,denosumab"`` → ((romosozumab, 12), (denosumab, None))."""
    drugs = get_args(Drug)
    steps: list[Step] = []
    for part in text.split(","):
        name, _, months = part.strip().partition(":")
        if name not in drugs:
            raise ValueError(f"regimen '{text}': unknown drug '{name}'")
        steps.append((name, int(months) if months else None))  # type: ignore[arg-type]
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class FractureParams:
    reference_t: float
    base_per_year: Mapping[str, float]  # at age 50, female, per person-year
    age_ratio_per_year: Mapping[str, float]  # multiplicative per year of age
    male_ratio: float
    gradient: Mapping[str, tuple[float, float]]  # outcome -> (female, male) per SD
    prior_constant: float
    imminent: tuple[tuple[float, float], tuple[float, float]]  # (years, ratio) x2
    natural_percent_per_year: float


@dataclass(frozen=True, slots=True)
class CareParams:
    oral_adherent_share: float
    poor_effect: float
    annual_discontinuation: float
    likely: float
    material_gain: float
    horizon_months: int
    fracture_after_months: int
    review_months_oral: int
    review_months_iv: int
    holiday_review_months: int
    dxa_interval_months: int
    injections: Mapping[str, float]
    infusions: Mapping[str, float]
    recent_fracture_months: int
    very_high_t: float
    high_t: float
    moderate_t: float


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    kind: str  # "step" | "t2t"
    label: str
    first: Mapping[str, Regimen] = field(default_factory=dict)
    switch_to: tuple[Regimen, ...] = ()
    dxa_interval_months: int = 24
    profile: str = ""


@cache
def fracture_params() -> FractureParams:
    kb = knowledge()
    t = kb.table("simulation.fracture")
    inc = t["incidence"]
    grad_hip, grad_op = t["gradient"]["hip"], t["gradient"]["osteoporotic"]
    points = t["prior_fracture"]["imminent"]["points"]
    return FractureParams(
        reference_t=float(inc["reference_t"]),
        base_per_year={k: float(inc["per_1000_at_50"][k]) / 1000.0 for k in OUTCOMES},  # noqa: knowledge (per 1,000)
        age_ratio_per_year={
            k: math.exp(math.log(float(inc["rate_ratio_per_10_years"][k])) / 10.0)  # noqa: knowledge (per decade)
            for k in OUTCOMES
        },
        male_ratio=float(inc["male_rate_ratio"]),
        gradient={
            "hip": (float(grad_hip["female"]), float(grad_hip["male"])),
            "vertebral": (float(grad_op["female"]), float(grad_op["male"])),
            "other": (float(grad_op["female"]), float(grad_op["male"])),
        },
        prior_constant=float(t["prior_fracture"]["constant"]),
        imminent=(
            (float(points[0]["years"]), float(points[0]["ratio"])),
            (float(points[1]["years"]), float(points[1]["ratio"])),
        ),
        natural_percent_per_year=float(t["natural_history"]["total_hip_percent_per_year"]),
    )


@cache
def care_params() -> CareParams:
    t = knowledge().table("simulation.care")
    a, d, r, adm = t["adherence"], t["decision"], t["risk"], t["administrations"]
    return CareParams(
        oral_adherent_share=float(a["oral_adherent_share"]),
        poor_effect=float(a["poor_effect"]),
        annual_discontinuation=float(a["annual_discontinuation"]),
        likely=float(d["likely"]),
        material_gain=float(d["material_gain"]),
        horizon_months=int(d["horizon_months"]),
        fracture_after_months=int(d["fracture_after_months"]),
        review_months_oral=int(d["review_years_oral"]) * 12,
        review_months_iv=int(d["review_years_iv"]) * 12,
        holiday_review_months=int(d["holiday_review_months"]),
        dxa_interval_months=int(d["dxa_interval_months"]),
        injections={str(k): float(v) for k, v in adm["injection"].items()},
        infusions={str(k): float(v) for k, v in adm["infusion"].items()},
        recent_fracture_months=int(r["recent_fracture_months"]),
        very_high_t=float(r["very_high_t"]),
        high_t=float(r["high_t"]),
        moderate_t=float(r["moderate_t"]),
    )


def _months(value: Any) -> int:
    return int(value["value"]) if isinstance(value, Mapping) else int(value)


def strategy_from_table(name: str, raw: Mapping[str, Any]) -> Strategy:
    kind = str(raw.get("kind", ""))
    if kind not in ("step", "t2t"):
        raise ValueError(f"strategy '{name}': kind '{kind}' is not step or t2t")
    if kind == "t2t":
        return Strategy(
            name=name, kind="t2t", label=str(raw.get("label", name)), profile=str(raw["profile"])
        )
    first = {str(k): parse_regimen(str(v)) for k, v in dict(raw.get("first", {})).items()}
    for risk in first:
        if risk not in RISKS:
            raise ValueError(f"strategy '{name}': first.{risk} is not a risk category")
    return Strategy(
        name=name,
        kind="step",
        label=str(raw.get("label", name)),
        first=first,
        switch_to=tuple(parse_regimen(str(s)) for s in raw.get("switch_to", [])),
        dxa_interval_months=_months(raw.get("dxa_interval_months", 24)),
    )


def known_strategies(extra: Mapping[str, Any] | None = None) -> dict[str, Mapping[str, Any]]:
    table = dict(knowledge().table("simulation.strategies")["strategies"])
    if extra:
        table.update(extra)
    return table


def resolve_strategy(spec: str, extra: Mapping[str, Any] | None = None) -> Strategy:
    """``step``, ``t2t``, ``t2t:<profile>`` or the name of a strategy table."""
    from osteotarget.base.profile import list_profiles

    if spec.startswith("t2t:"):
        profile = spec.partition(":")[2]
        if profile not in list_profiles():
            raise ValueError(
                f"strategy '{spec}': unknown profile '{profile}' "
                f"(known: {', '.join(list_profiles())})"
            )
        return Strategy(
            name=spec, kind="t2t", label=f"treat-to-target ({profile})", profile=profile
        )
    table = known_strategies(extra)
    if spec not in table:
        raise ValueError(
            f"strategy '{spec}': unknown (known: {', '.join(sorted(table))}, t2t:<profile>)"
        )
    return strategy_from_table(spec, table[spec])
