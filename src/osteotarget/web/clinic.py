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
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from osteotarget.engine import DEFAULT_PROFILE
from osteotarget.engine.compare import compare_profiles
from osteotarget.engine.profiles import list_profiles, load_profile
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient, Problem, RecordError
from osteotarget.model.assessment import Assessment
from osteotarget.model.bounds import parse_iso_date
from osteotarget.model.validate import check_as_of, parse_patient
from osteotarget.report import answer_first, cited_in_summary, plain_regimen
from osteotarget.report.pdf import PdfUnavailable, html_to_pdf
from osteotarget.report.summary import plain_action, sentence
from osteotarget.security import AuthError, Principal
from osteotarget.store import StoredPatient, VersionConflict
from osteotarget.store.writes import record_of, replace_with
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
from osteotarget.web.forms import (
    PATIENT_FIELDS,
    SECTIONS,
    Section,
    item_problems,
    new_patient_record,
    split_path,
)
from osteotarget.web.pages import FormCaller, PageCaller
from osteotarget.web.pages import templates as page_templates
from osteotarget.web.problems import ApiProblem

router = APIRouter(include_in_schema=False)
# One template environment for every page (pages.py's): a CSRF token or other context the
# session layer adds there reaches these forms' ``csrf()`` macro too.
templates: Jinja2Templates = page_templates
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
            when = parse_iso_date(as_of)
        except ValueError as exc:
            problems.append(Problem("as_of", f"{exc}; showing today", as_of))
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
    saved: str = "",
) -> Response:
    stored = _load(request, caller, patient_id, "view_patient_page")
    if stored is None:
        return _not_found(request, caller)
    choices = read_choices(as_of, profile, option)
    context = patient_context(stored, choices, caller)
    context["saved"] = saved if saved in SECTIONS else ""
    context["fix_links"] = _fix_links(stored.patient.id, context["record_problems"])
    # A refused choice is named on the page, which answers with the defaults: 422 says so.
    return _page(request, "patient.html", context, 422 if choices.problems else 200)


