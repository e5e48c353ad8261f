"""Least privilege over real HTTP: revoked access stops at once, every refusal is audited.

Each test is a finding that failed before: a token renewed forever with the old role after
the key was rotated or demoted, the session cookie working after logout, 10-year tokens
accepted, cross-site sign-in/out, the cookie accepted for API writes, no audit of refusals,
key creation or token issuance, and no security headers.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt

from tests.people import PASSWORD, sign_in
from tests.service.conftest import Service

SECRET = "test-secret-not-for-production-0123456789-abcdef"


def _new_client(admin: httpx.Client, role: str = "coordinator") -> tuple[str, str]:
    name = f"cred-{uuid.uuid4().hex[:8]}"
    made = admin.post("/api/clients", json={"name": name, "role": role})
    assert made.status_code == 201
    return name, made.json()["api_key"]


def _token(service: Service, key: str) -> str:
    with service.client(key) as client:
        response = client.post("/api/token")
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def _bearer(service: Service, token: str) -> httpx.Client:
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"})


def _actions(service: Service, actor: str) -> list[tuple[str, int, str]]:
    return [
        (e["action"], e["status"], e["detail"])
        for e in service.registry.audit_entries(limit=1000)
        if e["actor"] == actor
    ]


def test_token_renewal_follows_the_key_and_role_as_they_are_now(
    service: Service, admin: httpx.Client
) -> None:
    name, key = _new_client(admin)
    token = _token(service, key)
    with _bearer(service, token) as bearer:
        renewed = bearer.post("/api/token")
        assert renewed.status_code == 200
    # Demoted: tokens carrying the old role stop working, renewal included.
    service.registry.add_client(name, "clinician", key)
    with _bearer(service, token) as bearer:
        assert bearer.post("/api/token").status_code == 401
        assert bearer.get("/api/patients").status_code == 401
    demoted = _token(service, key)
    # Rotated: the old key and every token issued for it stop working.
    service.registry.add_client(name, "clinician")
    with _bearer(service, demoted) as bearer:
        assert bearer.post("/api/token").status_code == 401
    with service.client(key) as old_key:
        assert old_key.get("/api/patients").status_code == 401


def test_revoking_a_client_ends_its_key_and_tokens(service: Service, admin: httpx.Client) -> None:
    name, key = _new_client(admin)
    token = _token(service, key)
    assert admin.delete(f"/api/clients/{name}").status_code == 200
    assert admin.delete("/api/clients/no-such-client").status_code == 404
    with service.client(key) as client:
        assert client.get("/api/patients").status_code == 401
    with _bearer(service, token) as bearer:
        assert bearer.get("/api/patients").status_code == 401
    events = {a for a, _, d in _actions(service, "test-admin") if d == f"subject={name}"}
    assert {"create_client", "revoke_client"} <= events
    assert ("issue_token", 200, f"subject={name}") in _actions(service, name)
    refused = [(a, s) for a, s, _ in _actions(service, name) if a == "refused"]
    assert ("refused", 401) in refused


def test_tokens_longer_than_the_maximum_lifetime_are_refused(service: Service) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "test-admin",
        "role": "admin",
        "aud": "osteotarget",
        "iat": now,
        "exp": now + timedelta(days=3650),
        "jti": "ten-years",
    }
    forged = jwt.encode(claims, SECRET, algorithm="HS256")
    with _bearer(service, forged) as bearer:
        response = bearer.get("/api/patients")
    assert response.status_code == 401 and "longer than" in response.json()["detail"]


def _sign_in(service: Service, username: str) -> httpx.Client:
    """A person signs in through the form (username and password; keys are for machines)."""
    return sign_in(service.url, username)


def test_logout_ends_the_session_server_side(service: Service) -> None:
    browser = _sign_in(service, "nurse")
    session = browser.cookies["osteotarget_session"]
    page = browser.get("/patients")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    # A cross-site form cannot sign the user out (nor in): no token, refused.
    assert browser.post("/logout", data={}).status_code == 403
    assert browser.get("/patients").status_code == 200
    assert browser.post("/logout", data={"csrf": csrf.group(1)}).status_code == 303
    # The old cookie, replayed, no longer works anywhere.
    with httpx.Client(base_url=service.url, cookies={"osteotarget_session": session}) as old:
        assert old.get("/api/patients").status_code == 401
        assert old.get("/patients").status_code == 401
    actions = [a for a, _, _ in _actions(service, "nurse")]
    assert "login" in actions and "logout" in actions


def test_cross_site_sign_in_is_refused_and_audited(service: Service) -> None:
    with httpx.Client(base_url=service.url) as attacker:
        response = attacker.post("/login", data={"username": "boss", "password": PASSWORD})
    assert response.status_code == 403 and "osteotarget_session" not in response.cookies


def test_the_session_cookie_never_changes_data_through_the_api(service: Service) -> None:
    browser = _sign_in(service, "boss")
    assert browser.get("/api/patients").status_code == 200
    refused = browser.post("/api/patients/example-denosumab-overdue/falls", json={})
    assert refused.status_code == 401
    assert "session" in refused.json()["detail"]


def test_forbidden_attempts_are_audited_with_the_principal(service: Service) -> None:
    with service.client(service.clinician_key) as clinician:
        assert clinician.get("/api/audit").status_code == 403
    refused = [e for e in _actions(service, "test-clinician") if e[0] == "refused"]
    assert any(status == 403 for _, status, _ in refused)
    with service.client("ot_not-a-key") as stranger:
        assert stranger.get("/api/patients/example-naive-high-risk").status_code == 401
    entries = service.registry.audit_entries("example-naive-high-risk")
    assert any(e["action"] == "refused" and e["actor"].startswith("key ot_not-a-") for e in entries)


def test_security_headers_on_pages_and_api(service: Service, anonymous: httpx.Client) -> None:
    for path in ("/login", "/api/patients", "/"):
        headers = anonymous.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    login = anonymous.get("/login").text
    assert "<script>" not in login and "style=" not in login
