"""CDS Hooks as an EHR calls it: signed JWTs, prefetch or FHIR-server fallback, cards."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException, Request

from osteotarget.adapters import fhir_out
from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.service.conftest import LiveServer, Service, example_records

PV = "osteotarget-patient-view"
FHIR_TOKEN = "ehr-access-token-123"


def bundles_for(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    bundle = fhir_out.record_to_bundle(parse_patient(record), base="https://ehr.test.example/fhir")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    return by_type


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def prefetch_for(record: dict[str, Any]) -> dict[str, Any]:
    by_type = bundles_for(record)
    observations = by_type.get("Observation", [])
    return {
        "patient": by_type["Patient"][0],
        "dxa": searchset([o for o in observations if "laboratory" not in str(o.get("category"))]),
        "labs": searchset([o for o in observations if "laboratory" in str(o.get("category"))]),
        "conditions": searchset(by_type.get("Condition", [])),
        "medicationStatements": searchset(by_type.get("MedicationStatement", [])),
        "medicationRequests": searchset([]),
        "medicationAdministrations": searchset(by_type.get("MedicationAdministration", [])),
        "procedures": searchset([]),
    }


def hook_body(patient_id: str, hook: str = "patient-view", **extra: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/p1", "patientId": patient_id},
        **extra,
    }


def call(
    service: Service, body: dict[str, Any], token: str | None = None, sid: str = PV
) -> httpx.Response:
    url = f"{service.url}/cds-services/{sid}"
    token = token or service.signer.token(aud=url)
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def expected_alerts(record: dict[str, Any]) -> list[tuple[str, str]]:
    assessment = assess(parse_patient(record), date.today())
    return sorted((a.severity, a.message) for a in assessment.alerts)


def test_discovery(anonymous: httpx.Client) -> None:
    services = anonymous.get("/cds-services").json()["services"]
    hooks = {s["hook"]: s for s in services}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    prefetch = hooks["patient-view"]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "38267-1" in prefetch["dxa"] and "Condition?patient=" in prefetch["conditions"]
    # Issue 9: the templates ask for every code the reader reads (lateralised hip, 38265-5).
    from osteotarget.adapters.codemaps import codemaps

    maps = codemaps()
    for code in [*maps.observations["dxa"], *maps.observations["frax"]]:
        assert f"|{code}" in prefetch["dxa"], code
    for code in ("80946-7", "80938-4", "38265-5", "80933-5", "80934-3"):
        assert f"|{code}" in prefetch["dxa"]
    for code in maps.labs["loinc"]:
        assert f"|{code}" in prefetch["labs"], code


@pytest.mark.parametrize("record", example_records(), ids=lambda r: r["id"])
def test_patient_view_with_prefetch_gives_the_right_cards(
    service: Service, record: dict[str, Any]
) -> None:
    record = {**record, "id": "cds-" + record["id"]}
    body = hook_body(record["id"], prefetch=prefetch_for(record))
    response = call(service, body)  # (speed is measured in benchmarks/, not asserted here)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert cards
    for card in cards:
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"].startswith("osteotarget")
        assert card["links"][0]["type"] == "absolute"
        # Issue 9: the link carries an opaque handle, never the raw patient id.
        assert card["links"][0]["url"].startswith(f"{service.url}/cds/open/")
        assert record["id"] not in card["links"][0]["url"]
    link = cards[0]["links"][0]["url"]
    assert httpx.get(link).status_code == 401  # the clinician signs in first
    opened = httpx.get(link, headers={"X-API-Key": service.clinician_key})
    assert opened.status_code == 303 and opened.headers["location"] == f"/patients/{record['id']}"
    alert_cards = cards[:-1]
    assert sorted(
        (c["indicator"], c["detail"].split("\n\nBasis:")[0]) for c in alert_cards
    ) == expected_alerts(record)
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[c["indicator"]] for c in alert_cards] == sorted(
        order[c["indicator"]] for c in alert_cards
    )
    for card in cards:
        for suggestion in card.get("suggestions", []):
            resource = suggestion["actions"][0]["resource"]
            assert (
                resource["resourceType"] == "MedicationRequest" and resource["intent"] == "proposal"
            )


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[str]:
    """A small FHIR server holding the example records, needing the EHR's access token."""
    data = {
        ("cds-fb-" + r["id"]): bundles_for({**r, "id": "cds-fb-" + r["id"]})
        for r in example_records()
    }
    app = FastAPI()
    seen: list[str] = []

    def check(authorization: str | None) -> None:
        if authorization != f"Bearer {FHIR_TOKEN}":
            raise HTTPException(401)

    @app.get("/fhir/Patient/{pid}")
    def patient(pid: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        check(authorization)
        if pid not in data:
            raise HTTPException(404)
        return data[pid]["Patient"][0]

    @app.get("/fhir/{kind}")
    def search(
        kind: str, request: Request, authorization: str | None = Header(default=None)
    ) -> dict[str, Any]:
        check(authorization)
        seen.append(kind)
        pid = request.query_params.get("patient", "")
        resources = data.get(pid, {}).get(kind, [])
        if kind == "Observation":
            codes = request.query_params.get("code", "")
            resources = [r for r in resources if r["code"]["coding"][0]["code"] in codes]
        return searchset(resources)

    with LiveServer(app) as live:
        yield live.url + "/fhir"


@pytest.mark.parametrize("record", example_records(), ids=lambda r: r["id"])
def test_patient_view_without_prefetch_reads_the_fhir_server(
    service: Service, fhir_server: str, record: dict[str, Any]
) -> None:
    pid = "cds-fb-" + record["id"]
    body = hook_body(
        pid,
        fhirServer=fhir_server,
        fhirAuthorization={
            "access_token": FHIR_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "osteotarget",
        },
    )
    response = call(service, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert sorted(
        (c["indicator"], c["detail"].split("\n\nBasis:")[0]) for c in cards[:-1]
    ) == expected_alerts({**record, "id": pid})


def test_partial_prefetch_falls_back_for_the_missing_keys(
    service: Service, fhir_server: str
) -> None:
    record = example_records()[2]
    pid = "cds-fb-" + record["id"]
    prefetch = prefetch_for({**record, "id": pid})
    del prefetch["medicationAdministrations"], prefetch["dxa"]
    body = hook_body(
        pid,
        prefetch=prefetch,
        fhirServer=fhir_server,
        fhirAuthorization={"access_token": FHIR_TOKEN, "token_type": "Bearer"},
    )
    response = call(service, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert sorted(
        (c["indicator"], c["detail"].split("\n\nBasis:")[0]) for c in cards[:-1]
    ) == expected_alerts({**record, "id": pid})
    # Changed by issue 9 (least privilege): a CDS call reads the EHR into a transient view
    # and never writes the registry (it used to keep the fetched record there).
    assert service.registry.get_patient(pid) is None


def test_no_prefetch_no_server_uses_the_registry_or_412(service: Service) -> None:
    assert call(service, hook_body("example-naive-high-risk")).status_code == 200
    missing = call(service, hook_body("nobody-anywhere"))
    assert missing.status_code == 412


def test_jwt_rules(service: Service) -> None:
    url = f"{service.url}/cds-services/{PV}"
    body = hook_body("example-naive-high-risk")
    signer = service.signer
    assert (
        call(
            service, body, signer.token(aud="https://elsewhere.example/cds-services/x")
        ).status_code
        == 401
    )
    expired = signer.token(
        aud=url,
        exp=datetime.now(UTC) - timedelta(minutes=5),
        iat=datetime.now(UTC) - timedelta(minutes=10),
    )
    assert call(service, body, expired).status_code == 401
    assert call(service, body, signer.token(aud=url, jti=None)).status_code == 401
    once = signer.token(aud=url)
    assert call(service, body, once).status_code == 200
    replay = call(service, body, once)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"]
    from tests.service.conftest import new_signer

    stranger = new_signer("https://not-allowed.example")
    assert call(service, body, stranger.token(aud=url)).status_code == 401
    impostor = new_signer(signer.iss)  # allowed iss, wrong key
    assert call(service, body, impostor.token(aud=url)).status_code == 401
    # the second EHR's JWKS is fetched from its URL
    assert call(service, body, service.url_signer.token(aud=url)).status_code == 200
    # no credentials at all
    assert httpx.post(url, json=body).status_code == 401


def test_order_select_and_sign(service: Service) -> None:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/example-recent-hip-fracture-ckd"},
                    "medicationCodeableConcept": {
                        "coding": [
                            {
                                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                "code": "2123126",
                            }
                        ]
                    },
                }
            }
        ],
    }
    for hook, sid in (
        ("order-select", "osteotarget-order-select"),
        ("order-sign", "osteotarget-order-sign"),
    ):
        body = hook_body("example-recent-hip-fracture-ckd", hook=hook)
        body["context"]["draftOrders"] = draft
        body["context"]["selections"] = ["MedicationRequest/1"]
        token = service.signer.token(aud=f"{service.url}/cds-services/{sid}")
        response = call(service, body, token, sid)
        assert response.status_code == 200, response.text
        cards = response.json()["cards"]
        assert cards, "the engine flags this patient's eGFR, vitamin D and prior MI"
        for card in cards:
            assert card["summary"].startswith("romosozumab") and len(card["summary"]) < 140
            assert card["indicator"] in ("warning", "critical")


