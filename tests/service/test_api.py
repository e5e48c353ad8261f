"""REST API over real HTTP: auth on every patient route, problem details, audit, roles."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from osteotarget.web import Settings, create_app
from tests.service.conftest import Service, example_records

# Routes that never touch patient data and are public by design.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/api/health"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/cds-services"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def record(patient_id: str) -> dict[str, Any]:
    base = copy.deepcopy(example_records()[2])  # denosumab-overdue
    base["id"] = patient_id
    return base


def all_routes(routes: list[Any]) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, through included routers too."""
    out: list[tuple[str, str]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            out += [(m, prefix + p) for m, p in all_routes(list(inner.routes))]
        elif isinstance(route, APIRoute | Route):
            out += [(m, route.path) for m in route.methods or () if m != "HEAD"]
    return out


def test_route_enumeration_every_non_public_route_answers_401(
    service: Service, anonymous: httpx.Client
) -> None:
    app = create_app(Settings(database_url=service.registry.url), service.registry)
    routes = all_routes(list(app.routes))
    assert ("GET", "/api/patients/{patient_id}") in routes
    assert ("GET", "/patients/{patient_id}") in routes
    checked = 0
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        response = anonymous.request(method, concrete, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        checked += 1
    assert checked >= 20
    unexpected_public = {r for r in routes if r in PUBLIC} - PUBLIC
    assert not unexpected_public


def test_401_is_problem_json_with_www_authenticate(anonymous: httpx.Client) -> None:
    response = anonymous.get("/api/patients/example-denosumab-overdue")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"


def test_bad_key_and_bad_token_are_refused(service: Service) -> None:
    with service.client("ot_not-a-real-key") as client:
        assert client.get("/api/patients").status_code == 401
    headers = {"Authorization": "Bearer not.a.jwt"}
    with httpx.Client(base_url=service.url, headers=headers) as client:
        assert client.get("/api/patients").status_code == 401


def test_create_read_update_idempotent(admin: httpx.Client) -> None:
    body = record("api-crud-1")
    created = admin.post("/api/patients", json=body)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": "api-crud-1", "outcome": "created", "version": 1}
    again = admin.post("/api/patients", json=body)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    body["weight_kg"] = 60
    updated = admin.put("/api/patients/api-crud-1", json=body)
    assert updated.json() == {"id": "api-crud-1", "outcome": "updated", "version": 2}
    got = admin.get("/api/patients/api-crud-1").json()
    assert got["version"] == 2 and got["record"]["weight_kg"] == 60
    history = admin.get("/api/patients/api-crud-1/history").json()
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["changed_by"] == "test-admin"


def test_refusal_names_the_field_as_problem_json(admin: httpx.Client) -> None:
    body = record("api-bad-1")
    body["dxa"][0]["measurements"][0]["t_score"] = -9.5
    response = admin.post("/api/patients", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert errors[0]["field"] == "dxa[0].measurements[0].t_score"
    assert "-9.5" in errors[0]["value"] or "-9.5" in errors[0]["message"]
    mismatch = admin.put("/api/patients/other-id", json=record("api-bad-2"))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "id"


def test_not_found_is_problem_json(admin: httpx.Client) -> None:
    response = admin.get("/api/patients/no-such-patient")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


def test_add_visit_fracture_therapy_lab(admin: httpx.Client) -> None:
    admin.post("/api/patients", json=record("api-add-1"))
    visit = {
        "date": "2025-01-12",
        "device": {"manufacturer": "ge_lunar", "model": "Prodigy", "facility": "Eastgate Hospital"},
        "measurements": [{"site": "total_hip", "side": "right", "bmd": 0.75, "t_score": -2.2}],
    }
    assert admin.post("/api/patients/api-add-1/dxa", json=visit).json()["version"] == 2
    fracture = {"date": "2024-05-01", "site": "distal_forearm", "fragility": True}
    assert admin.post("/api/patients/api-add-1/fractures", json=fracture).status_code == 200
    therapy = {"drug": "alendronate", "start": "2012-01-01", "end": "2017-01-01"}
    assert admin.post("/api/patients/api-add-1/therapies", json=therapy).status_code == 200
    lab = {"date": "2025-01-10", "test": "calcium", "value": 2.3, "unit": "mmol/L"}
    assert admin.post("/api/patients/api-add-1/labs", json=lab).json()["version"] == 5
    bad_lab = {"date": "2025-01-10", "test": "calcium", "value": 2.3, "unit": "furlongs"}
    refused = admin.post("/api/patients/api-add-1/labs", json=bad_lab)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] in ("body", "unit", "labs[0]")
    got = admin.get("/api/patients/api-add-1").json()["record"]
    assert len(got["dxa"]) == 3 and len(got["fractures"]) == 2 and len(got["labs"]) == 2


def test_assessments_are_stored_with_versions_and_what_if_is_not(admin: httpx.Client) -> None:
    admin.post("/api/patients", json=record("api-assess-1"))
    made = admin.post("/api/patients/api-assess-1/assessments", params={"as_of": "2025-06-01"})
    assert made.status_code == 201, made.text
    stored = made.json()
    assert stored["assessment"]["as_of"] == "2025-06-01"
    listed = admin.get("/api/patients/api-assess-1/assessments").json()
    assert len(listed) == 1
    item = listed[0]
    for key in ("profile", "as_of", "engine_version", "knowledge_version", "patient_version"):
        assert item[key]
    one = admin.get(f"/api/patients/api-assess-1/assessments/{item['id']}").json()
    assert one["assessment"]["patient_id"] == "api-assess-1"
    what_if = admin.post(
        "/api/patients/api-assess-1/what-if",
        json={
            "as_of": "2025-06-01",
            "add": {
                "therapies": [
                    {"drug": "zoledronate", "start": "2025-02-01", "doses": ["2025-02-01"]}
                ]
            },
        },
    )
    assert what_if.status_code == 200, what_if.text
    assert what_if.json()["patient_id"] == "api-assess-1"
    assert len(admin.get("/api/patients/api-assess-1/assessments").json()) == 1
    future = admin.post("/api/patients/api-assess-1/assessments", params={"as_of": "2000-01-01"})
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "birth_date" or future.json()["errors"]
    bad_profile = admin.post("/api/patients/api-assess-1/assessments", params={"profile": "nope"})
    assert bad_profile.status_code in (201, 422)


def test_profiles_and_projection(admin: httpx.Client) -> None:
    profiles = admin.get("/api/profiles").json()
    assert profiles and all("name" in p for p in profiles)
    response = admin.post(
        "/api/projection",
        json={
            "sites": [{"site": "total_hip", "t_score": -3.0}],
            "regimen": "romosozumab:12,denosumab:24",
            "target": -2.5,
            "months": 36,
        },
    )
    assert response.status_code in (200, 501), response.text
    if response.status_code == 200:
        assert 0.0 <= response.json()["probability_of_target"] <= 1.0
    bad = admin.post(
        "/api/projection",
        json={
            "sites": [{"site": "total_hip", "t_score": -3}],
            "regimen": "aspirin:3",
            "target": -2.5,
            "months": 36,
        },
    )
    assert bad.status_code in (422, 501)


def test_roles(service: Service) -> None:
    with service.client(service.clinician_key) as clinician:
        assert clinician.get("/api/patients").status_code == 200
        refused = clinician.post("/api/patients", json=record("api-role-1"))
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert clinician.get("/api/audit").status_code == 403
    with service.client(service.coordinator_key) as coordinator:
        assert coordinator.post("/api/patients", json=record("api-role-1")).status_code == 201
        assert (
            coordinator.post("/api/clients", json={"name": "x", "role": "admin"}).status_code == 403
        )


def test_bearer_jwt_and_new_clients(service: Service, admin: httpx.Client) -> None:
    made = admin.post("/api/clients", json={"name": "api-new-clinician", "role": "clinician"})
    assert made.status_code == 201
    key = made.json()["api_key"]
    assert key.startswith("ot_")
    listed = admin.get("/api/clients").json()
    assert all("hash" not in c and key not in str(c) for c in listed)
    with service.client(key) as client:
        token = client.post("/api/token").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=service.url, headers=headers) as bearer:
        assert bearer.get("/api/patients").status_code == 200
        assert bearer.post("/api/patients", json=record("x")).status_code == 403


def test_audit_trail_records_who_what_when_where(service: Service, admin: httpx.Client) -> None:
    with service.client(service.clinician_key) as clinician:
        clinician.get("/api/patients/example-naive-high-risk")
    entries = admin.get("/api/audit", params={"patient_id": "example-naive-high-risk"}).json()
    reads = [e for e in entries if e["action"] == "read_patient"]
    assert reads, entries
    entry = reads[0]
    assert entry["actor"] == "test-clinician" and entry["role"] == "clinician"
    assert entry["remote"] == "127.0.0.1" and entry["status"] == 200 and entry["at"]


def test_import_ndjson_transactional_and_idempotent(admin: httpx.Client) -> None:
    good1, good2 = record("imp-1"), record("imp-2")
    bad = record("imp-3")
    bad["sex"] = "unknown"
    import json

    lines = "\n".join(json.dumps(r) for r in (good1, bad, good2)) + "\nnot json\n"
    first = admin.post(
        "/api/import", content=lines, headers={"Content-Type": "application/x-ndjson"}
    )
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["created"] == ["imp-1", "imp-2"]
    assert [r["problems"][0]["field"] for r in report["refused"]] == ["sex", "line 1 column 1"]
    again = admin.post("/api/import", content=lines).json()
    assert again["created"] == [] and again["unchanged"] == ["imp-1", "imp-2"]
    as_array = admin.post("/api/import", content=json.dumps([good1])).json()
    assert as_array["unchanged"] == ["imp-1"]


def test_no_patient_data_in_application_logs(
    admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        admin.get("/api/patients/example-recent-hip-fracture-ckd")
        admin.post("/api/patients/example-recent-hip-fracture-ckd/assessments")
        admin.get("/patients/example-recent-hip-fracture-ckd")
    server_side = ("osteotarget", "uvicorn", "sqlalchemy", "alembic", "fastapi", "starlette")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert "/api/patients/{patient_id}" in text
    assert "example-recent-hip-fracture-ckd" not in text
    assert "1942-12-01" not in text
