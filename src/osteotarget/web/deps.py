"""Request dependencies: who is calling, and the audit context of a patient route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from osteotarget.model.bounds import ID_MAX_LENGTH, ID_PATTERN, ID_RULE
from osteotarget.security import AuthError, CdsVerifier, Principal, verify_token
from osteotarget.store import KEY_PREFIX, Registry
from osteotarget.web.problems import ApiProblem
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


# A patient id in a URL: refused at the door (422 naming ``patient_id``) unless it is in
# the safe alphabet every stored id is in (osteotarget.model.bounds).
PatientId = Annotated[
    str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, description=ID_RULE)
]


def etag(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def if_match(request: Request) -> int | None:
    """The record version an ``If-Match: "v<n>"`` header names (None without one, or for
    ``*``). Anything else cannot match a version of the record: 412."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    text = header.strip().removeprefix("W/")
    if text.startswith('"v') and text.endswith('"') and text[2:-1].isdigit():
        digits = text[2:-1]
        if len(digits) <= 12:
            return int(digits)
    raise ApiProblem(
        412,
        "Precondition failed",
        'If-Match must be one ETag of this record, such as "v3" (from GET)',
    )