def test_feedback_is_stored(service: Service) -> None:
    url = f"{service.url}/cds-services/{PV}/feedback"
    token = service.signer.token(aud=url)
    feedback = {
        "feedback": [
            {
                "card": "card-uuid-1",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s1"}],
                "outcomeTimestamp": "2026-11-23T10:00:00Z",
            }
        ]
    }
    response = httpx.post(url, json=feedback, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json() == {"stored": 1}
    stored = service.registry.feedback(PV)
    assert stored[-1]["card"] == "card-uuid-1" and stored[-1]["outcome"] == "accepted"


def test_calls_beyond_the_in_flight_limit_are_shed_with_503(
    service: Service, tmp_path: Any
) -> None:
    from osteotarget.store import Registry
    from osteotarget.web import Settings, create_app

    registry = Registry(f"sqlite:///{tmp_path / 'shed.sqlite3'}")
    app = create_app(Settings(database_url=registry.url, cds_max_in_flight=0), registry)
    key = registry.add_client("shed", "clinician")
    with LiveServer(app) as live:
        response = httpx.post(
            f"{live.url}/cds-services/{PV}",
            json=hook_body("x"),
            headers={"X-API-Key": key},
        )
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert httpx.get(f"{live.url}/cds-services").status_code == 200
    registry.close()


def test_an_api_key_caller_cannot_make_the_service_call_out(
    service: Service, fhir_server: str
) -> None:
    body = hook_body(
        "cds-fb-only-on-the-fhir-server",
        fhirServer=fhir_server,
        fhirAuthorization={"access_token": FHIR_TOKEN, "token_type": "Bearer"},
    )
    response = httpx.post(
        f"{service.url}/cds-services/{PV}", json=body, headers={"X-API-Key": service.clinician_key}
    )
    assert response.status_code == 412


# ---- CDS Hooks 2.0 conformance (issue 9) ------------------------------------------------

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def record_named(suffix: str, pid: str) -> dict[str, Any]:
    record = next(r for r in example_records() if r["id"].endswith(suffix))
    return {**record, "id": pid}


@pytest.fixture(scope="module")
def tricky_servers() -> Iterator[tuple[str, list[str]]]:
    """An EHR FHIR server that pages (same origin, and once to another host), refuses one
    search (400), and a foreign host that records any Authorization header it is sent."""
    foreign_seen: list[str] = []
    foreign = FastAPI()

    @foreign.get("/{rest:path}")
    def steal(rest: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        foreign_seen.append(authorization or "")
        return searchset([])

    data = {
        pid: bundles_for(record_named("denosumab-overdue", pid))
        for pid in ("tricky-paged", "tricky-evil")
    }
    ehr = FastAPI()
    pages: dict[str, list[dict[str, Any]]] = {}

    with LiveServer(foreign) as foreign_live:

        @ehr.get("/fhir/Patient/{pid}")
        def patient(pid: str) -> dict[str, Any]:
            if pid not in data:
                raise HTTPException(404)
            return data[pid]["Patient"][0]

        @ehr.get("/fhir/page/{key}")
        def page(key: str) -> dict[str, Any]:
            return searchset(pages[key])

        @ehr.get("/fhir/{kind}")
        def search(kind: str, request: Request) -> dict[str, Any]:
            pid = request.query_params.get("patient", "")
            if kind == "Procedure":
                raise HTTPException(400, "Procedure search not supported")
            resources = data.get(pid, {}).get(kind, [])
            if kind == "Observation":
                codes = request.query_params.get("code", "")
                resources = [r for r in resources if r["code"]["coding"][0]["code"] in codes]
            if kind == "MedicationAdministration" and resources:
                key = f"{pid}-{kind}"
                pages[key] = resources  # page 1 empty: every dose is on page 2
                base = str(request.base_url).rstrip("/")
                url = (
                    f"{foreign_live.url}/fhir/page/{key}"
                    if pid == "tricky-evil"
                    else f"{base}/fhir/page/{key}"
                )
                return {**searchset([]), "link": [{"relation": "next", "url": url}]}
            return searchset(resources)

        with LiveServer(ehr) as live:
            yield live.url + "/fhir", foreign_seen


def fallback_body(pid: str, server: str) -> dict[str, Any]:
    return hook_body(
        pid,
        fhirServer=server,
        fhirAuthorization={"access_token": FHIR_TOKEN, "token_type": "Bearer"},
    )


def test_next_pages_on_the_same_server_are_read_and_a_failing_query_is_named(
    service: Service, tricky_servers: tuple[str, list[str]]
) -> None:
    server, _ = tricky_servers
    response = call(service, fallback_body("tricky-paged", server))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    record = record_named("denosumab-overdue", "tricky-paged")
    assert sorted(
        (c["indicator"], c["detail"].split("\n\nBasis:")[0]) for c in cards[:-1]
    ) == expected_alerts(record)  # the doses on page 2 were read
    summary = cards[-1]
    assert summary["summary"].startswith("Incomplete data")
    assert "procedures" in summary["detail"]


def test_a_next_link_to_another_host_never_gets_the_token(
    service: Service, tricky_servers: tuple[str, list[str]]
) -> None:
    server, foreign_seen = tricky_servers
    response = call(service, fallback_body("tricky-evil", server))
    assert response.status_code == 200, response.text
    assert foreign_seen == []
    assert "medication administrations" in response.json()["cards"][-1]["detail"]


def test_null_prefetch_means_no_data_not_412(service: Service) -> None:
    record = record_named("naive-high-risk", "cds-null-prefetch")
    prefetch: dict[str, Any] = dict.fromkeys(cdshooks_keys(), None)
    prefetch["patient"] = prefetch_for(record)["patient"]
    response = call(service, hook_body(record["id"], prefetch=prefetch))
    assert response.status_code == 200, response.text
    assert not response.json()["cards"][-1]["summary"].startswith("Incomplete data")


def cdshooks_keys() -> list[str]:
    from osteotarget.adapters.cds_prefetch import prefetch_templates

    return list(prefetch_templates())


def test_a_patient_only_prefetch_never_answers_low_risk(service: Service) -> None:
    record = record_named("naive-high-risk", "cds-patient-only")
    body = hook_body(record["id"], prefetch={"patient": prefetch_for(record)["patient"]})
    response = call(service, body)
    assert response.status_code == 200, response.text
    summary = response.json()["cards"][-1]
    assert summary["summary"].startswith("Incomplete data")
    assert "risk low" not in summary["summary"]
    assert summary["indicator"] == "warning"
    assert "DXA" in summary["detail"]


def test_an_operation_outcome_prefetch_is_named_on_the_card(service: Service) -> None:
    record = record_named("naive-high-risk", "cds-outcome")
    prefetch = prefetch_for(record)
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "not permitted"}],
    }
    response = call(service, hook_body(record["id"], prefetch=prefetch))
    assert response.status_code == 200, response.text
    assert "conditions and fractures" in response.json()["cards"][-1]["detail"]


