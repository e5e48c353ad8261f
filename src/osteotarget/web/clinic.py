"""The clinician's pages: the patient page (answer first), view choices (as-of date,
guideline profile, the option drawn on the chart), the profile comparison, the what-if,
printable reports (HTML with a print stylesheet, and PDF) and offline API docs.

Every page takes its choices from a GET form, so each view is a link that can be shared
or printed. A record the engine refuses never locks the page: it shows what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from osteotarget.engine import DEFAULT_PROFILE
from osteotarget.engine.compare import compare_profiles
from osteotarget.engine.profiles import list_profiles, load_profile
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient, Problem, RecordError
from osteotarget.model.assessment import Assessment
from osteotarget.report import answer_first, cited_in_summary, plain_regimen
from osteotarget.report.pdf import html_to_pdf
from osteotarget.report.summary import plain_action, sentence
from osteotarget.security import Principal
from osteotarget.store import StoredPatient
from osteotarget.web.chart import (
    ExpectedPath,
    chart_rows,
    default_path,
    option_path,
    target_line,
    tscore_chart,
)
from osteotarget.web.deps import audited, service
from osteotarget.web.engine import ProjectionRequest, SiteBaseline, project, run_assessment
from osteotarget.web.pages import PageCaller
from osteotarget.web.problems import ApiProblem

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("osteotarget.web") / "templates"))
ReportKind = Literal["clinician", "patient", "letter"]
REPORT_TITLES: dict[str, str] = {
    "clinician": "Clinician report",
    "patient": "Your bone health summary",
    "letter": "Letter to the primary-care doctor",
}
PROJECTED_SITES = ("total_hip", "femoral_neck", "lumbar_spine")
DEFAULT_WHATIF_MONTHS = 36


def _docs_assets() -> str:
    """Swagger UI as packaged by fastapi-offline (no CDN)."""
    import fastapi_offline

    return str(resources.files(fastapi_offline) / "static")


def install(app: FastAPI) -> None:
    """Register the clinician pages and serve /docs from packaged Swagger UI (no CDN)."""
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", "") not in ("/docs", "/redoc")
    ]
    app.mount("/docs-assets", StaticFiles(directory=_docs_assets()), name="docs-assets")
    app.include_router(router)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The REST API's OpenAPI document in Swagger UI; the start-up script is a static file
    (no inline script), so a strict Content-Security-Policy allows it."""
    return templates.TemplateResponse(request, "docs.html", {"user": None})


# ---- choices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the clinician asked to see; ``problems`` name any choice that was refused."""

    as_of: date
    profile: str
    option: int | None
    problems: list[Problem]

    def query(self, **extra: Any) -> str:
        from urllib.parse import urlencode

        params = {"as_of": self.as_of.isoformat(), "profile": self.profile}
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        return urlencode(params)


def read_choices(as_of: str | None, profile: str | None, option: str | None = None) -> Choices:
    problems: list[Problem] = []
    when = date.today()
    if as_of:
        try:
            when = date.fromisoformat(as_of)
        except ValueError:
            problems.append(Problem("as_of", "is not a date (YYYY-MM-DD); showing today", as_of))
    name = profile or DEFAULT_PROFILE
    if name not in list_profiles():
        problems.append(
            Problem("profile", f"is not a known guideline profile; showing {DEFAULT_PROFILE}", name)
        )
        name = DEFAULT_PROFILE
    chosen: int | None = None
    if option:
        try:
            chosen = int(option)
        except ValueError:
            problems.append(Problem("option", "is not an option number", option))
    return Choices(when, name, chosen, problems)


def profile_choices() -> list[tuple[str, str]]:
    out = []
    for name in list_profiles():
        try:
            title = load_profile(name).title
        except KeyError:
            title = name
        out.append((name, title if title != name else name))
    return out


# ---- shared page plumbing --------------------------------------------------------------


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _not_found(request: Request, caller: Principal) -> Response:
    return _page(
        request,
        "error.html",
        {"title": "Not found", "detail": "No patient with this id.", "user": caller},
        404,
    )


