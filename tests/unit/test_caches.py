"""The performance caches return exactly what the uncached code computes."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import date
from pathlib import Path

from osteotarget.base.context import Context
from osteotarget.base.history import History
from osteotarget.base.profile import load_profile
from osteotarget.densitometry import assess_densitometry
from osteotarget.knowledge import knowledge
from osteotarget.model import parse_patient
from osteotarget.projection import api as projection_api
from osteotarget.projection.fracture import OUTCOMES, risk_reduction
from osteotarget.risk import facts_of
from osteotarget.therapy import options as options_module
from osteotarget.therapy.catalogue import regimens
from osteotarget.therapy.safety import drug_safety

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "spec_examples"
AS_OF = date(2026, 1, 1)


def test_cached_candidates_equal_the_catalogue() -> None:
    assert list(options_module._candidates()) == regimens()
    assert options_module._candidates() is options_module._candidates()
    drugs = {d for r in regimens() for d in r.drugs} | set(knowledge().table("drugs.drugs"))
    assert options_module._safety_drugs() == tuple(sorted(drugs))


def test_safety_by_drug_equals_per_drug_safety() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        patient = parse_patient(json.loads(path.read_text()))
        dens = assess_densitometry(patient, AS_OF)
        facts = facts_of(patient, AS_OF, dens)
        history = History(patient, AS_OF)
        ctx = Context(patient, AS_OF, load_profile("t2t2024"), knowledge(), dens)
        fresh = Context(patient, AS_OF, load_profile("t2t2024"), knowledge(), dens)
        cached = options_module.safety_by_drug(ctx, facts, history)
        expected = {d: drug_safety(fresh, facts, history, d) for d in sorted(cached)}
        assert list(cached) == list(options_module._safety_drugs())
        assert cached == expected
        assert ctx.used == fresh.used


def test_cached_risk_reductions_equal_fresh_ones() -> None:
    for value in (-3.5, -0.0, 0.0, 1.0, 2.0, 4.25, 6.0, 9.0):
        sign = math.copysign(1.0, value)
        first = projection_api._risk_reductions(value, sign)
        again = projection_api._risk_reductions(value, sign)
        fresh = tuple(risk_reduction(value, outcome) for outcome in OUTCOMES)
        assert first is again
        assert [asdict(r) for r in first] == [asdict(r) for r in fresh]
        assert all(math.copysign(1.0, r.total_hip_percent) == sign for r in first)


def test_assessment_memo_returns_what_assess_returns() -> None:
    from osteotarget.engine import assess
    from osteotarget.web.engine import _cache, run_assessment

    for path in sorted(EXAMPLES.glob("*.json")):
        patient = parse_patient(json.loads(path.read_text()))
        key = (patient.model_dump_json(), AS_OF, "t2t2024")
        _cache.pop(key, None)
        expected = assess(patient, AS_OF, "t2t2024")
        first = run_assessment(patient, AS_OF, "t2t2024")
        assert _cache[key] == b""  # a question seen once: remembered, its answer not kept
        second = run_assessment(patient, AS_OF, "t2t2024")
        assert _cache[key] != b""  # asked again: the answer is kept
        third = run_assessment(patient, AS_OF, "t2t2024")  # from the memo
        assert first == expected
        assert second == expected
        assert third == expected
        assert third.model_dump_json() == expected.model_dump_json()


def test_unexplained_criteria_fire_as_explained_ones() -> None:
    """``evaluate(..., explain=False)`` (the category asks only whether a rule fires) fires
    exactly when the full evaluation does, and a rule that fires is fully explained."""
    import gzip

    from osteotarget.base.profile import list_profiles
    from osteotarget.risk.category import risk_category
    from osteotarget.risk.criteria import Inputs, evaluate

    synth = Path(__file__).parents[1] / "fixtures/speed/synth300-seed13.ndjson.gz"
    with gzip.open(synth, "rt") as lines:
        patients = [parse_patient(json.loads(line)) for line in lines if line.strip()][:120]
    patients += [parse_patient(json.loads(p.read_text())) for p in sorted(EXAMPLES.glob("*.json"))]
    as_of = date(2026, 11, 23)
    for name in list_profiles():
        profile = load_profile(name)
        for patient in patients:
            dens = assess_densitometry(patient, as_of)
            facts = facts_of(patient, as_of, dens)
            ctx = Context(patient, as_of, profile, knowledge(), dens)
            risk_category(ctx, facts)
            inputs = Inputs(facts=facts, frax={"mof": 25.0, "hip": 2.0}, min_treatment_months=6)
            for rule in profile.get("risk.rules", []):
                full = evaluate(rule, inputs)
                quick = evaluate(rule, inputs, explain=False)
                assert quick.fired == full.fired
                if quick.fired:
                    assert quick == full