def test_a_prefetch_patient_other_than_context_patient_is_refused(service: Service) -> None:
    record = record_named("naive-high-risk", "cds-someone-else")
    body = hook_body("cds-the-patient", prefetch=prefetch_for(record))
    response = call(service, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "context.patientId"


def test_an_order_for_another_drug_gets_no_cards(service: Service) -> None:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {
            "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/nobody-known"},
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "29046"}],
                                          "text": "lisinopril"}}}],
    }  # fmt: skip
    sid = "osteotarget-order-select"
    body = hook_body("nobody-known", hook="order-select")
    body["context"]["draftOrders"] = draft
    token = service.signer.token(aud=f"{service.url}/cds-services/{sid}")
    response = call(service, body, token, sid)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_order_sign_with_a_contained_medication_gives_one_contraindication(
    service: Service,
) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "contained": [{"resourceType": "Medication", "id": "m1",
                       "code": {"coding": [{"system": RXNORM, "code": "2123126"}]}}],
        "medicationReference": {"reference": "#m1"},
        "subject": {"reference": "Patient/example-recent-hip-fracture-ckd"},
    }  # fmt: skip
    sid = "osteotarget-order-sign"
    body = hook_body("example-recent-hip-fracture-ckd", hook="order-sign")
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": order}]}  # fmt: skip
    token = service.signer.token(aud=f"{service.url}/cds-services/{sid}")
    response = call(service, body, token, sid)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert cards and all(c["summary"].startswith("romosozumab") for c in cards)
    infarction = [c for c in cards if "myocardial infarction" in c["detail"]]
    assert len(infarction) == 1, [c["summary"] for c in cards]