def _load(
    request: Request, caller: Principal, patient_id: str, action: str
) -> StoredPatient | None:
    audited(request, caller, action, patient_id)
    return service(request).registry.get_patient(patient_id)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _assess(patient: Patient, choices: Choices) -> tuple[Assessment | None, list[Problem]]:
    """The assessment, or the record's problems (named field, value, reason): never a lock."""
    try:
        return run_assessment(patient, choices.as_of, choices.profile), []
    except RecordError as exc:
        return None, list(exc.problems) or [Problem("record", str(exc))]
    except ApiProblem as exc:
        return None, list(exc.problems) or [Problem("record", exc.detail)]


def _cited(a: Assessment) -> list[tuple[str, str, str]]:
    if a.citations:
        return [(c.key, c.text, c.evidence or "") for c in a.citations]
    kb = knowledge()
    keys = sorted(
        {c for alert in a.alerts for c in alert.citations}
        | set(a.densitometry.citations if a.densitometry else [])
    )
    return [(k, kb.citations[k].short(), "") for k in keys if k in kb.citations]


def _selected(a: Assessment, choices: Choices) -> tuple[ExpectedPath | None, int | None]:
    if choices.option is not None and 0 <= choices.option < len(a.options):
        option = a.options[choices.option]
        if option.projected_t_scores:
            return option_path(option), choices.option
    for index, option in enumerate(a.options):
        if option.eligible and option.projected_t_scores:
            return option_path(option), index
    return default_path(a), None


def _today_label(as_of: date) -> str:
    return "today" if as_of == date.today() else f"as of {as_of.isoformat()}"


def patient_context(
    stored: StoredPatient, choices: Choices, caller: Principal | None
) -> dict[str, Any]:
    patient = stored.patient
    assessment, record_problems = _assess(patient, choices)
    context: dict[str, Any] = {
        "patient": patient,
        "version": stored.version,
        "age": _age(patient.birth_date, choices.as_of),
        "choices": choices,
        "profiles": profile_choices(),
        "user": caller,
        "record_problems": record_problems,
        "a": assessment,
    }
    if assessment is None:
        return context
    path, selected = _selected(assessment, choices)
    context.update(
        {
            "answer": answer_first(assessment),
            "selected": selected,
            "selected_label": path.label if path else "",
            "chart": tscore_chart(
                patient, assessment, choices.as_of, path, _today_label(choices.as_of)
            ),
            "chart_rows": chart_rows(patient, choices.as_of, path),
            "target_label": target_line(assessment).label,
            "cited": _cited(assessment),
            "summary_cited": [
                c for c in _cited(assessment) if c[0] in cited_in_summary(assessment)
            ],
            "plain_regimen": plain_regimen,
            "plain_action": plain_action,
            "sentence": sentence,
        }
    )
    return context


# ---- the patient page ------------------------------------------------------------------


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    caller: PageCaller,
    patient_id: str,
    as_of: str | None = None,
    profile: str | None = None,
    option: str | None = None,
) -> Response:
    stored = _load(request, caller, patient_id, "view_patient_page")
    if stored is None:
        return _not_found(request, caller)
    choices = read_choices(as_of, profile, option)
    context = patient_context(stored, choices, caller)
    return _page(request, "patient.html", context)


@router.get("/patients/{patient_id}/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    caller: PageCaller,
    patient_id: str,
    as_of: str | None = None,
    profile: str | None = None,
) -> Response:
    stored = _load(request, caller, patient_id, "compare_profiles_page")
    if stored is None:
        return _not_found(request, caller)
    choices = read_choices(as_of, profile)
    context: dict[str, Any] = {
        "patient": stored.patient,
        "choices": choices,
        "profiles": profile_choices(),
        "user": caller,
        "comparison": None,
        "record_problems": [],
    }
    try:
        context["comparison"] = compare_profiles(stored.patient, choices.as_of)
    except RecordError as exc:
        context["record_problems"] = list(exc.problems)
    return _page(request, "compare.html", context)


def _baselines(a: Assessment) -> list[SiteBaseline]:
    return [
        SiteBaseline(site=s.site, t_score=s.latest_t_score)
        for s in a.status.sites
        if s.latest_t_score is not None and s.site in PROJECTED_SITES
    ]


