"""Therapy catalogue, label safety, sequencing and option ranking."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import osteotarget.therapy.options as options_module
from osteotarget.base.context import Context
from osteotarget.base.history import History, drug_info
from osteotarget.base.profile import load_profile
from osteotarget.densitometry import assess_densitometry
from osteotarget.engine import assess
from osteotarget.knowledge import knowledge
from osteotarget.model import parse_patient
from osteotarget.model.codes import DRUGS
from osteotarget.risk import facts_of
from osteotarget.therapy.catalogue import regimen, regimens
from osteotarget.therapy.safety import drug_safety
from osteotarget.therapy.sequencing import sequence_cautions

AS_OF = date(2024, 1, 1)


def safety_for(drug: str, profile: str = "t2t2024", **fields: Any) -> Any:
    data: dict[str, Any] = {"id": "u", "sex": "female", "birth_date": "1950-06-01"}
    data.update(fields)
    patient = parse_patient(data)
    dens = assess_densitometry(patient, AS_OF)
    ctx = Context(patient, AS_OF, load_profile(profile), knowledge(), dens)
    return drug_safety(ctx, facts_of(patient, AS_OF, dens), History(patient, AS_OF), drug)


def egfr(value: float) -> list[dict[str, Any]]:
    return [{"date": "2023-12-01", "test": "egfr", "value": value, "unit": "mL/min/1.73m2"}]


def test_every_drug_of_the_contract_is_catalogued() -> None:
    for drug in DRUGS:
        info = drug_info(drug)
        assert info["kind"] in ("antiresorptive", "anabolic")
        assert info["citations"]


def test_regimens_reference_known_drugs() -> None:
    for r in regimens():
        assert set(r.drugs) <= set(DRUGS)
    assert regimen("romosozumab_denosumab").steps[0].months == 12


def test_renal_cut_offs_per_drug() -> None:
    assert safety_for("alendronate", labs=egfr(34)).excluded
    assert not safety_for("alendronate", labs=egfr(35)).excluded
    assert not safety_for("risedronate", labs=egfr(32)).excluded
    assert safety_for("risedronate", labs=egfr(29)).excluded
    dmab = safety_for("denosumab", labs=egfr(25))
    assert not dmab.excluded and dmab.cautions


def test_creatinine_clearance_preferred_over_egfr() -> None:
    labs = [
        *egfr(60),
        {"date": "2023-12-01", "test": "creatinine_clearance", "value": 30, "unit": "mL/min"},
    ]
    assert safety_for("zoledronate", labs=labs).excluded


def test_resolved_condition_does_not_exclude() -> None:
    cond = [{"code": "paget_disease", "onset": "2010-01-01", "resolved": "2015-01-01"}]
    assert not safety_for("teriparatide", conditions=cond).excluded


def test_romosozumab_cardiovascular_rules() -> None:
    """US label (aace2020): only an MI/stroke in the preceding year excludes; EU label
    (nogg2022, and t2t2024 by its documented profile choice): any history excludes."""
    old_mi = [{"code": "myocardial_infarction", "onset": "2020-01-01"}]
    us = safety_for("romosozumab", "aace2020", conditions=old_mi)
    assert not us.excluded and "cardiovascular_history" in us.by_code
    assert safety_for("romosozumab", "nogg2022", conditions=old_mi).excluded
    assert safety_for("romosozumab", "t2t2024", conditions=old_mi).excluded
    recent = [{"code": "stroke", "onset": "2023-06-01"}]
    assert safety_for("romosozumab", "aace2020", conditions=recent).excluded


def test_vitamin_d_low_is_a_caution_for_parenterals() -> None:
    labs = [{"date": "2023-12-01", "test": "vitamin_d_25oh", "value": 40, "unit": "nmol/L"}]
    s = safety_for("zoledronate", labs=labs)  # 40 nmol/L ≈ 16 ng/mL
    assert not s.excluded and s.cautions


def test_sequence_cautions() -> None:
    avoid = sequence_cautions(["denosumab"], ["teriparatide", "denosumab"])
    assert [c.severity for c in avoid] == ["avoid"]
    assert not sequence_cautions(["teriparatide"], ["denosumab"])
    assert sequence_cautions(["alendronate"], ["romosozumab", "alendronate"])


def test_options_fall_back_to_expected_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the projection is available, options are ranked by expected response and say
    so (basis = expected_response)."""

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("projection not built yet")

    monkeypatch.setattr(options_module, "forecast_numbers", unavailable)
    record = Path(__file__).parents[1] / "fixtures" / "spec_examples" / "naive-high-risk.json"
    a = assess(parse_patient(json.loads(record.read_text())), date(2025, 3, 1))
    assert {o.basis for o in a.options} == {"expected_response"}
    assert all(o.probability_of_target is None for o in a.options)
    first = a.options[0]
    # Largest absolute expected TH gain on file; zoledronate has only a vs-placebo figure,
    # which is not mixed with absolute changes (one basis for every regimen).
    assert [s.drug for s in first.regimen] == ["denosumab"]
    ranks = [[s.drug for s in o.regimen] for o in a.options]
    assert ranks.index(["denosumab"]) < ranks.index(["zoledronate"])
    start = next(r for r in a.recommendations if r.action == "start")
    assert "expected response" in start.rationale
    assert any(s.rule == "options.basis" and "not available" in s.outcome for s in a.trace)
