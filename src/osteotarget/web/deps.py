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


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    """The browser session cookie, the same way wherever it is set or renewed."""
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure
    )


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
        raise AuthError("the API key is not valid", actor=f"key {key[:10]}")
    return Principal(client.name, client.role, "api_key", key_fingerprint=client.key_fingerprint)


def _from_token(svc: Service, token: str) -> Principal:
    """A token of ours, checked against its client as it is now: a revoked client, a
    rotated key, a changed role or a signed-out session ends it at once."""
    claimed = verify_token(svc.settings.secret, token)
    if claimed.kind == "user":
        return _from_user_session(svc, claimed)
    client, ended = svc.registry.token_state(claimed.name, claimed.token_id)
    if ended:
        raise AuthError("this token was ended by signing out", actor=claimed.name)
    if client is None:
        raise AuthError("the client of this token is revoked or unknown", actor=claimed.name)
    if client.key_fingerprint != claimed.key_fingerprint:
        raise AuthError("the key this token was issued for was replaced", actor=claimed.name)
    if client.role != claimed.role:
        raise AuthError("the client's role changed: get a new token", actor=claimed.name)
    return claimed


def _from_user_session(svc: Service, claimed: Principal) -> Principal:
    """A person's session, checked against the user as they are now: deactivated, given a
    new password (a new session stamp), a changed role or signed out ends it at once."""
    user, ended = svc.registry.users.session_state(claimed.name, claimed.token_id)
    if ended:
        raise AuthError("this session was ended by signing out", actor=claimed.name)
    if user is None or not user.active:
        raise AuthError("the user of this session is deactivated or unknown", actor=claimed.name)
    if user.stamp_fingerprint != claimed.key_fingerprint:
        raise AuthError("the password was changed: sign in again", actor=claimed.name)
    if user.role != claimed.role:
        raise AuthError("the user's role changed: sign in again", actor=claimed.name)
    return claimed


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticate(request: Request) -> Principal:
    """An API key (``X-API-Key`` or ``Authorization: Bearer ot_...``), a bearer JWT issued by
    this service, or the browser session cookie — for reading only: a request that changes
    data never rides on a cookie (a cross-site page cannot make the browser send it).
    Never disabled, not even in demo mode."""
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
        return _from_token(svc, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS:
            raise AuthError(
                "the browser session cannot change data: use an API key or a bearer token"
            )
        return _from_token(svc, cookie)
    raise AuthError("credentials are required (X-API-Key or Authorization: Bearer)")


def session_principal(request: Request, session: str) -> Principal:
    """The principal of a browser session token (for a page form that carried its
    anti-forgery token: :func:`osteotarget.web.pages.form_caller`)."""
    return _from_token(service(request), session)


def audit_refusal(request: Request, exc: AuthError) -> None:
    """Every refused attempt (401/403) is an audit row: who (when known), what, where."""
    client = request.client
    service(request).registry.audit(
        actor=exc.actor or "(anonymous)",
        role="",
        action="refused",
        patient_id=request.path_params.get("patient_id"),
        method=request.method,
        path=request.url.path,
        remote=client.host if client else "",
        status=403 if exc.forbidden else 401,
        detail=exc.detail,
    )


def audit_credential(
    request: Request, principal: Principal, action: str, subject: str, status: int = 200
) -> None:
    """A credential event (key created or revoked, token issued, sign-in, sign-out): the
    acting principal, and the client it was about in ``detail``."""
    client = request.client
    service(request).registry.audit(
        actor=principal.name,
        role=principal.role,
        action=action,
        patient_id=None,
        method=request.method,
        path=request.url.path,
        remote=client.host if client else "",
        status=status,
        detail=f"subject={subject}",
    )


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