@router.get("/patients/{patient_id}/what-if", response_class=HTMLResponse)
def what_if_page(
    request: Request,
    caller: PageCaller,
    patient_id: str,
    regimen: str = "",
    months: str = "",
    as_of: str | None = None,
    profile: str | None = None,
) -> Response:
    stored = _load(request, caller, patient_id, "what_if_page")
    if stored is None:
        return _not_found(request, caller)
    choices = read_choices(as_of, profile)
    context = patient_context(stored, choices, caller)
    context.update(
        {"regimen": regimen, "months": months or str(DEFAULT_WHATIF_MONTHS), "result": None}
    )
    context["errors"] = []
    a: Assessment | None = context["a"]
    if a is None or not regimen:
        context["months"] = months or str(DEFAULT_WHATIF_MONTHS)
        return _page(request, "whatif.html", context)
    errors: list[Problem] = []
    horizon = DEFAULT_WHATIF_MONTHS
    if months:
        try:
            horizon = int(months)
        except ValueError:
            errors.append(Problem("months", "is not a whole number of months", months))
    baselines = _baselines(a)
    if not baselines:
        errors.append(
            Problem("regimen", "cannot be projected: no T-score at a projected site on file")
        )
    if not errors:
        try:
            result = project(
                ProjectionRequest(
                    sites=baselines,
                    regimen=regimen,
                    target=target_line(a).value,
                    months=horizon,
                )
            )
        except ApiProblem as exc:
            errors.extend(exc.problems or [Problem("regimen", exc.detail, regimen)])
        except ValueError as exc:
            errors.append(Problem("months", str(exc).splitlines()[0], months))
        else:
            points = tuple(
                (int(p["month"]), str(s["site"]), float(p["t_score"]))
                for s in result["sites"]
                for p in s["points"]
            )
            path = ExpectedPath(regimen, points)
            context["result"] = result
            context["chart"] = tscore_chart(
                stored.patient, a, choices.as_of, path, _today_label(choices.as_of)
            )
            context["chart_rows"] = chart_rows(stored.patient, choices.as_of, path)
            context["selected_label"] = regimen
    context["errors"] = errors
    return _page(request, "whatif.html", context, 200 if not errors else 422)


# ---- reports ---------------------------------------------------------------------------


def _report_html(
    request: Request,
    kind: str,
    stored: StoredPatient,
    choices: Choices,
    caller: Principal,
    pdf: bool,
) -> tuple[str, int]:
    context = patient_context(stored, choices, caller)
    context.update(
        {
            "kind": kind,
            "title": REPORT_TITLES[kind],
            "for_pdf": pdf,
            "printed_by": caller.name,
            "request": request,
        }
    )
    status = 200 if context["a"] is not None else 422
    template = templates.get_template(f"report_{kind}.html")
    return template.render(context), status


@router.get("/patients/{patient_id}/report/{kind}.pdf")
def report_pdf(
    request: Request,
    caller: PageCaller,
    patient_id: str,
    kind: ReportKind,
    as_of: str | None = None,
    profile: str | None = None,
    option: str | None = None,
) -> Response:
    stored = _load(request, caller, patient_id, f"report_{kind}_pdf")
    if stored is None:
        return _not_found(request, caller)
    choices = read_choices(as_of, profile, option)
    html, status = _report_html(request, kind, stored, choices, caller, pdf=True)
    if status != 200:
        return HTMLResponse(html, status_code=status)
    filename = f"osteotarget-{kind}-{choices.as_of.isoformat()}.pdf"
    return Response(
        html_to_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/patients/{patient_id}/report/{kind}", response_class=HTMLResponse)
def report_page(
    request: Request,
    caller: PageCaller,
    patient_id: str,
    kind: ReportKind,
    as_of: str | None = None,
    profile: str | None = None,
    option: str | None = None,
) -> Response:
    stored = _load(request, caller, patient_id, f"report_{kind}")
    if stored is None:
        return _not_found(request, caller)
    html, status = _report_html(
        request, kind, stored, read_choices(as_of, profile, option), caller, pdf=False
    )
    return HTMLResponse(html, status_code=status)
