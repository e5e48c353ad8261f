"""Server-rendered pages: sign-in of people (username and password -> a session cookie,
server-side revocable) and the patient list; the patient page and the clinician's other pages
are in :mod:`osteotarget.web.clinic`, the admin page in :mod:`osteotarget.web.admin`.

The sign-in page is for people only: API keys are for machines, through the API (``X-API-Key``
or ``Authorization: Bearer``), never pasted into a browser."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from osteotarget.security import AuthError, Principal, issue_token, verify_token
from osteotarget.security.passwords import MAX_LENGTH
from osteotarget.security.signin import SIGN_IN_REFUSED, sign_in
from osteotarget.store import User
from osteotarget.web.deps import (
    SESSION_COOKIE,
    audit_credential,
    audit_refusal,
    audited,
    authenticate,
    service,
    session_principal,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("osteotarget.web") / "templates"))
SESSION_MINUTES = 480
CSRF_COOKIE = "osteotarget_csrf"


class LoginRequired(Exception):
    def __init__(self, detail: str, forbidden: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.forbidden = forbidden


def page_caller(request: Request) -> Principal:
    try:
        return authenticate(request)
    except AuthError as exc:
        audit_refusal(request, exc)
        raise LoginRequired(exc.detail, exc.forbidden) from None


PageCaller = Annotated[Principal, Depends(page_caller)]


async def form_caller(request: Request) -> Principal:
    """A page form's POST: the signed-in session plus the form's anti-forgery token (bound
    to the session, so a page of another site cannot know it); or a machine credential
    (API key or bearer header), which a browser never sends on its own."""
    if request.headers.get("x-api-key") or request.headers.get("authorization"):
        return page_caller(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    sent = str((await request.form()).get("csrf", ""))
    if not session or not sent or not hmac.compare_digest(sent, csrf_token(request)):
        exc = AuthError(
            "this form must come from this site's own signed-in page: reload it",
            forbidden=bool(session),
            actor=_session_name(request, session),
        )
        audit_refusal(request, exc)
        raise LoginRequired(exc.detail, forbidden=bool(session))
    try:
        return session_principal(request, session)
    except AuthError as exc:
        audit_refusal(request, exc)
        raise LoginRequired(exc.detail, exc.forbidden) from None


FormCaller = Annotated[Principal, Depends(form_caller)]


def _session_name(request: Request, session: str) -> str:
    """Who a session cookie names, if it is one of ours (for the audit row of a refusal)."""
    if not session:
        return ""
    try:
        return verify_token(service(request).settings.secret, session).name
    except AuthError:
        return ""


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": "Not allowed" if exc.forbidden else "Sign in required",
            "detail": exc.detail,
            "login": True,
            "next": request.url.path,
            "user": None,
        },
        status_code=403 if exc.forbidden else 401,
    )


def _optional_user(request: Request) -> Principal | None:
    try:
        return authenticate(request)
    except AuthError:
        return None


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return templates.TemplateResponse(request, "index.html", {"user": _optional_user(request)})


def _safe_next(target: str) -> str:
    """Only a local path: no scheme, host, or ``//``/``/\\`` that a browser reads as one."""
    local = target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target
    return target if local else "/patients"


def _login_page(
    request: Request, next: str, error: str, status: int, csrf: str, username: str = ""
) -> Response:
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "next": _safe_next(next),
            "error": error,
            "user": None,
            "login_csrf": csrf,
            "username": username,
        },
        status_code=status,
    )
    _set_csrf_cookie(request, response, csrf)
    return response


def _set_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        max_age=SESSION_MINUTES * 60,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/patients") -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return _login_page(request, next, "", 200, csrf)


def _refuse_page(request: Request, detail: str, actor: str = "") -> Response:
    audit_refusal(request, AuthError(detail, forbidden=True, actor=actor))
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": "Refused", "detail": detail, "user": None},
        status_code=403,
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=MAX_LENGTH * 4)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/patients",
) -> Response:
    """Sign a person in with username and password. The form must carry the token its own
    page set in a cookie (double submit): a cross-site page can make the browser post, not
    read it. Unknown user, wrong password, locked or deactivated account: one answer."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _refuse_page(request, "The sign-in form has expired; open it again.")
    svc = service(request)
    shown = username.strip()[:64]
    if not username.strip() or not password:
        return _login_page(request, next, SIGN_IN_REFUSED, 401, expected, shown)
    result = sign_in(svc.registry.users, username, password, svc.settings.sign_in)
    if result.user is None:
        actor = f"user {shown.lower()}" if shown else "(anonymous)"
        audit_refusal(request, AuthError(f"sign-in refused: {result.reason}", actor=actor))
        return _login_page(request, next, SIGN_IN_REFUSED, 401, expected, shown)
    _end_previous_session(request)
    return start_session(request, result.user, _safe_next(next), "login")


def _end_previous_session(request: Request) -> None:
    """Signing in again ends the session this browser had (it is replaced, not kept)."""
    previous = request.cookies.get(SESSION_COOKIE, "")
    if not previous:
        return
    try:
        old = verify_token(service(request).settings.secret, previous)
    except AuthError:
        return
    if old.expires is not None:
        service(request).registry.end_token(old.token_id, old.name, old.expires)


def start_session(request: Request, user: User, target: str, action: str) -> Response:
    """A new session for ``user`` (a new token id and a new anti-forgery token: nothing of
    a session from before sign-in carries over), then on to ``target``."""
    svc = service(request)
    token = issue_token(
        svc.settings.secret,
        user.username,
        user.role,
        SESSION_MINUTES,
        key_fingerprint=user.stamp_fingerprint,
        session=True,
        person=True,
        idle_minutes=svc.settings.session_idle_minutes,
    )
    principal = Principal(user.username, user.role, "user")
    audit_credential(request, principal, action, user.username)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, SESSION_MINUTES * 60, request.url.scheme == "https")
    _set_csrf_cookie(request, response, secrets.token_urlsafe(24))  # a new one per session
    return response


def csrf_token(request: Request) -> str:
    """The token forms of a signed-in page carry: bound to this session, so a page of
    another site cannot know it (templates: ``{{ csrf_token(request) }}``)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if not session:
        return request.cookies.get(CSRF_COOKIE, "")
    secret = service(request).settings.secret
    try:
        # Bound to the session's token id, which stays when the idle deadline is renewed
        # (the cookie's text changes then; a form rendered before must still be accepted).
        bound = verify_token(secret, session).token_id
    except AuthError:
        return "not-a-session"  # no form of a dead session is accepted
    return hmac.new(secret.encode(), b"csrf:" + bound.encode(), hashlib.sha256).hexdigest()[:32]


templates.env.globals["csrf_token"] = csrf_token


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Sign out: the session token is ended server-side, not only forgotten by the browser."""
    session = request.cookies.get(SESSION_COOKIE, "")
    try:
        principal = verify_token(service(request).settings.secret, session) if session else None
    except AuthError:
        principal = None  # ended already (expired, idle): nothing to end, only forget it
    if principal is not None:
        if not hmac.compare_digest(csrf, csrf_token(request)):
            return _refuse_page(request, "Sign-out must come from this site's own page.")
        if principal.expires is not None:
            service(request).registry.end_token(
                principal.token_id, principal.name, principal.expires
            )
            audit_credential(request, principal, "logout", principal.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, caller: PageCaller) -> Response:
    audited(request, caller, "list_patients_page", None)
    total, items = service(request).registry.list_patients(limit=500)
    return templates.TemplateResponse(
        request, "patients.html", {"total": total, "items": items, "user": caller}
    )
