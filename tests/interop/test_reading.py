"""FHIR reading rules (issue 9): every pattern that was misread silently now reads correctly
or is reported. Each test names the pattern; docs/api.md "Reading rules" states the rule."""

from __future__ import annotations

import json
from typing import Any

from osteotarget.adapters import fhir_in
from osteotarget.model import parse_patient

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PID = "p1"


def patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PID,
        "gender": "female",
        "birthDate": "1950-03-04",
        **extra,
    }


def obs(
    code: str, value: float, unit: str | None, when: str = "2022-05-01", **extra: Any
) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity.update({"unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
    return {
        "resourceType": "Observation",
        "id": f"o-{code}-{value}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when,
        "valueQuantity": quantity,
        **extra,
    }


def fracture(rid: str, system: str, code: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "onsetDateTime": when,
    }


def read(*resources: dict[str, Any]) -> fhir_in.Conversion:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    return fhir_in.read_fhir(json.dumps(bundle))


def measurements(conv: fhir_in.Conversion) -> dict[tuple[str, str | None], dict[str, Any]]:
    record = parse_patient(conv.records[PID])
    return {(m.site, m.side): m.model_dump() for v in record.dxa for m in v.measurements}


def test_hip_and_femur_z_score_codes_are_z_scores_not_t_scores() -> None:
    conv = read(patient(), obs("38264-8", -2.6, "{T-score}"), obs("80933-5", -1.2, "{Z-score}"),
                obs("38263-0", -2.4, "{T-score}"), obs("80934-3", -0.9, "1"))  # fmt: skip
    got = measurements(conv)
    assert got[("total_hip", None)]["t_score"] == -2.6
    assert got[("total_hip", None)]["z_score"] == -1.2
    assert got[("femoral_neck", None)]["t_score"] == -2.4
    assert got[("femoral_neck", None)]["z_score"] == -0.9


def test_a_bmd_without_a_unit_is_never_a_t_score() -> None:
    conv = read(patient(), obs("38261-4", 0.887, None), obs("38267-1", -1.0, "{T-score}"))
    got = measurements(conv)
    assert ("total_hip", None) not in got
    refused = [i for i in conv.issues if i.code == "38261-4"]
    assert refused and refused[0].level == "refused" and "BMD" in refused[0].message


def test_a_site_code_without_a_fixed_kind_and_no_telling_unit_is_reported() -> None:
    from osteotarget.adapters.codemaps import codemaps

    table = codemaps().observations["dxa"]
    table["99999-9"] = {"site": "total_hip"}
    try:
        conv = read(patient(), obs("99999-9", 0.9, "1"), obs("38267-1", -1.0, "{T-score}"))
    finally:
        del table["99999-9"]
    assert ("total_hip", None) not in measurements(conv)
    assert any(i.code == "99999-9" and "does not say" in i.message for i in conv.issues)


def test_bmd_in_mg_per_cm2_is_converted_not_refused() -> None:
    conv = read(patient(), obs("24966-4", 887, "mg/cm2"))
    assert measurements(conv)[("lumbar_spine", None)]["bmd"] == 0.887
    (issue,) = [i for i in conv.issues if i.code == "24966-4"]
    assert issue.level == "converted"
    assert conv.outcome()["Observation/o-24966-4-887"] == "converted"


def test_38265_5_is_read_as_the_forearm_t_score_and_reported_as_such() -> None:
    conv = read(patient(), obs("38265-5", -3.6, "{T-score}"))
    assert measurements(conv)[("one_third_radius", None)]["t_score"] == -3.6
    (issue,) = [i for i in conv.issues if i.code == "38265-5"]
    assert issue.level == "flagged" and "forearm" in issue.message


def test_contained_medications_resolve_within_their_own_resource() -> None:
    def order(rid: str, code: str, when: str) -> dict[str, Any]:
        return {
            "resourceType": "MedicationAdministration",
            "id": rid,
            "status": "completed",
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "med1",
                    "code": {"coding": [{"system": RXNORM, "code": code}]},
                }
            ],
            "medicationReference": {"reference": "#med1"},
            "subject": {"reference": f"Patient/{PID}"},
            "effectiveDateTime": when,
        }

    conv = read(patient(), order("a1", "993449", "2022-01-10"), order("a2", "77655", "2022-03-01"))
    courses = {t.drug: t for t in parse_patient(conv.records[PID]).therapies}
    assert set(courses) == {"denosumab", "zoledronate"}
    assert [d.isoformat() for d in courses["denosumab"].doses] == ["2022-01-10"]
    assert [d.isoformat() for d in courses["zoledronate"].doses] == ["2022-03-01"]


