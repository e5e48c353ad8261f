"""Server-rendered pages: sign-in (API key -> session cookie), patient list, patient view."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from osteotarget.knowledge import knowledge
from osteotarget.model import RecordError
from osteotarget.security import AuthError, Principal, issue_token
from osteotarget.web.chart import target_line, tscore_chart
from osteotarget.web.deps import SESSION_COOKIE, audited, authenticate, service
from osteotarget.web.engine import run_assessment
from osteotarget.web.problems import ApiProblem

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


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request, caller: PageCaller, patient_id: str, as_of: date | None = None
) -> Response:
    audited(request, caller, "view_patient_page", patient_id)
    stored = service(request).registry.get_patient(patient_id)
    if stored is None:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": "Not found", "detail": "No patient with this id.", "user": caller},
            status_code=404,
        )
    when = as_of or date.today()
    try:
        assessment = run_assessment(stored.patient, when, None)
    except (RecordError, ApiProblem) as exc:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": "Record refused", "detail": str(exc), "user": caller},
            status_code=422,
        )
    kb = knowledge()
    keys: list[str] = sorted(
        {c for alert in assessment.alerts for c in alert.citations}
        | set(assessment.densitometry.citations if assessment.densitometry else [])
        | {"kanis1994"}
    )
    cited = [(k, kb.citations[k].short()) for k in keys if k in kb.citations]
    context: dict[str, Any] = {
        "patient": stored.patient,
        "a": assessment,
        "age": _age(stored.patient.birth_date, when),
        "chart": tscore_chart(stored.patient, assessment, when),
        "target_label": target_line(assessment).label,
        "cited": cited,
        "user": caller,
        "quote": quote,
    }
    return templates.TemplateResponse(request, "patient.html", context)