def test_malformed_json_is_400_and_bad_feedback_422(service: Service) -> None:
    url = f"{service.url}/cds-services/{PV}"
    headers = {"Authorization": f"Bearer {service.signer.token(aud=url)}"}
    response = httpx.post(url, content=b"{not json", headers=headers)
    assert response.status_code == 400
    feedback_url = url + "/feedback"
    bad = {"feedback": [{"card": "c1", "outcome": "maybe"}]}
    headers = {"Authorization": f"Bearer {service.signer.token(aud=feedback_url)}"}
    response = httpx.post(feedback_url, json=bad, headers=headers)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["errors"]}
    assert any("outcome" in f for f in fields) and any("outcomeTimestamp" in f for f in fields)


def test_the_summary_leads_with_the_most_urgent_item(service: Service) -> None:
    record = record_named("naive-high-risk", "cds-urgent")
    response = call(service, hook_body(record["id"], prefetch=prefetch_for(record)))
    first = assess(parse_patient(record), date.today()).recommendations[0]
    assert response.json()["cards"][-1]["summary"].startswith(f"Next: {first.action}")


def test_long_lived_tokens_are_refused_and_refusals_audited(service: Service) -> None:
    url = f"{service.url}/cds-services/{PV}"
    now = datetime.now(UTC)
    token = service.signer.token(aud=url, iat=now, exp=now + timedelta(hours=1))
    response = call(service, hook_body("example-naive-high-risk"), token)
    assert response.status_code == 401 and "lives" in response.json()["detail"]
    # The audit row is written once the answer has gone (AuditMiddleware): wait for it.
    refused: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        refused = [
            e for e in service.registry.audit_entries(None, 50) if e["action"] == "cds_refused"
        ]
        if not refused:
            time.sleep(0.05)
    assert refused and refused[0]["status"] == 401
    assert refused[0]["actor"] == f"cds:{service.signer.iss}"


