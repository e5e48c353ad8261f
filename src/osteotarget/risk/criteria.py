"""Risk criteria as data: each profile rule names a criterion; this module evaluates it.

Criteria: ``t_score`` (op, value, sites), ``t_score_ever`` (lowest at any DXA),
``fracture`` (sites, within_months, min_count), ``vertebral_fractures`` (min_count,
within_months; VFA counts), ``fracture_on_treatment`` (after the IOF minimum duration),
``fracture_on_glucocorticoids``, ``frax`` (outcome, op, value), ``frax_threshold`` (table,
multiplier: MOF or hip at or above the multiple of the age band's intervention threshold,
NOGG 2022), ``falls`` (injurious, within_months, min_count), ``glucocorticoid_dose``
(min_mg, min_months), ``risk_factor`` (flag: a recorded ``risk_factors`` flag, e.g.
``aromatase_inhibitor``), and the combinators
``all_of`` / ``any_of`` over nested ``rules``. Every criterion is monotone: a lower
T-score or one more fracture can only make it fire, never stop it firing.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from osteotarget.base.facts import Facts
from osteotarget.base.history import History
from osteotarget.dates import add_months, months_between
from osteotarget.model.codes import SITES

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SITE_WORDS = {"total_hip": "total hip", "femoral_neck": "femoral neck", "lumbar_spine": "spine"}


@dataclass(frozen=True, slots=True)
class Inputs:
    facts: Facts
    frax: Mapping[str, float | None]
    min_treatment_months: float = 0.0
    """IOF 2012: a fracture counts as "on treatment" only after this long on the course."""
    t_from_lowest_ever: bool = False
    """AACE 2020: once made, the diagnosis persists: T-score criteria read the lowest T-score
    at any DXA, so the category does not fall as a treated T-score rises."""
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Age-dependent FRAX threshold tables by knowledge path (``frax_threshold``)."""

    @property
    def history(self) -> History:
        return History(self.facts.patient, self.facts.as_of)


@dataclass(frozen=True, slots=True)
class Result:
    fired: bool
    text: str
    inputs: dict[str, Any]


_QUIET = Result(False, "", {})
"""A criterion that did not fire, asked only whether it fires (``explain=False``)."""


def _months(rule: Mapping[str, Any]) -> float | None:
    value = rule.get("within_months")
    return None if value is None else float(value)


