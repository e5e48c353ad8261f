"""Risk criteria and FRAX adjustments (Kanis 2011 glucocorticoid table; Leslie 2011 offset)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from osteotarget.base.context import Context
from osteotarget.base.profile import load_profile
from osteotarget.densitometry import assess_densitometry
from osteotarget.knowledge import knowledge
from osteotarget.model import parse_patient
from osteotarget.risk import facts_of, frax_values, risk_category
from osteotarget.risk.criteria import Inputs, evaluate

AS_OF = date(2024, 1, 1)


def make(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "u", "sex": "female", "birth_date": "1950-06-01"}
    base.update(fields)
    return base


def visit(day: str, **t: float) -> dict[str, Any]:
    return {
        "date": day,
        "device": {"manufacturer": "ge_lunar"},
        "measurements": [{"site": s, "t_score": v} for s, v in t.items()],
    }


def context(data: dict[str, Any], profile: str = "t2t2024") -> tuple[Context, Any]:
    patient = parse_patient(data)
    dens = assess_densitometry(patient, AS_OF)
    ctx = Context(patient, AS_OF, load_profile(profile), knowledge(), dens)
    return ctx, facts_of(patient, AS_OF, dens)


def inputs(data: dict[str, Any]) -> Inputs:
    _, facts = context(data)
    return Inputs(facts=facts, frax={"mof": None, "hip": None})


def test_t_score_criterion_uses_latest_scan() -> None:
    data = make(dxa=[visit("2020-01-01", total_hip=-3.2), visit("2023-01-01", total_hip=-2.2)])
    result = evaluate({"criterion": "t_score", "op": "<=", "value": -2.5}, inputs(data))
    assert not result.fired


def test_fracture_recency_window() -> None:
    data = make(fractures=[{"date": "2022-06-01", "site": "hip"}])
    rule = {"criterion": "fracture", "within_months": 12}
    assert not evaluate(rule, inputs(data)).fired
    assert evaluate({**rule, "within_months": 24}, inputs(data)).fired


def test_vertebral_count_includes_vfa() -> None:
    v = visit("2023-01-01", total_hip=-2.0)
    v["vfa"] = {"vertebral_fractures": 2}
    data = make(dxa=[v])
    assert evaluate({"criterion": "vertebral_fractures", "min_count": 2}, inputs(data)).fired


def test_non_fragility_fracture_ignored() -> None:
    data = make(fractures=[{"date": "2023-06-01", "site": "hip", "fragility": False}])
    assert not evaluate({"criterion": "fracture"}, inputs(data)).fired


def test_combinators() -> None:
    data = make(
        dxa=[visit("2023-01-01", total_hip=-1.5)],
        fractures=[{"date": "2020-01-01", "site": "distal_forearm"}],
    )
    rule = {
        "criterion": "all_of",
        "rules": [
            {"criterion": "t_score", "op": "<", "value": -1.0},
            {
                "criterion": "any_of",
                "rules": [
                    {"criterion": "fracture", "sites": ["pelvis"]},
                    {"criterion": "fracture", "sites": ["distal_forearm"]},
                ],
            },
        ],
    }
    assert evaluate(rule, inputs(data)).fired


def test_unknown_criterion_refused() -> None:
    with pytest.raises(KeyError):
        evaluate({"criterion": "astrology"}, inputs(make()))


def test_glucocorticoid_low_dose_lowers_hip_frax() -> None:
    data = make(
        risk_factors={"glucocorticoids": {"current": True, "prednisolone_mg_per_day": 2}},
        frax=[{"date": "2023-01-01", "country": "US", "with_bmd": False, "mof": 10, "hip": 2}],
    )
    ctx, facts = context(data)
    hip = next(v for v in frax_values(ctx, facts) if v.outcome == "hip")
    assert hip.entered == 2 and hip.adjusted == pytest.approx(1.2)  # age 73 → column 70: −40%


def test_glucocorticoid_medium_dose_no_change() -> None:
    data = make(
        risk_factors={"glucocorticoids": {"current": True, "prednisolone_mg_per_day": 5}},
        frax=[{"date": "2023-01-01", "country": "US", "with_bmd": False, "mof": 10, "hip": 2}],
    )
    ctx, facts = context(data)
    assert all(v.adjusted is None for v in frax_values(ctx, facts))


def test_offset_shown_but_not_applied_outside_nogg() -> None:
    data = make(
        dxa=[visit("2023-01-01", femoral_neck=-1.0, lumbar_spine=-2.6)],
        frax=[{"date": "2023-01-01", "country": "US", "with_bmd": True, "mof": 10, "hip": 1}],
    )
    ctx, facts = context(data)
    mof = next(v for v in frax_values(ctx, facts) if v.outcome == "mof")
    assert mof.adjusted is None
    assert "does not apply" in mof.adjustments[0].text


def test_category_reasons_carry_citations() -> None:
    data = make(dxa=[visit("2023-01-01", total_hip=-3.2)])
    ctx, facts = context(data, "aace2020")
    risk = risk_category(ctx, facts)
    assert risk.category == "very_high"
    assert all(r.citations for r in risk.reasons)
    assert any(step.rule == "risk.category" for step in ctx.trace)


def test_iof_profile_has_no_moderate_tier() -> None:
    data = make(dxa=[visit("2023-01-01", total_hip=-1.8)])
    ctx, facts = context(data, "iof_esceo2020")
    assert risk_category(ctx, facts).category == "low"


def test_t_score_ever_uses_the_lowest_scan() -> None:
    data = make(dxa=[visit("2020-01-01", total_hip=-2.7), visit("2023-01-01", total_hip=-2.2)])
    rule = {"criterion": "t_score_ever", "op": "<=", "value": -2.5}
    assert evaluate(rule, inputs(data)).fired
    assert not evaluate({"criterion": "t_score", "op": "<=", "value": -2.5}, inputs(data)).fired


def test_fracture_on_treatment_counts_only_after_min_months() -> None:
    data = make(
        fractures=[{"date": "2022-05-01", "site": "distal_forearm"}],
        therapies=[{"drug": "alendronate", "start": "2022-01-10"}],
    )
    _, facts = context(data)
    rule = {"criterion": "fracture_on_treatment"}
    early = Inputs(facts=facts, frax={"mof": None, "hip": None}, min_treatment_months=12)
    assert not evaluate(rule, early).fired
    assert evaluate(rule, Inputs(facts=facts, frax={"mof": None, "hip": None})).fired