def test_no_patient_id_reaches_the_application_log(
    service: Service, fhir_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    pid = "cds-fb-" + example_records()[0]["id"]
    body = fallback_body(pid, fhir_server)
    assert call(service, body).status_code == 200
    assert caplog.records, "the service logged nothing: the test would prove nothing"
    assert pid not in caplog.text


def test_a_patient_only_prefetch_reads_the_stored_history_and_writes_nothing(
    service: Service,
) -> None:
    """Issue 9: a CDS call with only the Patient in prefetch overwrote the registry record
    (fractures 3 -> 0). Now the stored history is merged into a transient view, unchanged."""
    pid = "example-denosumab-overdue"
    before = service.registry.get_patient(pid)
    assert before is not None
    record = next(r for r in example_records() if r["id"] == pid)
    body = hook_body(pid, prefetch={"patient": prefetch_for(record)["patient"]})
    response = call(service, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert sorted(
        (c["indicator"], c["detail"].split("\n\nBasis:")[0]) for c in cards[:-1]
    ) == expected_alerts(record)
    assert "stored record was used" in cards[-1]["detail"]
    after = service.registry.get_patient(pid)
    assert after is not None and after.version == before.version
    assert after.patient == before.patient


def test_a_jti_is_remembered_until_exp_plus_the_accepted_skew(service: Service) -> None:
    from osteotarget.security.cdshooks import CdsVerifier

    remembered: list[datetime] = []

    def remember(jti: str, iss: str, until: datetime) -> bool:
        remembered.append(until)
        return True

    signer = service.signer
    verifier = CdsVerifier.from_config({signer.iss: {"jwks": signer.jwks}}, remember)
    now = datetime.now(UTC).replace(microsecond=0)
    exp = now + timedelta(minutes=4)
    verifier.verify(signer.token(aud="https://svc.example", iat=now, exp=exp),
                    ["https://svc.example"])  # fmt: skip
    assert remembered == [exp + timedelta(seconds=verifier.leeway_seconds)]
