"""Request dependencies: who is calling, and the audit context of a patient route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from osteotarget.security import AuthError, CdsVerifier, Principal, verify_token
from osteotarget.store import KEY_PREFIX, Registry
from osteotarget.web.settings import Settings

SESSION_COOKIE = "osteotarget_session"


@dataclass
class Service:
    settings: Settings
    registry: Registry
    verifier: CdsVerifier


@dataclass
class AuditContext:
    principal: Principal
    action: str
    patient_id: str | None = None
    detail: str = ""


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def _from_key(svc: Service, key: str) -> Principal:
    client = svc.registry.client_for_key(key)
    if client is None:
        raise AuthError("the API key is not valid")
    return Principal(client.name, client.role, "api_key")


def authenticate(request: Request) -> Principal:
    """An API key (``X-API-Key`` or ``Authorization: Bearer ot_...``), a bearer JWT issued by
    this service, or the browser session cookie. Never disabled, not even in demo mode."""
    svc = service(request)
    key = request.headers.get("x-api-key")
    if key:
        return _from_key(svc, key)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token:
        token = token.strip()
        if token.startswith(KEY_PREFIX):
            return _from_key(svc, token)
        return verify_token(svc.settings.secret, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return verify_token(svc.settings.secret, cookie)
    raise AuthError("credentials are required (X-API-Key or Authorization: Bearer)")


Caller = Annotated[Principal, Depends(authenticate)]


def audited(request: Request, principal: Principal, action: str, patient_id: str | None) -> None:
    """Mark this request for the audit trail; the middleware writes it with the final status."""
    request.state.audit = AuditContext(principal, action, patient_id)
