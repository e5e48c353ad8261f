"""What we emit (issue 9): valid against the official R4 JSON schema and fhir.resources, with
URI references, absolute fullUrls, RxNorm names, Goal dates in order, every drug coded."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from osteotarget.adapters import cdshooks, fhir_in, fhir_out
from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.interop.schema import schema_errors
from tests.service.conftest import example_records

AS_OF = date(2026, 1, 15)


def with_every_drug(record: dict[str, Any]) -> dict[str, Any]:
    """The record plus courses of the drugs without an RxNorm code here (MHT, bazedoxifene)
    and zoledronate, so every export path is exercised."""
    out = json.loads(json.dumps(record))
    out["id"] = record["id"] + "-drugs"
    out["therapies"] = [
        {"drug": "menopausal_hormone_therapy", "start": "2005-01-01", "end": "2010-01-01"},
        {"drug": "bazedoxifene", "start": "2010-02-01", "end": "2012-02-01"},
        {"drug": "zoledronate", "start": "2012-03-01", "end": "2015-03-01",
         "doses": ["2012-03-01", "2013-03-04", "2014-03-03"]},
    ]  # fmt: skip
    return out


RECORDS = [*example_records(), *(with_every_drug(r) for r in example_records()[:1])]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["id"])
def test_record_bundle_passes_the_r4_json_schema(record: dict[str, Any]) -> None:
    bundle = fhir_out.record_to_bundle(parse_patient(record))
    assert schema_errors(bundle) == []
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith(("urn:uuid:", "https://", "http://"))


@pytest.mark.parametrize("record", example_records(), ids=lambda r: r["id"])
def test_assessment_bundle_passes_the_r4_json_schema(record: dict[str, Any]) -> None:
    assessment = assess(parse_patient(record), AS_OF)
    bundle = fhir_out.assessment_to_bundle(assessment)
    assert schema_errors(bundle) == []
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "DetectedIssue" and "reference" in res:
            assert res["reference"].startswith(("https://", "http://")), res["reference"]
        if res["resourceType"] == "Goal":
            for target in res["target"]:
                if "dueDate" in target and "startDate" in res:
                    assert target["dueDate"] >= res["startDate"]


def test_card_suggestions_pass_the_r4_json_schema() -> None:
    for record in example_records():
        assessment = assess(parse_patient(record), AS_OF)
        for card in cdshooks.patient_view_cards(assessment, "https://x.example/cds/open/h"):
            for suggestion in card.get("suggestions", []):
                for action in suggestion["actions"]:
                    assert schema_errors(action["resource"]) == []


def test_zoledronate_is_shown_by_its_rxnorm_name() -> None:
    bundle = fhir_out.record_to_bundle(parse_patient(with_every_drug(example_records()[0])))
    codings = [
        c
        for e in bundle["entry"]
        for c in e["resource"].get("medicationCodeableConcept", {}).get("coding", [])
    ]
    zoledronic = [c for c in codings if c.get("code") == "77655"]
    assert zoledronic and all(c["display"] == "zoledronic acid" for c in zoledronic)


def test_mht_and_bazedoxifene_are_coded_and_round_trip() -> None:
    patient = parse_patient(with_every_drug(example_records()[0]))
    bundle = fhir_out.record_to_bundle(patient)
    statements = [
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]  # fmt: skip
    assert all(s["medicationCodeableConcept"].get("coding") for s in statements)
    converted = fhir_in.records_from_resources(fhir_in.parse_resources(json.dumps(bundle)))
    assert [i for i in converted.issues if i.level == "refused"] == []
    again = parse_patient(converted.records[patient.id])
    assert {t.drug for t in again.therapies} == {t.drug for t in patient.therapies}
    assert again == patient


def test_a_goal_due_before_the_assessment_has_no_later_start() -> None:
    record = next(r for r in example_records() if r["therapies"])
    assessment = assess(parse_patient(record), date(2045, 1, 1))  # every target date passed
    bundle = fhir_out.assessment_to_bundle(assessment)
    goals = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal"]
    for goal in goals:
        for target in goal["target"]:
            if "dueDate" in target and "startDate" in goal:
                assert target["dueDate"] >= goal["startDate"]
