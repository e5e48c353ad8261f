"""FRAX as entered, with the published arithmetic adjustments shown next to it.

* glucocorticoid dose (Kanis 2011): percent change by age for low and high daily
  prednisolone doses (bands in ``rules/frax_adjustments.toml``);
* lumbar spine - femoral neck offset (Leslie 2011): MOF changed by one tenth per rounded
  T-score unit that the spine is below (raise) or above (lower) the femoral neck.
"""

from __future__ import annotations

from bisect import bisect_right

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.model.assessment import Reason, RiskFraxValue
from osteotarget.model.record import DxaVisit, Frax

_GC = "rules.frax_adjustments.glucocorticoid_dose"
_OFFSET = "rules.frax_adjustments.spine_femoral_neck_offset"


def latest_frax(facts: Facts) -> Frax | None:
    entries = [f for f in facts.patient.frax if f.date <= facts.as_of]
    return entries[-1] if entries else None


def _gc_percent(ctx: Context, outcome: str, dose: float, age: int) -> tuple[float, str] | None:
    table = ctx.kb.table(_GC)
    low_below = ctx.number(f"{_GC}.low_below_mg")
    high_from = ctx.number(f"{_GC}.high_from_mg")
    if dose < low_below:
        band = "low"
    elif dose >= high_from:
        band = "high"
    else:
        return None
    ages = [int(a) for a in table["ages"]]
    column = max(0, bisect_right(ages, age) - 1)
    key = f"{outcome}_{band}"
    percent = ctx.number(f"{_GC}.{key}[{column}]")
    return percent, f"{band} dose ({dose:g} mg/day), age column {ages[column]}"


def _visit_for(facts: Facts, frax: Frax) -> DxaVisit | None:
    visits = [v for v in facts.patient.dxa if v.date <= frax.date]
    return visits[-1] if visits else None


def _spine_offset_units(facts: Facts, frax: Frax) -> tuple[int, float, float] | None:
    visit = _visit_for(facts, frax)
    if visit is None:
        return None
    t = {m.site: m.t_score for m in visit.measurements if m.t_score is not None}
    if "lumbar_spine" not in t or "femoral_neck" not in t:
        return None
    fn, ls = float(t["femoral_neck"]), float(t["lumbar_spine"])
    return round(fn - ls), fn, ls


def frax_values(ctx: Context, facts: Facts) -> list[RiskFraxValue]:
    """The latest FRAX (MOF and hip) with each published adjustment and its result."""
    frax = latest_frax(facts)
    if frax is None:
        return []
    gc = facts.patient.risk_factors.glucocorticoids
    out: list[RiskFraxValue] = []
    for outcome, entered in (("mof", frax.mof), ("hip", frax.hip)):
        if entered is None:
            continue
        value = entered
        adjustments: list[Reason] = []
        if gc.current and gc.prednisolone_mg_per_day is not None:
            found = _gc_percent(ctx, outcome, gc.prednisolone_mg_per_day, facts.age)
            if found is not None:
                percent, how = found
                value = value * (1 + percent / 100)
                adjustments.append(
                    Reason(
                        code="glucocorticoid_dose",
                        text=f"glucocorticoid {how}: {percent:+g}% → {value:.1f}%",
                        citations=["kanis2011"],
                    )
                )
        if outcome == "mof":
            offset = _spine_offset_units(facts, frax)
            if offset is not None and offset[0] != 0:
                units, fn, ls = offset
                step = ctx.number(f"{_OFFSET}.fraction_per_unit")
                shown = value * (1 + step * units)
                applied = bool(ctx.profile.get("risk.use_spine_offset", False))
                adjustments.append(
                    Reason(
                        code="spine_femoral_neck_offset",
                        text=(
                            f"lumbar spine T {ls:+.1f} vs femoral neck T {fn:+.1f}: "
                            f"{units:+d} rounded unit(s) × {step:g} → {shown:.1f}%"
                            + ("" if applied else " (shown; this profile does not apply it)")
                        ),
                        citations=["leslie2011"],
                    )
                )
                if applied:
                    value = shown
        out.append(
            RiskFraxValue(
                date=frax.date,
                outcome=outcome,
                entered=entered,
                adjusted=round(value, 2) if value != entered else None,
                adjustments=adjustments,
            )
        )
    return out


def frax_for_category(ctx: Context, values: list[RiskFraxValue], outcome: str) -> float | None:
    """The FRAX value the profile's category rules read (None if the profile reads none)."""
    mode = ctx.profile.get("risk.frax_for_category", "adjusted")
    for v in values:
        if v.outcome == outcome:
            if mode == "none":
                return None
            if mode == "adjusted" and v.adjusted is not None:
                return v.adjusted
            return v.entered
    return None
