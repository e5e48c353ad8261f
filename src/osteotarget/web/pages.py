"""Server-rendered pages: sign-in (API key -> session cookie) and the patient list; the
patient page and the clinician's other pages are in :mod:`osteotarget.web.clinic`."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from osteotarget.security import AuthError, Principal, issue_token
from osteotarget.web.deps import SESSION_COOKIE, audited, authenticate, service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("osteotarget.web") / "templates"))
SESSION_MINUTES = 480


class LoginRequired(Exception):
    def __init__(self, detail: str, forbidden: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.forbidden = forbidden


def page_caller(request: Request) -> Principal:
    try:
        return authenticate(request)
    except AuthError as exc:
        raise LoginRequired(exc.detail, exc.forbidden) from None


PageCaller = Annotated[Principal, Depends(page_caller)]


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": "Sign in required",
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


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/patients") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": "", "user": None}
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    api_key: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=500)] = "/patients",
) -> Response:
    svc = service(request)
    client = svc.registry.client_for_key(api_key.strip())
    if client is None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "That API key is not valid.", "user": None},
            status_code=401,
        )
    token = issue_token(svc.settings.secret, client.name, client.role, SESSION_MINUTES)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MINUTES * 60,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout() -> Response:
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
