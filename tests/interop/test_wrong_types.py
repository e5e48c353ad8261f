"""No field of the wrong JSON type crashes the reader (issue 9: 500s on `status` as an array,
`coding` not a list): every corpus resource, each field replaced by each wrong type."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from osteotarget.adapters import fhir_in
from osteotarget.model import RecordError, parse_patient

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "interop"
WRONG: list[Any] = [["x"], 7, {"a": 1}, None, "", True]


def corpus_resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in ("us-core-bone-density.json", "synthea-style-osteoporosis.json",
                 "fhir-r4-observation-example-bmd.json"):  # fmt: skip
        out.extend(fhir_in.parse_resources((CORPUS / name).read_text(encoding="utf-8")))
    return out


def test_every_field_of_every_wrong_type_is_reported_never_raised() -> None:
    resources = corpus_resources()
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    tried = 0
    for index, resource in enumerate(resources):
        for key in [k for k in resource if k not in ("resourceType",)]:
            for wrong in WRONG:
                mutated = copy.deepcopy(resource)
                mutated[key] = wrong
                others = [r for i, r in enumerate(resources) if i != index]
                inputs = [*patients, mutated] if mutated["resourceType"] != "Patient" else [
                    mutated, *others]  # fmt: skip
                conversion = fhir_in.records_from_resources(inputs)
                json.dumps(conversion.report())  # the report itself is plain JSON
                tried += 1
    assert tried > 300


def test_nested_codings_of_the_wrong_type_are_reported() -> None:
    for resource in corpus_resources():
        if "code" not in resource:
            continue
        for wrong in WRONG:
            mutated = copy.deepcopy(resource)
            mutated["code"] = {"coding": wrong, "text": wrong}
            fhir_in.records_from_resources([mutated])
            mutated["code"] = {"coding": [wrong]}
            fhir_in.records_from_resources([mutated])


def test_a_malformed_osteotarget_extension_refuses_that_record_only() -> None:
    bad = {
        "resourceType": "Patient",
        "id": "bad-extras",
        "gender": "female",
        "birthDate": "1950-01-01",
        "extension": [
            {
                "url": fhir_in.EXT_EXTRAS,
                "valueString": json.dumps({"risk_factors": [1], "dxa_z": "x"}),
            }
        ],
    }
    good = {"resourceType": "Patient", "id": "good", "gender": "male", "birthDate": "1950-01-01"}
    conversion = fhir_in.records_from_resources([bad, good])
    assert "good" in conversion.records
    if "bad-extras" in conversion.records:  # built, then refused by the model, field named
        with pytest.raises(RecordError) as refused:
            parse_patient(conversion.records["bad-extras"])
        assert "risk_factors" in str(refused.value)
