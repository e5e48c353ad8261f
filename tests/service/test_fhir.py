"""FHIR R4 in and out: real resources, validated with fhir.resources; unknown codes reported."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from osteotarget.adapters import fhir_in, fhir_out
from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.service.conftest import example_records

LOINC = "http://loinc.org"


@pytest.mark.parametrize("record", example_records(), ids=lambda r: r["id"])
def test_record_round_trips_through_fhir(record: dict[str, Any]) -> None:
    patient = parse_patient(record)
    bundle = fhir_out.record_to_bundle(patient)
    Bundle.model_validate(bundle)
    converted = fhir_in.records_from_resources(fhir_in.parse_resources(json.dumps(bundle)))
    assert converted.issues == []
    assert parse_patient(converted.records[patient.id]) == patient


def ehr_bundle() -> dict[str, Any]:
    """A bundle as an EHR might send it: urn:uuid references, ICD-10, RxNorm, UCUM."""
    pid = "urn:uuid:5f0c1b9e-0000-4000-8000-000000000001"

    def entry(resource: dict[str, Any]) -> dict[str, Any]:
        return {"resource": resource}

    def obs(code: str, when: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
        return entry(
            {
                "resourceType": "Observation",
                "id": f"o-{code}-{when}",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "subject": {"reference": pid},
                "effectiveDateTime": when + "T10:00:00Z",
                "valueQuantity": {
                    "value": value,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
                **extra,
            }
        )

    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": pid,
                "resource": {
                    "resourceType": "Patient",
                    "id": "ehr-1",
                    "gender": "female",
                    "birthDate": "1950-03-04",
                },
            },
            obs(
                "38263-0", "2022-05-01", -2.7, "{T-score}", device={"display": "Hologic Horizon A"}
            ),
            obs("24701-5", "2022-05-01", 0.58, "g/cm2"),
            obs("38267-1", "2022-05-01", -3.1, "{T-score}"),
            obs("38265-5", "2022-05-01", -2.9, "{T-score}"),
            obs("12345-6", "2022-05-01", 1.0, "1"),
            obs("33914-3", "2023-01-10", 55, "mL/min/{1.73_m2}"),
            obs("1989-3", "2023-01-10", 50, "nmol/L"),
            obs("90265-0", "2022-05-02", 21.0, "%"),
            obs("90266-8", "2022-05-02", 6.5, "%"),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c1",
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S72.001A"}
                        ]
                    },
                    "subject": {"reference": pid},
                    "onsetDateTime": "2021-11-02",
                }
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c2",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "69896004"}]},
                    "subject": {"reference": pid},
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                }
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c3",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "999999999"}]},
                    "subject": {"reference": pid},
                }
            ),
            *[
                entry(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": f"ma{i}",
                        "status": "completed",
                        "medicationCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                    "code": "993449",
                                }
                            ]
                        },
                        "subject": {"reference": pid},
                        "effectiveDateTime": when,
                    }
                )
                for i, when in enumerate(["2022-06-01", "2022-12-01", "2023-06-05"])
            ],
            entry(
                {
                    "resourceType": "MedicationStatement",
                    "id": "ms1",
                    "status": "completed",
                    "medicationCodeableConcept": {"text": "Alendronic acid 70 mg weekly tablet"},
                    "subject": {"reference": pid},
                    "effectivePeriod": {"start": "2015-01-01", "end": "2020-01-01"},
                }
            ),
            entry({"resourceType": "Encounter", "id": "e1", "status": "finished"}),
        ],
    }


def test_ehr_bundle_reads_codes_and_reports_unknown_ones() -> None:
    bundle = ehr_bundle()
    resources = fhir_in.parse_resources(json.dumps(bundle))
    converted = fhir_in.records_from_resources(resources)
    record = converted.records["ehr-1"]
    patient = parse_patient(record)
    (visit,) = patient.dxa
    sites = {m.site: m for m in visit.measurements}
    assert sites["femoral_neck"].t_score == -2.7 and sites["femoral_neck"].bmd == 0.58
    assert sites["lumbar_spine"].t_score == -3.1
    assert visit.device.manufacturer == "hologic"
    assert [f.site for f in patient.fractures] == ["hip"]
    assert patient.risk_factors.rheumatoid_arthritis is True
    assert {lab.test: lab.unit for lab in patient.labs} == {
        "egfr": "mL/min/1.73m2",
        "vitamin_d_25oh": "nmol/L",
    }
    assert patient.frax[0].mof == 21.0 and patient.frax[0].hip == 6.5
    courses = {t.drug: t for t in patient.therapies}
    assert [d.isoformat() for d in courses["denosumab"].doses] == [
        "2022-06-01",
        "2022-12-01",
        "2023-06-05",
    ]
    assert courses["alendronate"].end is not None
    reported = {(i.code, i.message.split(":")[0]) for i in converted.issues}
    codes = {i.code for i in converted.issues}
    assert {"38265-5", "12345-6", "999999999"} <= codes, reported
    forearm = next(i for i in converted.issues if i.code == "38265-5")
    assert "forearm" in forearm.message
    assert any("by its name" in i.message for i in converted.issues)
    assert any("FRAX" in i.message for i in converted.issues)


def test_ndjson_and_bundle_import_over_http(admin: httpx.Client) -> None:
    bundle = ehr_bundle()
    response = admin.post("/api/fhir/import", content=json.dumps(bundle))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == ["ehr-1"] and body["refused"] == []
    assert any(u["code"] == "38265-5" for u in body["unmapped"])
    again = admin.post("/api/fhir/import", content=json.dumps(bundle)).json()
    assert again["unchanged"] == ["ehr-1"]
    resources = [e["resource"] for e in bundle["entry"]]
    resources[0] = {**resources[0], "id": "ehr-2"}
    for r in resources[1:]:
        if "subject" in r:
            r["subject"] = {"reference": "Patient/ehr-2"}
    ndjson = "\n".join(json.dumps(r) for r in resources)
    second = admin.post(
        "/api/fhir/import", content=ndjson, headers={"Content-Type": "application/fhir+ndjson"}
    )
    assert second.json()["created"] == ["ehr-2"], second.text
    bad = admin.post("/api/fhir/import", content="{not json")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_bad_fhir_record_is_refused_naming_the_field(admin: httpx.Client) -> None:
    bundle = ehr_bundle()
    bundle["entry"][0]["resource"] = {
        **bundle["entry"][0]["resource"],
        "id": "ehr-bad",
        "gender": "unknown",
    }
    body = admin.post("/api/fhir/import", content=json.dumps(bundle)).json()
    assert body["created"] == []
    assert body["refused"][0]["problems"][0]["field"] == "sex"
    assert any("gender" in u["message"] for u in body["unmapped"])


@pytest.mark.parametrize("record", example_records(), ids=lambda r: r["id"])
def test_assessment_as_fhir_is_valid(record: dict[str, Any]) -> None:
    from datetime import date

    assessment = assess(parse_patient(record), date(2026, 1, 15))
    bundle = fhir_out.assessment_to_bundle(assessment)
    parsed = Bundle.model_validate(bundle)
    kinds = [e.resource.get_resource_type() for e in parsed.entry]
    assert "RiskAssessment" in kinds and "CarePlan" in kinds
    assert kinds.count("Goal") == len(assessment.targets)
    assert kinds.count("DetectedIssue") == sum(a.severity == "critical" for a in assessment.alerts)
    careplan = next(
        e.resource for e in parsed.entry if e.resource.get_resource_type() == "CarePlan"
    )
    assert careplan.intent == "proposal"


def test_fhir_export_endpoints(admin: httpx.Client) -> None:
    record = admin.get("/api/patients/example-denosumab-overdue/fhir/record")
    assert record.status_code == 200
    Bundle.model_validate(record.json())
    out = admin.get(
        "/api/patients/example-denosumab-overdue/fhir/assessment", params={"as_of": "2026-01-15"}
    )
    assert out.status_code == 200
    Bundle.model_validate(out.json())


def test_z_scores_round_trip_and_a_bmd_unit_under_a_t_score_code_is_reported() -> None:
    record = json.loads(json.dumps(example_records()[0]))
    record["dxa"][0]["measurements"][0]["z_score"] = -1.1  # total hip: no Z code, extension
    record["dxa"][0]["measurements"][2]["z_score"] = -1.5  # lumbar spine: LOINC 85394-5
    patient = parse_patient(record)
    bundle = fhir_out.record_to_bundle(patient)
    codes = [
        e["resource"]["code"]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert "85394-5" in codes
    converted = fhir_in.records_from_resources(fhir_in.parse_resources(json.dumps(bundle)))
    assert parse_patient(converted.records[patient.id]) == patient
    wrong = ehr_bundle()
    wrong["entry"][1]["resource"]["valueQuantity"] = {
        "value": 0.6,
        "unit": "g/cm2",
        "code": "g/cm2",
    }
    issues = fhir_in.records_from_resources(fhir_in.parse_resources(json.dumps(wrong))).issues
    assert any(i.code == "38263-0" and "does not fit" in i.message for i in issues)


def test_fhir_import_merges_into_the_stored_history(admin: httpx.Client) -> None:
    """Issue 9: importing a new DXA alone used to drop the therapy and the older scan."""
    bundle = ehr_bundle()
    bundle["entry"][0]["resource"] = {**bundle["entry"][0]["resource"], "id": "ehr-merge"}
    first = admin.post("/api/fhir/import", content=json.dumps(bundle)).json()
    assert first["created"] == ["ehr-merge"], first
    before = admin.get("/api/patients/ehr-merge").json()
    pid = bundle["entry"][0]["fullUrl"]
    later = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            bundle["entry"][0],
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "later-spine",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "38267-1"}]},
                    "subject": {"reference": pid},
                    "effectiveDateTime": "2024-05-02",
                    "valueQuantity": {"value": -2.6, "unit": "{T-score}"},
                }
            },
        ],
    }
    second = admin.post("/api/fhir/import", content=json.dumps(later)).json()
    assert second["updated"] == ["ehr-merge"], second
    assert second["merged"]["ehr-merge"]["added"] == ["dxa|2024-05-02"]
    (prov,) = second["merged"]["ehr-merge"]["provenance"]
    assert prov["resources"] == ["Observation/later-spine"] and prov["source"] == "fhir"
    after = admin.get("/api/patients/ehr-merge").json()
    record_before = before.get("record", before)
    record_after = after.get("record", after)
    assert len(record_after["dxa"]) == len(record_before["dxa"]) + 1
    assert record_after["therapies"] == record_before["therapies"]
    assert second["reading"]["counts"]["read"] >= 1


def test_wrong_shapes_in_an_import_are_refused_not_500(admin: httpx.Client) -> None:
    bundle = ehr_bundle()
    patient = {**bundle["entry"][0]["resource"], "id": "ehr-shapes"}
    patient["extension"] = [
        {
            "url": "https://osteotarget.org/fhir/StructureDefinition/record-extras",
            "valueString": json.dumps({"falls": [1], "function": "x"}),
        }
    ]
    bundle["entry"][0]["resource"] = patient
    bundle["entry"][1]["resource"]["status"] = ["final"]
    bundle["entry"][2]["resource"]["code"] = {"coding": {"code": "24701-5"}}
    for _ in range(2):  # the second time, there is a stored record to merge with
        response = admin.post("/api/fhir/import", content=json.dumps(bundle))
        assert response.status_code == 200, response.text
        assert response.json()["refused"][0]["source"].startswith("fhir")
