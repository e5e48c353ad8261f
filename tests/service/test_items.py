"""Item-level record writes over real HTTP: add, correct (PUT/PATCH), remove, each a version."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.service.conftest import Service, example_records

ENTRIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # kind: (a new entry, a merge patch that corrects it)
    "dxa": (
        {
            "date": "2025-01-12",
            "device": {"manufacturer": "ge_lunar", "model": "Prodigy", "facility": "Eastgate"},
            "measurements": [{"site": "total_hip", "side": "right", "bmd": 0.75, "t_score": -2.2}],
        },
        {"device": {"facility": "Westgate"}},
    ),
    "fractures": (
        {"date": "2024-05-01", "site": "distal_forearm", "fragility": True},
        {"site": "proximal_humerus"},
    ),
    "falls": ({"date": "2024-04-30", "injurious": True}, {"injurious": False}),
    "therapies": (
        {"drug": "alendronate", "start": "2012-01-01", "end": "2017-01-01"},
        {"end": "2016-06-30"},
    ),
    "labs": (
        {"date": "2025-01-10", "test": "calcium", "value": 2.3, "unit": "mmol/L"},
        {"value": 2.4},
    ),
    "conditions": ({"code": "stroke", "onset": "2020-03-01"}, {"resolved": "2020-06-01"}),
    "function": (
        {"date": "2024-06-01", "instrument": "barthel", "score": 80},
        {"score": 85},
    ),
}


def _record(patient_id: str) -> dict[str, Any]:
    base = copy.deepcopy(example_records()[2])
    base["id"] = patient_id
    return base


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_add_correct_and_remove_each_kind_as_new_versions(
    service: Service, admin: httpx.Client, kind: str
) -> None:
    patient_id = f"items-{kind}"
    admin.post("/api/patients", json=_record(patient_id))
    entry, patch = ENTRIES[kind]
    before = len(admin.get(f"/api/patients/{patient_id}/{kind}").json()["items"])

    added = admin.post(f"/api/patients/{patient_id}/{kind}", json=entry)
    assert added.status_code == 200, added.text
    assert added.json()["version"] == 2 and added.headers["etag"] == '"v2"'
    item = added.json()["item_id"]
    listed = admin.get(f"/api/patients/{patient_id}/{kind}").json()
    assert item in [i["item_id"] for i in listed["items"]] and len(listed["items"]) == before + 1

    patched = admin.patch(f"/api/patients/{patient_id}/{kind}/{item}", json=patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 3
    new_item = patched.json()["item_id"]
    assert new_item != item
    # The old id names an entry that no longer exists: refused, never the wrong entry.
    stale = admin.delete(f"/api/patients/{patient_id}/{kind}/{item}")
    assert stale.status_code == 404 and stale.json()["errors"][0]["field"] == "item_id"

    replaced = admin.put(f"/api/patients/{patient_id}/{kind}/{new_item}", json=entry)
    assert replaced.status_code == 200 and replaced.json()["version"] == 4
    removed = admin.delete(f"/api/patients/{patient_id}/{kind}/{replaced.json()['item_id']}")
    assert removed.status_code == 200 and removed.json()["version"] == 5
    assert len(admin.get(f"/api/patients/{patient_id}/{kind}").json()["items"]) == before
    history = admin.get(f"/api/patients/{patient_id}/history").json()
    assert [h["version"] for h in history] == [1, 2, 3, 4, 5]
    assert {h["changed_by"] for h in history[1:]} == {"test-admin"}
    actions = {e["action"] for e in service.registry.audit_entries(patient_id)}
    assert {f"add_{kind}", f"correct_{kind}", f"remove_{kind}"} <= actions


def test_doses_are_added_and_removed(admin: httpx.Client) -> None:
    admin.post("/api/patients", json=_record("items-doses"))
    course = admin.get("/api/patients/items-doses/therapies").json()["items"][0]
    item = course["item_id"]
    added = admin.post(
        f"/api/patients/items-doses/therapies/{item}/doses", json={"date": "2024-01-16"}
    )
    assert added.status_code == 200, added.text
    new_item = added.json()["item_id"]
    got = admin.get("/api/patients/items-doses").json()["record"]["therapies"][0]["doses"]
    assert got[-1] == "2024-01-16"
    removed = admin.delete(f"/api/patients/items-doses/therapies/{new_item}/doses/2024-01-16")
    assert removed.status_code == 200 and removed.json()["item_id"] == item
    missing = admin.delete(f"/api/patients/items-doses/therapies/{item}/doses/2001-01-01")
    assert missing.status_code == 404


def test_a_write_that_would_make_the_record_invalid_is_422_naming_the_field(
    admin: httpx.Client,
) -> None:
    admin.post("/api/patients", json=_record("items-invalid"))
    # A fracture before birth: each entry is valid alone, the record would not be.
    refused = admin.post(
        "/api/patients/items-invalid/fractures",
        json={"date": "1940-01-01", "site": "hip", "fragility": True},
    )
    assert refused.status_code == 422
    assert any(
        "fractures" in e["field"] or "fractures" in e["message"] for e in refused.json()["errors"]
    )
    lab = admin.get("/api/patients/items-invalid/labs").json()["items"][0]["item_id"]
    bad_patch = admin.patch(f"/api/patients/items-invalid/labs/{lab}", json={"unit": "furlongs"})
    assert bad_patch.status_code == 422
    # Nothing was written and the patient is not locked: the next good write goes through.
    assert admin.get("/api/patients/items-invalid").json()["version"] == 1
    ok = admin.post(
        "/api/patients/items-invalid/falls", json={"date": "2024-01-01", "injurious": False}
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2


def test_if_match_on_record_and_item_writes(admin: httpx.Client) -> None:
    body = _record("items-etag")
    created = admin.post("/api/patients", json=body)
    assert created.headers["etag"] == '"v1"'
    body["weight_kg"] = 61
    stale = admin.put("/api/patients/items-etag", json=body, headers={"If-Match": '"v7"'})
    assert stale.status_code == 412 and stale.headers["etag"] == '"v1"'
    assert stale.json()["errors"][0]["field"] == "If-Match"
    garbled = admin.put("/api/patients/items-etag", json=body, headers={"If-Match": "v1"})
    assert garbled.status_code == 412
    fresh = admin.put("/api/patients/items-etag", json=body, headers={"If-Match": '"v1"'})
    assert fresh.status_code == 200 and fresh.headers["etag"] == '"v2"'
    fall = {"date": "2024-01-01", "injurious": False}
    old = admin.post("/api/patients/items-etag/falls", json=fall, headers={"If-Match": '"v1"'})
    assert old.status_code == 412
    new = admin.post("/api/patients/items-etag/falls", json=fall, headers={"If-Match": '"v2"'})
    assert new.status_code == 200


def test_item_writes_need_the_clinician_role_and_an_existing_patient(
    service: Service, admin: httpx.Client
) -> None:
    fall = {"date": "2024-01-01", "injurious": False}
    assert admin.post("/api/patients/no-such-patient/falls", json=fall).status_code == 404
    with service.client(service.clinician_key) as clinician:
        admin.post("/api/patients", json=_record("items-roles"))
        assert clinician.post("/api/patients/items-roles/falls", json=fall).status_code == 200
