"""Bad input at the door over real HTTP: refused with the field named, never a 5xx.

Each case was a 500 (or worse) before: deep JSON, a 5,000-digit number, a lone surrogate
echoed back, as_of out of range, birth_date 0, no body-size limit before authentication,
thousands of labs, ids with '/', ':', '_', NUL or over 200 characters.
"""

from __future__ import annotations

import copy
import json
import socket
from typing import Any

import httpx
import pytest

from tests.service.conftest import Service, example_records


def _record(patient_id: str) -> dict[str, Any]:
    base = copy.deepcopy(example_records()[2])
    base["id"] = patient_id
    return base


def _post_raw(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(
        path,
        content=text.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )


def _field(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["field"])


def test_deep_json_is_refused_with_422(admin: httpx.Client) -> None:
    for depth in (100, 100_000):
        response = _post_raw(admin, "/api/patients", "[" * depth + "]" * depth)
        assert response.status_code == 422, depth
        assert "nested deeper" in response.json()["errors"][0]["message"]


def test_huge_numbers_are_refused_with_422(admin: httpx.Client) -> None:
    text = json.dumps(_record("bad-number")).replace(
        '"weight_kg": 60', '"weight_kg": ' + "9" * 5000
    )
    text = text[:-1] + ', "height_cm": ' + "9" * 5000 + "}"
    response = _post_raw(admin, "/api/patients", text)
    assert response.status_code == 422 and "number" in response.json()["errors"][0]["message"]


def test_a_lone_surrogate_is_refused_and_never_echoed_raw(admin: httpx.Client) -> None:
    text = json.dumps(_record("bad-surrogate")).replace('"female"', '"\\ud800"')
    response = _post_raw(admin, "/api/patients", text)
    assert response.status_code == 422
    assert "surrogate" in response.json()["errors"][0]["message"]
    response.content.decode("utf-8")  # the answer itself is valid UTF-8


@pytest.mark.parametrize("as_of", ["9999-12-31", "0", "0000-01-01", "2025-02-30", "20250101"])
def test_as_of_out_of_range_is_422_everywhere(
    service: Service, admin: httpx.Client, as_of: str
) -> None:
    pid = "example-denosumab-overdue"
    for method, path in (
        ("POST", f"/api/patients/{pid}/assessments"),
        ("GET", f"/api/patients/{pid}/fhir/assessment"),
    ):
        response = admin.request(method, path, params={"as_of": as_of})
        assert response.status_code == 422, (path, as_of, response.text)
        assert _field(response) == "query.as_of"
    what_if = admin.post(f"/api/patients/{pid}/what-if", json={"as_of": as_of})
    assert what_if.status_code == 422 and _field(what_if) == "as_of"
    with service.client(service.clinician_key) as c:
        page = c.get(f"/patients/{pid}", params={"as_of": as_of})
    assert page.status_code == 422


def test_birth_date_must_be_an_iso_date(admin: httpx.Client) -> None:
    for bad in (0, 1.5, "1950-1-1", "1950-01-01T00:00:00", "1700-01-01"):
        body = _record("bad-birth")
        body["birth_date"] = bad
        response = admin.post("/api/patients", json=body)
        assert response.status_code == 422, bad
        assert _field(response) == "birth_date"


def test_lists_are_bounded_per_record(admin: httpx.Client) -> None:
    body = _record("bad-many-labs")
    lab = {"date": "2025-01-10", "test": "calcium", "value": 2.3, "unit": "mmol/L"}
    body["labs"] = [lab] * 3000
    response = admin.post("/api/patients", json=body)
    assert response.status_code == 422 and "at most" in response.text


def test_body_size_is_bounded_before_authentication(
    service: Service, anonymous: httpx.Client
) -> None:
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    response = anonymous.post(
        "/api/patients", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    # A declared 200 MB body is refused before a byte of it is read.
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("patient_id", ["a_b", "a:b", "x" * 65, "-lead", "a b", "é"])
def test_unsafe_ids_are_refused_at_every_door(admin: httpx.Client, patient_id: str) -> None:
    response = admin.post("/api/patients", json=_record(patient_id))
    assert response.status_code == 422 and _field(response) == "id"
    got = admin.get(f"/api/patients/{patient_id}")
    assert got.status_code in (404, 422)


def test_ids_with_slash_and_nul_never_reach_the_database(
    service: Service, admin: httpx.Client
) -> None:
    assert admin.post("/api/patients", json=_record("a/b")).status_code == 422
    assert admin.get("/api/patients/a%00b").status_code == 422
    assert admin.get("/api/patients/" + "x" * 250).status_code == 422
    # The refusal was audited and the connection survived.
    assert admin.get("/api/patients/example-denosumab-overdue").status_code == 200


def test_safe_ids_export_as_fhir(admin: httpx.Client) -> None:
    assert admin.post("/api/patients", json=_record("mrn.12-34")).status_code == 201
    assert admin.get("/api/patients/mrn.12-34/fhir/record").status_code == 200
