"""Property: whatever a client sends, the API answers without a 5xx and never loses the
record it refused to change (over real HTTP)."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import EXAMPLES, NASTY_STRINGS, mutated_records, nasty_values, to_json
from tests.service.conftest import Service

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
DOCUMENTED = {200, 201, 400, 401, 403, 404, 412, 413, 422}


def _post(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(
        path,
        content=text.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )


@FUZZ
@given(record=mutated_records())
def test_mutated_records_never_5xx(service: Service, record: dict[str, Any]) -> None:
    with service.client(service.admin_key) as admin:
        response = _post(admin, "/api/patients", to_json(record))
        assert response.status_code in DOCUMENTED, response.text
        if response.status_code == 422:
            assert response.json()["errors"][0]["field"]
        response.content.decode("utf-8")


@FUZZ
@given(entry=st.dictionaries(st.sampled_from(["date", "test", "value", "unit", "x"]), nasty_values))
def test_item_writes_never_5xx_and_never_lose_the_record(
    service: Service, entry: dict[str, Any]
) -> None:
    with service.client(service.admin_key) as admin:
        before = admin.get("/api/patients/example-naive-high-risk").json()
        response = _post(admin, "/api/patients/example-naive-high-risk/labs", to_json(entry))
        assert response.status_code in DOCUMENTED, response.text
        after = admin.get("/api/patients/example-naive-high-risk").json()
        if response.status_code != 200:
            assert after == before


@FUZZ
@given(
    as_of=st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=12)),
    patient_id=st.one_of(
        st.sampled_from(["example-naive-high-risk", "a_b", "a:b", "x" * 300, "%00", ".."]),
        st.text(max_size=20),
    ),
)
def test_query_and_path_values_never_5xx(service: Service, as_of: str, patient_id: str) -> None:
    with service.client(service.admin_key) as admin:
        for method, path in (
            ("GET", f"/api/patients/{patient_id}"),
            ("POST", f"/api/patients/{patient_id}/assessments"),
            ("GET", f"/api/patients/{patient_id}/fhir/record"),
        ):
            try:
                response = admin.request(method, path, params={"as_of": as_of})
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeEncodeError):
                continue  # the client itself cannot send it
            assert response.status_code < 500, (method, path, response.status_code)