def _fix_links(patient_id: str, problems: list[Problem]) -> dict[str, str]:
    """A refused item's field path → the form that corrects or removes it."""
    links: dict[str, str] = {}
    for p in problems:
        parts = split_path(p.field)
        if parts is not None and parts[0] in SECTIONS:
            links[p.field] = f"/patients/{quote(patient_id, safe='')}/record/{parts[0]}/{parts[1]}"
    return links


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
    try:
        pdf = html_to_pdf(html)
    except PdfUnavailable as exc:
        detail = f"{exc}. Use the printable page and the browser's Print instead."
        return _page(
            request,
            "error.html",
            {"title": "PDF unavailable", "detail": detail, "user": caller},
            503,
        )
    return Response(
        pdf,
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


# ---- data entry ------------------------------------------------------------------------
#
# Every write from these pages goes through ``save_record`` (one place to re-point when the
# registry gains versioned item-level updates). The form carries the record version it was
# opened on; a record changed since then is not overwritten.


@dataclass(frozen=True)
class Saved:
    version: int | None
    problems: list[Problem]


def save_record(
    request: Request, caller: Principal, record: dict[str, Any], opened_version: int | None
) -> Saved:
    """Validate and store a whole record as a new version through the registry's one
    versioned write (audit trail: the registry's history plus the audited request).
    ``opened_version``: the version the form was opened on (None: a new patient); a record
    changed since then is never overwritten."""
    registry = service(request).registry
    patient_id = str(record.get("id", ""))
    try:
        patient = parse_patient(record, patient_id)
    except RecordError as exc:
        return Saved(None, list(exc.problems))
    try:
        result = registry.update(
            patient.id,
            replace_with(patient),
            expected_version=0 if opened_version is None else opened_version,
            principal=caller.name,
            source="web",
        )
    except VersionConflict as exc:
        if opened_version is None:
            return Saved(None, [Problem("id", "is already in the registry", patient_id)])
        found = "deleted" if exc.current == 0 else f"now at version {exc.current}"
        return Saved(
            None,
            [
                Problem(
                    "record",
                    f"was changed by someone else since you opened this form ({found}); "
                    "reload the page and enter the change again",
                    str(opened_version),
                )
            ],
        )
    return Saved(result.version, [])


def record_problems_of(record: dict[str, Any]) -> list[Problem]:
    """Everything wrong with a record as entered: the model's checks, then dates after
    today (refused at entry, so they never reach the assessment and lock the page)."""
    try:
        patient = parse_patient(record, str(record.get("id", "")))
    except RecordError as exc:
        return list(exc.problems)
    try:
        check_as_of(patient, date.today())
    except RecordError as exc:
        return [
            Problem(p.field, "is in the future (after today); check the date", p.value)
            for p in exc.problems
        ]
    return []


def merge_problems(first: list[Problem], then: list[Problem]) -> list[Problem]:
    """The form's own problems first; the record's only for fields not named already."""
    named = {p.field for p in first}
    return first + [p for p in then if p.field not in named]


def _forbidden(request: Request, caller: Principal, role: str) -> Response | None:
    try:
        caller.require(role)
    except AuthError as exc:
        return _page(
            request,
            "error.html",
            {"title": "Not allowed", "detail": exc.detail, "user": caller},
            403,
        )
    return None


def _record_page_url(patient_id: str) -> str:
    return f"/patients/{quote(patient_id, safe='')}/record"


@router.get("/patients/{patient_id}/record", response_class=HTMLResponse)
def record_page(request: Request, caller: PageCaller, patient_id: str, saved: str = "") -> Response:
    stored = _load(request, caller, patient_id, "view_record_page")
    if stored is None:
        return _not_found(request, caller)
    record = record_of(stored.patient)
    _, record_problems = _assess(stored.patient, read_choices(None, None))
    flagged = {p.field.split(".")[0] for p in record_problems}
    sections = [
        (
            section,
            [
                (index, section.summary(item), f"{section.key}[{index}]" in flagged)
                for index, item in enumerate(record.get(section.key, []))
            ],
        )
        for section in SECTIONS.values()
    ]
    context = {
        "patient": stored.patient,
        "version": stored.version,
        "sections": sections,
        "record_problems": record_problems,
        "saved": saved,
        "user": caller,
    }
    return _page(request, "record.html", context)


def _section(kind: str) -> Section | None:
    return SECTIONS.get(kind)


def _item_form(
    request: Request,
    caller: Principal,
    stored: StoredPatient,
    section: Section,
    index: int | None,
    values: dict[str, str],
    errors: list[Problem],
    status: int = 200,
) -> Response:
    context = {
        "patient": stored.patient,
        "version": stored.version,
        "section": section,
        "index": index,
        "values": values,
        "errors": errors,
        "error_fields": {p.field for p in errors},
        "user": caller,
    }
    return _page(request, "item_form.html", context, status)


@router.get("/patients/{patient_id}/record/{kind}/new", response_class=HTMLResponse)
def new_item_form(request: Request, caller: PageCaller, patient_id: str, kind: str) -> Response:
    stored = _load(request, caller, patient_id, f"new_{kind}_form")
    section = _section(kind)
    if stored is None or section is None:
        return _not_found(request, caller)
    return _item_form(request, caller, stored, section, None, {}, [])


@router.get("/patients/{patient_id}/record/{kind}/{index}", response_class=HTMLResponse)
def edit_item_form(
    request: Request, caller: PageCaller, patient_id: str, kind: str, index: int
) -> Response:
    stored = _load(request, caller, patient_id, f"edit_{kind}_form")
    section = _section(kind)
    if stored is None or section is None:
        return _not_found(request, caller)
    items = record_of(stored.patient).get(kind, [])
    if not 0 <= index < len(items):
        return _not_found(request, caller)
    assert section.from_item is not None
    values = section.from_item(items[index])
    _, record_problems = _assess(stored.patient, read_choices(None, None))
    mine, _ = item_problems(record_problems, kind, index, items[index])
    return _item_form(request, caller, stored, section, index, values, mine)


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _opened(values: dict[str, str]) -> int | None:
    try:
        return int(values.get("version", ""))
    except ValueError:
        return None


def _save_item(
    request: Request,
    caller: Principal,
    stored: StoredPatient,
    section: Section,
    index: int | None,
    values: dict[str, str],
) -> Response:
    assert section.to_item is not None
    item, problems = section.to_item(values)
    record = record_of(stored.patient)
    items = list(record.get(section.key, []))
    position = len(items) if index is None else index
    if index is None:
        items.append(item)
    else:
        items[index] = item
    record[section.key] = items
    mine, _ = item_problems(record_problems_of(record), section.key, position, item)
    problems = merge_problems(problems, mine)
    if not problems:
        saved = save_record(request, caller, record, _opened(values))
        if saved.version is not None:
            return RedirectResponse(
                f"/patients/{quote(stored.patient.id, safe='')}?saved={section.key}", 303
            )
        mine, others = item_problems(saved.problems, section.key, position, item)
        problems = mine + others
    return _item_form(request, caller, stored, section, index, values, problems, 422)


def _item_to_change(
    request: Request,
    caller: Principal,
    patient_id: str,
    kind: str,
    index: int | None,
    action: str,
) -> tuple[StoredPatient, Section] | Response:
    """The patient and record section an add/correct/remove form changes (audited as
    ``action``), or the refusal page: 404 for an unknown patient, section or item (``index``
    outside the section; ``None`` for a new item), 403 for a caller who is not a clinician."""
    stored = _load(request, caller, patient_id, action)
    section = _section(kind)
    if stored is None or section is None:
        return _not_found(request, caller)
    if index is not None and not 0 <= index < len(record_of(stored.patient).get(kind, [])):
        return _not_found(request, caller)
    refused = _forbidden(request, caller, "clinician")
    if refused is not None:
        return refused
    return stored, section


async def _submit_item(
    request: Request,
    caller: Principal,
    patient_id: str,
    kind: str,
    index: int | None,
    action: str,
) -> Response:
    """Save a submitted item form: a new item (``index`` None) or a correction of one."""
    values = await _form_values(request)
    target = _item_to_change(request, caller, patient_id, kind, index, action)
    if isinstance(target, Response):
        return target
    stored, section = target
    return await run_in_threadpool(_save_item, request, caller, stored, section, index, values)


@router.post("/patients/{patient_id}/record/{kind}/new", response_class=HTMLResponse)
async def add_item(request: Request, caller: FormCaller, patient_id: str, kind: str) -> Response:
    return await _submit_item(request, caller, patient_id, kind, None, f"add_{kind}")


@router.post("/patients/{patient_id}/record/{kind}/{index}", response_class=HTMLResponse)
async def correct_item(
    request: Request, caller: FormCaller, patient_id: str, kind: str, index: int
) -> Response:
    return await _submit_item(request, caller, patient_id, kind, index, f"correct_{kind}")


@router.post("/patients/{patient_id}/record/{kind}/{index}/remove", response_class=HTMLResponse)
async def remove_item(
    request: Request, caller: FormCaller, patient_id: str, kind: str, index: int
) -> Response:
    values = await _form_values(request)
    target = _item_to_change(request, caller, patient_id, kind, index, f"remove_{kind}")
    if isinstance(target, Response):
        return target
    stored, _ = target
    record = record_of(stored.patient)
    items = list(record.get(kind, []))
    del items[index]
    record[kind] = items
    saved = await run_in_threadpool(save_record, request, caller, record, _opened(values))
    if saved.version is None:
        return _page(
            request,
            "error.html",
            {
                "title": "Not removed",
                "detail": "; ".join(str(p) for p in saved.problems),
                "user": caller,
            },
            409,
        )
    return RedirectResponse(f"{_record_page_url(stored.patient.id)}?saved=removed", 303)


@router.get("/patients-new", response_class=HTMLResponse)
def new_patient_form(request: Request, caller: PageCaller) -> Response:
    context = {"fields": PATIENT_FIELDS, "values": {}, "errors": [], "user": caller}
    return _page(request, "new_patient.html", context)


@router.post("/patients-new", response_class=HTMLResponse)
async def create_patient(request: Request, caller: FormCaller) -> Response:
    values = await _form_values(request)
    audited(request, caller, "create_patient_page", values.get("id") or None)
    refused = _forbidden(request, caller, "coordinator")
    if refused is not None:
        return refused
    record, problems = new_patient_record(values)
    problems = merge_problems(problems, record_problems_of(record))
    if not problems:
        saved = await run_in_threadpool(save_record, request, caller, record, None)
        if saved.version is not None:
            return RedirectResponse(f"{_record_page_url(str(record['id']))}?saved=created", 303)
        problems = saved.problems
    context = {"fields": PATIENT_FIELDS, "values": values, "errors": problems, "user": caller}
    return _page(request, "new_patient.html", context, 422)
