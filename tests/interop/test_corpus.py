"""The interop corpus (tests/fixtures/interop/README.md): public examples and their expected
reading. No input gives a 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from osteotarget.adapters import fhir_in
from osteotarget.model import parse_patient
from tests.service.conftest import Service

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "interop"


def load(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def read(name: str) -> fhir_in.Conversion:
    return fhir_in.read_fhir((CORPUS / name).read_text(encoding="utf-8"))


def test_us_core_bone_density_examples() -> None:
    conv = read("us-core-bone-density.json")
    patient = parse_patient(conv.records["example"])
    assert patient.sex == "female"  # from us-core-individual-sex: US Core 9 has no gender
    assert patient.birth_date.isoformat() == "1987-02-20"
    (visit,) = patient.dxa
    assert visit.date.isoformat() == "2021-11-10"
    got = {(m.site, m.side): (m.bmd, m.t_score, m.z_score) for m in visit.measurements}
    assert got == {
        ("total_hip", "left"): (0.734, -1.62, -0.19),
        ("femoral_neck", "left"): (0.631, -1.48, 0.05),
    }
    assert conv.report()["counts"]["refused"] == 0
    assert conv.outcome()["Patient/example"] == "flagged"


def test_fhir_r4_bmd_example_without_a_date_is_refused_not_guessed() -> None:
    alone = read("fhir-r4-observation-example-bmd.json")
    assert alone.records == {}
    assert alone.outcome() == {"Observation/bmd": "refused"}
    with_patient = fhir_in.records_from_resources(
        [
            {"resourceType": "Patient", "id": "pat2", "gender": "female",
             "birthDate": "1974-02-10"},
            load("fhir-r4-observation-example-bmd.json"),
        ]
    )  # fmt: skip
    assert "dxa" not in with_patient.records["pat2"]
    (issue,) = [i for i in with_patient.issues if i.resource == "Observation/bmd"]
    assert issue.level == "refused" and "date" in issue.message


def test_synthea_style_osteoporosis_patient_is_read_for_what_it_says() -> None:
    conv = read("synthea-style-osteoporosis.json")
    (record,) = conv.records.values()
    patient = parse_patient(record)
    (visit,) = patient.dxa
    (m,) = visit.measurements
    assert (m.site, m.t_score) == ("one_third_radius", -3.6)  # 38265-5: forearm, flagged
    assert [(f.site, f.date.isoformat()) for f in patient.fractures] == [("hip", "2021-02-03")]
    assert [t.drug for t in patient.therapies] == ["alendronate"]  # by name, flagged
    outcome = conv.outcome()
    by_id = {label.split("/")[-1][-1]: value for label, value in outcome.items()}
    assert by_id["2"] == "flagged"  # the T-score under the forearm code
    assert by_id["3"] == "refused"  # osteoporosis (64859006): not a code the record holds
    assert by_id["4"] == "flagged"  # Fosamax product code, read by its ingredient name
    assert by_id["6"] == "flagged"  # the second code of the same hip fracture


def test_every_fhir_fixture_imports_without_a_5xx(admin: httpx.Client) -> None:
    for name in ("us-core-bone-density.json", "fhir-r4-observation-example-bmd.json",
                 "synthea-style-osteoporosis.json"):  # fmt: skip
        response = admin.post("/api/fhir/import", content=(CORPUS / name).read_bytes())
        assert response.status_code == 200, (name, response.text)
        assert "reading" in response.json()


def test_cds_hooks_spec_patient_view_example(service: Service) -> None:
    """An API-key caller (the service may not call out to the example's fhirServer); the
    example's prefetch key is not one of ours, so the Patient cannot be read: 412."""
    body = load("cds-hooks-patient-view-request.json")
    response = httpx.post(
        f"{service.url}/cds-services/osteotarget-patient-view",
        json=body,
        headers={"X-API-Key": service.clinician_key},
    )
    assert response.status_code == 412
    assert "could not be read" in response.json()["detail"]


def test_cds_hooks_spec_order_sign_example_for_another_drug_gets_no_cards(
    service: Service,
) -> None:
    body = load("cds-hooks-order-sign-pagination-request.json")
    response = httpx.post(
        f"{service.url}/cds-services/osteotarget-order-sign",
        json=body,
        headers={"X-API-Key": service.clinician_key},
    )
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_cds_hooks_spec_feedback_examples_are_accepted(service: Service) -> None:
    for example in load("cds-hooks-feedback-examples.json"):
        response = httpx.post(
            f"{service.url}/cds-services/osteotarget-patient-view/feedback",
            json=example,
            headers={"X-API-Key": service.clinician_key},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"stored": len(example["feedback"])}


def test_synthea_style_patient_view_says_how_the_forearm_code_was_read(
    service: Service,
) -> None:
    """Issue 9: Synthea's T-score under 38265-5 used to vanish ("no DXA on record, fracture
    risk low") without a word on the card."""
    bundle = load("synthea-style-osteoporosis.json")
    resources = [e["resource"] for e in bundle["entry"]]
    patient = resources[0]
    pid = patient["id"]
    for res in resources[1:]:
        res["subject"] = {"reference": f"Patient/{pid}"}

    def searchset(kind: str) -> dict[str, Any]:
        found = [r for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r} for r in found]}  # fmt: skip

    prefetch = {
        "patient": patient,
        "dxa": searchset("Observation"),
        "labs": None,
        "conditions": searchset("Condition"),
        "medicationStatements": None,
        "medicationRequests": searchset("MedicationRequest"),
        "medicationAdministrations": None,
        "procedures": searchset("Procedure"),
    }
    url = f"{service.url}/cds-services/osteotarget-patient-view"
    body = {
        "hook": "patient-view",
        "hookInstance": "synthea-1",
        "context": {"userId": "Practitioner/p1", "patientId": pid},
        "prefetch": prefetch,
    }
    response = httpx.post(url, json=body, headers={"X-API-Key": service.clinician_key})
    assert response.status_code == 200, response.text
    summary = response.json()["cards"][-1]
    assert "forearm" in summary["detail"]
    assert "risk low" not in summary["summary"]