def _t_score(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    sites = list(rule.get("sites", SITES))
    op, value = str(rule["op"]), float(rule["value"])
    source = i.facts.lowest_t_ever(sites) if i.t_from_lowest_ever else i.facts.latest_t
    seen = {s: t for s, t in source.items() if s in sites}
    hits = {s: t for s, t in seen.items() if _OPS[op](t, value)}
    if not hits and not explain:
        return _QUIET
    where = ", ".join(f"{_SITE_WORDS.get(s, s)} {t:+.1f}" for s, t in sorted(hits.items()))
    ever = " at any DXA" if i.t_from_lowest_ever else ""
    return Result(
        bool(hits), f"T-score {op} {value:+.1f}{ever} ({where or 'no site'})", {"t_scores": seen}
    )


def _fracture(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    months = _months(rule)
    pool = i.facts.fractures_since(months) if months else i.facts.fractures()
    sites = rule.get("sites")
    if sites:
        pool = [f for f in pool if f.site in sites]
    need = int(rule.get("min_count", 1))
    if len(pool) < need and not explain:
        return _QUIET
    what = "/".join(str(s).replace("_", " ") for s in sites) if sites else "fragility"
    when = f" within {months:g} months" if months else ""
    found = ", ".join(f"{f.site.replace('_', ' ')} {f.date.isoformat()}" for f in pool)
    count = f"≥ {need} " if need > 1 else ""
    return Result(
        len(pool) >= need,
        f"{count}{what} fracture{'s' if need > 1 else ''}{when} ({found or 'none'})",
        {"fractures": [f"{f.site} {f.date.isoformat()}" for f in pool]},
    )


def _vertebral(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    months = _months(rule)
    need = int(rule.get("min_count", 1))
    n = i.facts.vertebral_count(months)
    if n < need and not explain:
        return _QUIET
    when = f" within {months:g} months" if months else ""
    return Result(n >= need, f"≥ {need} vertebral fracture(s){when} (found {n})", {"count": n})


def _t_score_ever(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    """Lowest T-score at any DXA up to as_of (AACE 2020: once diagnosed, the diagnosis of
    osteoporosis persists even if T later rises above -2.5)."""
    sites = list(rule.get("sites", SITES))
    op, value = str(rule["op"]), float(rule["value"])
    seen = i.facts.lowest_t_ever(sites)
    hits = {s: t for s, t in seen.items() if _OPS[op](t, value)}
    if not hits and not explain:
        return _QUIET
    where = ", ".join(f"{_SITE_WORDS.get(s, s)} {t:+.1f}" for s, t in sorted(hits.items()))
    return Result(
        bool(hits),
        f"T-score {op} {value:+.1f} at any DXA ({where or 'no site'})",
        {"lowest_t_scores": seen},
    )


def _on_treatment(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    history = i.history
    hits: list[str] = []
    for f in i.facts.fractures():
        course = history.course_at(f.date)
        if course is None or months_between(course.start, f.date) < i.min_treatment_months:
            continue
        hits.append(f"{f.site} {f.date.isoformat()} on {course.drug}")
    if not hits and not explain:
        return _QUIET
    after = f" after ≥ {i.min_treatment_months:g} months" if i.min_treatment_months else ""
    return Result(
        bool(hits),
        f"fracture on osteoporosis therapy{after} ({', '.join(hits) or 'none'})",
        {"fractures": hits},
    )


def _on_glucocorticoids(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    gc = i.facts.patient.risk_factors.glucocorticoids
    hits = [
        f for f in i.facts.fractures() if gc.current and (gc.start is None or gc.start <= f.date)
    ]
    return Result(bool(hits), "fracture while on glucocorticoids", {"count": len(hits)})


def _frax(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    outcome, op, value = str(rule["outcome"]), str(rule["op"]), float(rule["value"])
    seen = i.frax.get(outcome)
    label = "MOF" if outcome == "mof" else "hip"
    if seen is None:
        return Result(False, f"FRAX {label} {op} {value:g}% (not available)", {})
    return Result(
        _OPS[op](seen, value), f"FRAX {label} {seen:.1f}% {op} {value:g}%", {outcome: seen}
    )


def frax_threshold_table(table: Mapping[str, Any] | None) -> bool:
    """Whether an age-dependent threshold table has values on file."""
    return bool(table) and bool(list((table or {}).get("ages", [])))


def _frax_threshold(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    """NOGG 2022: FRAX MOF or hip at or above *multiplier* x the intervention threshold of the
    patient's age band (with BMD, the higher of the two assessments decides)."""
    table = i.tables.get(str(rule["table"]))
    multiplier = float(rule.get("multiplier", 1.0))
    what = "the intervention threshold" if multiplier == 1 else f"{multiplier:g} × the threshold"
    if not frax_threshold_table(table):
        return Result(False, f"FRAX ≥ {what} (age-dependent thresholds not on file)", {})
    assert table is not None
    ages = [int(a) for a in table["ages"]]
    age = i.facts.age
    if age < ages[0]:
        return Result(False, f"FRAX ≥ {what} (no threshold below age {ages[0]})", {})
    band = bisect_right(ages, age) - 1
    hits: list[str] = []
    seen: dict[str, float] = {}
    for outcome, label in (("mof", "MOF"), ("hip", "hip")):
        value = i.frax.get(outcome)
        limits = list(table.get(outcome, []))
        if value is None or band >= len(limits):
            continue
        seen[outcome] = value
        threshold = float(limits[band]) * multiplier
        if value >= threshold:
            hits.append(f"{label} {value:.1f}% ≥ {threshold:.1f}%")
    if not hits and not explain:
        return _QUIET
    return Result(
        bool(hits),
        f"FRAX ≥ {what} for age {age} ({', '.join(hits) or 'not reached'})",
        {"age": age, **seen},
    )


def _falls(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    months = _months(rule)
    since = add_months(i.facts.as_of, -months) if months else None
    pool = [
        f
        for f in i.facts.patient.falls
        if f.date <= i.facts.as_of
        and (since is None or f.date >= since)
        and (f.injurious or not rule.get("injurious", False))
    ]
    need = int(rule.get("min_count", 1))
    kind = "injurious fall" if rule.get("injurious", False) else "fall"
    return Result(
        len(pool) >= need, f"≥ {need} {kind}(s) (found {len(pool)})", {"falls": len(pool)}
    )


def _gc_dose(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    """Current prednisolone-equivalent dose at least ``min_mg``; with ``min_months``, taken for
    at least that long by the recorded start (a course with no recorded start counts)."""
    gc = i.facts.patient.risk_factors.glucocorticoids
    dose = gc.prednisolone_mg_per_day if gc.current else None
    need = float(rule["min_mg"])
    fired = dose is not None and dose >= need
    text = f"prednisolone ≥ {need:g} mg/day (current {dose or 0:g})"
    months = rule.get("min_months")
    if months is not None:
        long_enough = gc.start is None or months_between(gc.start, i.facts.as_of) >= float(months)
        fired = fired and long_enough
        since = f"since {gc.start.isoformat()}" if gc.start else "start not recorded"
        text = (
            f"prednisolone ≥ {need:g} mg/day for ≥ {float(months):g} months "
            f"(current {dose or 0:g}, {since})"
        )
    return Result(fired, text, {"dose": dose})


_FLAG_WORDS = {"aromatase_inhibitor": "on an aromatase inhibitor"}


def _risk_factor(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    """A recorded ``risk_factors`` flag (True only: absent or False does not fire)."""
    flag = str(rule["flag"])
    fired = getattr(i.facts.patient.risk_factors, flag) is True
    words = _FLAG_WORDS.get(flag, flag.replace("_", " "))
    return Result(fired, words if fired else f"{words} (not recorded)", {flag: fired})


def _combined(rule: Mapping[str, Any], i: Inputs, explain: bool) -> Result:
    parts = [evaluate(sub, i, explain=explain) for sub in rule["rules"]]
    fired = (
        all(p.fired for p in parts)
        if rule["criterion"] == "all_of"
        else any(p.fired for p in parts)
    )
    if not fired and not explain:
        return _QUIET
    if not explain:
        # Fired: the text names every part, those that did not fire too.
        parts = [
            p if p.fired else evaluate(sub, i) for p, sub in zip(parts, rule["rules"], strict=True)
        ]
    joiner = " and " if rule["criterion"] == "all_of" else " or "
    return Result(fired, joiner.join(p.text for p in parts), {})


_CRITERIA: dict[str, Callable[[Mapping[str, Any], Inputs, bool], Result]] = {
    "t_score": _t_score,
    "t_score_ever": _t_score_ever,
    "fracture": _fracture,
    "vertebral_fractures": _vertebral,
    "fracture_on_treatment": _on_treatment,
    "fracture_on_glucocorticoids": _on_glucocorticoids,
    "frax": _frax,
    "frax_threshold": _frax_threshold,
    "falls": _falls,
    "glucocorticoid_dose": _gc_dose,
    "risk_factor": _risk_factor,
    "all_of": _combined,
    "any_of": _combined,
}


def evaluate(rule: Mapping[str, Any], inputs: Inputs, *, explain: bool = True) -> Result:
    """Whether *rule* fires, with its text and inputs. ``explain=False``: a rule that does
    not fire is answered without them (``fired`` is the same either way)."""
    criterion = str(rule["criterion"])
    if criterion not in _CRITERIA:
        raise KeyError(f"unknown risk criterion '{criterion}'")
    return _CRITERIA[criterion](rule, inputs, explain)