def test_one_fracture_coded_twice_or_across_encounters_is_one_event() -> None:
    conv = read(
        patient(),
        fracture("s1", SNOMED, "5913000", "2021-11-02"),  # Synthea: two codes, one event
        fracture("s2", SNOMED, "359817006", "2021-11-02"),
        fracture("i1", ICD10CM, "S72.001A", "2021-11-03"),  # initial encounter
        fracture("i2", ICD10CM, "S72.001D", "2022-01-15"),  # subsequent encounter
        fracture("i3", ICD10CM, "S72.001S", "2023-06-01"),  # sequela
        fracture("w1", ICD10CM, "S52.501A", "2024-02-01"),  # a different event
    )
    fractures = parse_patient(conv.records[PID]).fractures
    assert [(f.site, f.date.isoformat()) for f in fractures] == [
        ("hip", "2021-11-02"),
        ("distal_forearm", "2024-02-01"),
    ]
    assert {i.resource for i in conv.issues if i.level == "flagged"} >= {
        "Condition/s2", "Condition/i1", "Condition/i2", "Condition/i3"}  # fmt: skip


def test_a_new_fracture_of_the_same_site_after_the_window_is_a_new_event() -> None:
    conv = read(patient(), fracture("a", SNOMED, "5913000", "2019-01-01"),
                fracture("b", SNOMED, "5913000", "2022-01-01"))  # fmt: skip
    assert len(parse_patient(conv.records[PID]).fractures) == 2


def test_laterality_from_body_site_text_keeps_both_hips() -> None:
    conv = read(
        patient(),
        obs("38264-8", -2.1, "{T-score}", bodySite={"text": "Left hip"}),
        obs("38264-8", -2.7, "{T-score}", bodySite={"text": "Right hip"}),
    )
    got = measurements(conv)
    assert got[("total_hip", "left")]["t_score"] == -2.1
    assert got[("total_hip", "right")]["t_score"] == -2.7


def test_us_core_lateralised_codes_are_read_with_their_side() -> None:
    conv = read(patient(), obs("80946-7", -1.62, "1"), obs("46278-8", 0.734, "g/cm2"),
                obs("80938-4", -0.19, "1"))  # fmt: skip
    hip = measurements(conv)[("total_hip", "left")]
    assert (hip["t_score"], hip["bmd"], hip["z_score"]) == (-1.62, 0.734, -0.19)


def test_denosumab_from_statements_and_orders_has_no_invented_doses() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "993449"}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectivePeriod": {"start": "2021-01-01"},
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "993449"}]},
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": "2024-03-01",
    }
    conv = read(patient(), statement, request)
    (course,) = parse_patient(conv.records[PID]).therapies
    assert course.drug == "denosumab" and course.doses == []
    assert any("no dose dates" in i.message and i.level == "flagged" for i in conv.issues)


def test_us_core_individual_sex_extension_gives_the_sex() -> None:
    ext = {
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-individual-sex",
        "valueCoding": {"system": SNOMED, "code": "248152002", "display": "Female (finding)"},
    }
    res = {"resourceType": "Patient", "id": PID, "birthDate": "1950-03-04", "extension": [ext]}
    conv = read(res)
    assert parse_patient(conv.records[PID]).sex == "female"
    assert any("individual-sex" in i.message for i in conv.issues)


def test_partial_dates_are_imputed_mid_period_and_flagged() -> None:
    conv = read(
        patient(birthDate="1950"),
        obs("38267-1", -2.8, "{T-score}", when="2019-05"),
        fracture("f", SNOMED, "5913000", "2019"),
    )
    record = parse_patient(conv.records[PID])
    assert record.birth_date.isoformat() == "1950-07-01"
    assert record.dxa[0].date.isoformat() == "2019-05-15"
    assert record.fractures[0].date.isoformat() == "2019-07-01"
    flagged = [i for i in conv.issues if "partial date" in i.message]
    assert len(flagged) == 3 and all(i.level == "flagged" for i in flagged)


def test_wrong_json_types_are_reported_not_a_crash() -> None:
    bad_status = {**obs("38267-1", -2.8, "{T-score}"), "id": "bad-status", "status": ["final"]}
    bad_coding = {**obs("38264-8", -2.0, "{T-score}"), "id": "bad-coding",
                  "code": {"coding": {"system": LOINC, "code": "38264-8"}}}  # fmt: skip
    bad_quantity = {**obs("38263-0", -2.0, "{T-score}"), "id": "bad-q", "valueQuantity": [1]}
    conv = read(patient(), bad_status, bad_coding, bad_quantity, obs("24966-4", 0.9, "g/cm2"))
    outcome = conv.outcome()
    assert outcome["Observation/bad-status"] == "refused"
    assert outcome["Observation/bad-coding"] == "refused"
    assert outcome["Observation/bad-q"] == "refused"
    assert measurements(conv)[("lumbar_spine", None)]["bmd"] == 0.9


def test_patient_ids_are_validated() -> None:
    res = {"resourceType": "Patient", "gender": "female", "birthDate": "1950-01-01",
           "identifier": [{"value": "MRN 12345"}]}  # fmt: skip
    conv = read(res)
    assert conv.records == {}
    assert any("not a FHIR id" in i.message for i in conv.issues)


def test_the_report_counts_each_resource_once() -> None:
    conv = read(patient(), obs("24966-4", 887, "mg/cm2"), obs("38265-5", -3.6, "{T-score}"),
                obs("12345-6", 1.0, "1"), obs("38267-1", -2.0, "{T-score}"))  # fmt: skip
    report = conv.report()
    assert report["counts"] == {"read": 2, "converted": 1, "flagged": 1, "refused": 1}
