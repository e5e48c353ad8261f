"""Outcomes over strategies and repeated runs: means with intervals, subgroups, costs.

Intervals are the 2.5th–97.5th percentiles of the run means (Monte-Carlo and response
uncertainty of the model as configured; not parameter uncertainty: docs/simulation.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from osteotarget.projection.response import drug_infos
from osteotarget.simulation.model import RunResult
from osteotarget.simulation.params import OUTCOMES

_PER_1000 = 1000.0  # noqa: knowledge (per 1,000)
_MONTHS_PER_YEAR = 12  # noqa: knowledge (calendar)
_LOW, _HIGH = 2.5, 97.5  # noqa: knowledge (95% interval of runs)
# Subgroup bands of baseline T-score for reporting only (no decision reads them).
T_BANDS = (
    (-99.0, -3.0, "<= -3.0"),  # noqa: knowledge (report band)
    (-3.0, -2.5, "-3.0 to -2.5"),
    (-2.5, -1.0, "-2.5 to -1.0"),
    (-1.0, 99.0, "> -1.0"),  # noqa: knowledge (report band)
)


@dataclass(frozen=True, slots=True)
class Prices:
    """A user-supplied price table (no prices are shipped as truth)."""

    currency: str
    drug_per_month: Mapping[str, float]
    injection: float
    infusion: float
    dxa: float
    fracture: Mapping[str, float]
    source: str = ""

    def scaled(self, factor: float) -> Prices:
        return Prices(
            currency=self.currency,
            drug_per_month={k: v * factor for k, v in self.drug_per_month.items()},
            injection=self.injection * factor,
            infusion=self.infusion * factor,
            dxa=self.dxa * factor,
            fracture={k: v * factor for k, v in self.fracture.items()},
            source=self.source,
        )


class PriceError(ValueError):
    pass


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise PriceError(f"{where}: '{raw}' is not a price (a number, 0 or more)")
    return float(raw)


def load_prices(path: Path) -> Prices:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PriceError(f"{path}: not a TOML price table ({exc})") from exc
    drugs = raw.get("drug_per_month", {})
    known = set(drug_infos())
    for name in drugs:
        if name not in known:
            raise PriceError(f"{path}: drug_per_month.{name} is not a known drug")
    admin = raw.get("per_administration", {})
    fx = raw.get("fracture", {})
    for name in fx:
        if name not in OUTCOMES:
            raise PriceError(f"{path}: fracture.{name} is not one of {', '.join(OUTCOMES)}")
    return Prices(
        currency=str(raw.get("currency", "")),
        drug_per_month={k: _number(v, f"drug_per_month.{k}") for k, v in drugs.items()},
        injection=_number(admin.get("injection", 0), "per_administration.injection"),
        infusion=_number(admin.get("infusion", 0), "per_administration.infusion"),
        dxa=_number(raw.get("dxa", 0), "dxa"),
        fracture={k: _number(v, f"fracture.{k}") for k, v in fx.items()},
        source=str(path),
    )


def run_cost(result: RunResult, prices: Prices) -> float:
    p = result.patient
    total = sum(prices.drug_per_month.get(d, 0.0) * m for d, m in result.drug_months.items())
    total += prices.injection * float(np.sum(p["injections"]))
    total += prices.infusion * float(np.sum(p["infusions"]))
    total += prices.dxa * float(np.sum(p["scans"]))
    total += sum(prices.fracture.get(k, 0.0) * float(np.sum(p[f"fractures_{k}"])) for k in OUTCOMES)
    return float(total)


def _interval(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "low": float(np.percentile(arr, _LOW)),
        "high": float(np.percentile(arr, _HIGH)),
    }


def _run_metrics(result: RunResult, years: int, target_reached_base: np.ndarray) -> dict[str, Any]:
    p = result.patient
    n = len(p["id"])
    py = max(n * years, 1)
    fx = {k: float(np.sum(p[f"fractures_{k}"])) for k in OUTCOMES}
    reached = p["months_to_target"]
    below = ~target_reached_base
    hit = reached[below]
    hit = hit[hit > 0]
    classes: dict[str, float] = {}
    infos = drug_infos()
    for drug, months in result.drug_months.items():
        cls = infos[drug].drug_class  # type: ignore[index]
        classes[cls] = classes.get(cls, 0.0) + months / _MONTHS_PER_YEAR
    return {
        "at_target_by_year": [
            float(result.at_target[y * _MONTHS_PER_YEAR]) for y in range(years + 1)
        ],
        "share_below_target_reaching_it": float(hit.size / max(int(below.sum()), 1)),
        "median_months_to_target": float(np.median(hit)) if hit.size else float("nan"),
        "fractures_per_1000_py": {
            "all": sum(fx.values()) * _PER_1000 / py,
            **{k: v * _PER_1000 / py for k, v in fx.items()},
        },
        "drug_years_by_class": classes,
        "injections": float(np.sum(p["injections"])),
        "infusions": float(np.sum(p["infusions"])),
        "dxa_scans": float(np.sum(p["scans"])),
        "patients": n,
        "patient_years": py,
    }


def _collapse(per_run: list[dict[str, Any]]) -> Any:
    """Nested dicts/lists of numbers over runs → the same shape of {mean, low, high}."""
    first = per_run[0]
    if isinstance(first, dict):
        keys = sorted({k for r in per_run for k in r})
        return {k: _collapse([r.get(k, 0.0) for r in per_run]) for k in keys}
    if isinstance(first, list):
        return [_collapse([r[i] for r in per_run]) for i in range(len(first))]
    return _interval([float(v) for v in per_run])


@dataclass
class Summary:
    strategies: dict[str, Any] = field(default_factory=dict)
    subgroups: list[dict[str, Any]] = field(default_factory=list)
    comparisons: dict[str, Any] = field(default_factory=dict)


def t_band(t: np.ndarray) -> np.ndarray:
    out = np.empty(t.size, dtype=object)
    for low, high, label in T_BANDS:
        out[(t > low) & (t <= high)] = label
    return out


def summarise(
    results: Mapping[str, list[RunResult]], years: int, target: float, prices: Prices | None
) -> Summary:
    summary = Summary()
    costs: dict[str, list[float]] = {}
    fx_all: dict[str, list[float]] = {}
    for name, runs in results.items():
        per_run = []
        for r in runs:
            base_at = np.asarray(r.patient["baseline_t"]) > target
            per_run.append(_run_metrics(r, years, base_at))
        collapsed = _collapse(per_run)
        collapsed["decisions"] = runs[0].decisions
        collapsed["distinct_fact_combinations"] = runs[0].distinct_fact_combinations
        if prices is not None:
            costs[name] = [run_cost(r, prices) for r in runs]
            collapsed["cost_total"] = _interval(costs[name])
            collapsed["cost_per_patient"] = _interval(
                [c / max(len(r.patient["id"]), 1) for c, r in zip(costs[name], runs, strict=True)]
            )
        fx_all[name] = [
            float(sum(np.sum(r.patient[f"fractures_{k}"]) for k in OUTCOMES)) for r in runs
        ]
        summary.strategies[name] = collapsed
    names = list(results)
    if len(names) > 1:
        ref = names[0]
        for name in names[1:]:
            avoided = [a - b for a, b in zip(fx_all[ref], fx_all[name], strict=True)]
            entry: dict[str, Any] = {"versus": ref, "fractures_avoided": _interval(avoided)}
            if prices is not None:
                extra = [b - a for a, b in zip(costs[ref], costs[name], strict=True)]
                entry["extra_cost"] = _interval(extra)
            summary.comparisons[name] = entry
    summary.subgroups = subgroup_rows(results, years, target)
    return summary


def patient_frame(results: Mapping[str, list[RunResult]]) -> pl.DataFrame:
    frames = []
    for name, runs in results.items():
        for r in runs:
            cols = {k: (v.astype(str) if v.dtype == object else v) for k, v in r.patient.items()}
            frame = pl.DataFrame(cols).with_columns(
                pl.lit(name).alias("strategy"), pl.lit(r.run).alias("run")
            )
            frames.append(frame)
    out = pl.concat(frames) if frames else pl.DataFrame()
    if out.height:
        out = out.with_columns(
            pl.Series("t_band", t_band(out["baseline_t"].to_numpy()).astype(str))
        )
    return out


def subgroup_rows(
    results: Mapping[str, list[RunResult]], years: int, target: float
) -> list[dict[str, Any]]:
    frame = patient_frame(results)
    if frame.height == 0:
        return []
    fx = pl.sum_horizontal(*[pl.col(f"fractures_{k}") for k in OUTCOMES])
    rows: list[dict[str, Any]] = []
    for by in ("risk", "t_band"):
        grouped = (
            frame.group_by("strategy", "run", by)
            .agg(
                pl.len().alias("n"),
                (fx.sum() * _PER_1000 / (pl.len() * years)).alias("fractures_per_1000_py"),
                (pl.col("final_t") > target).mean().alias("at_target_end"),
            )
            .group_by("strategy", by)
            .agg(
                pl.col("n").mean(),
                pl.col("fractures_per_1000_py").mean(),
                pl.col("at_target_end").mean(),
            )
            .sort("strategy", by)
        )
        for rec in grouped.to_dicts():
            rows.append({"subgroup": by, "value": rec.pop(by), **rec})
    return rows
