"""Worklist pages (filter, sort, CSV export), the service-indicator dashboard (server-rendered
SVG charts, no script) and their API endpoints, over the registry through the population
kernel (:mod:`osteotarget.population`)."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from osteotarget.engine import DEFAULT_PROFILE
from osteotarget.model.bounds import IsoDate
from osteotarget.population import PopulationResult, run_population
from osteotarget.population.layout import from_records
from osteotarget.population.worklist import COLUMNS, QUEUES
from osteotarget.store.models import PatientRow
from osteotarget.web.deps import Caller, audited, service
from osteotarget.web.pages import PageCaller, templates
from osteotarget.web.problems import ERRORS, ApiProblem

router = APIRouter()
SortKey = Literal["priority", "due", "patient_id", "queue"]
_BAND_COLOURS = {"below_50": "#b00020", "50_to_80": "#c77700", "above_80": "#2e7d32"}
_NEUTRAL = "#24415f"
_CACHE: dict[tuple[Any, ...], PopulationResult] = {}
_LOCK = threading.Lock()


def _population(request: Request, as_of: date, profile: str) -> PopulationResult:
    """The population job over the registry, cached until a record changes."""
    registry = service(request).registry
    with registry.session() as session:
        count, stamp = session.execute(
            select(func.count(), func.max(PatientRow.updated_at)).select_from(PatientRow)
        ).one()
    key = (registry.url, count, stamp, as_of, profile)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    with registry.session() as session:
        records = [dict(r) for r in session.scalars(select(PatientRow.record))]
    try:
        result = run_population(from_records(records), as_of, profile)
    except KeyError as exc:
        raise ApiProblem(422, "Unknown profile", str(exc).strip("'\"")) from None
    with _LOCK:
        _CACHE.clear()
        _CACHE[key] = result
    return result


def _rows(
    result: PopulationResult,
    queue: str | None,
    priority: int | None,
    patient: str | None,
    sort: SortKey,
    descending: bool,
) -> list[dict[str, Any]]:
    rows = result.rows
    if queue:
        rows = rows.filter(rows["queue"] == queue)
    if priority is not None:
        rows = rows.filter(rows["priority"] <= priority)
    if patient:
        rows = rows.filter(rows["patient_id"].str.contains(patient, literal=True))
    keys = list(dict.fromkeys([sort, "priority", "due", "patient_id"]))
    rows = rows.sort(keys, descending=descending, nulls_last=True)
    out = rows.to_dicts()
    for row in out:
        row["due"] = row["due"].isoformat() if row["due"] else ""
    return out


def _check_queue(queue: str | None) -> None:
    if queue and queue not in QUEUES:
        raise ApiProblem(422, "Unknown queue", f"queue '{queue}' is not one of {', '.join(QUEUES)}")


# A form leaves an empty box as "priority=": that means no filter, not a bad number.
Priority = Annotated[str | None, Query(max_length=8, description="highest priority number to show")]


def _priority(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiProblem(422, "Bad priority", f"priority '{text}' is not a whole number") from None


Queue = Annotated[str | None, Query(max_length=64, description="queue name (docs/population.md)")]
AsOf = Annotated[IsoDate | None, Query(description="date of the worklist (default: today)")]
Profile = Annotated[str, Query(max_length=64)]
Order = Literal["asc", "desc"]


def _worklist(
    request: Request,
    queue: str | None,
    priority: str | None,
    patient: str | None,
    sort: SortKey,
    order: Order,
    as_of: date | None,
    profile: str,
) -> tuple[date, PopulationResult, list[dict[str, Any]]]:
    """The worklist day, population result and filtered, sorted rows for one request."""
    _check_queue(queue)
    day = as_of or date.today()
    result = _population(request, day, profile)
    return day, result, _rows(result, queue, _priority(priority), patient, sort, order == "desc")


@router.get("/worklists", response_class=HTMLResponse, include_in_schema=False)
def worklists_page(
    request: Request,
    caller: PageCaller,
    queue: Queue = None,
    priority: Priority = None,
    patient: str | None = None,
    sort: SortKey = "priority",
    order: Order = "asc",
    as_of: AsOf = None,
    profile: Profile = DEFAULT_PROFILE,
) -> Response:
    audited(request, caller, "worklists_page", None)
    day, result, rows = _worklist(request, queue, priority, patient, sort, order, as_of, profile)
    return templates.TemplateResponse(
        request,
        "worklists.html",
        {
            "user": caller,
            "rows": rows[:1000],
            "total": len(rows),
            "queues": QUEUES,
            "counts": result.summary()["queues"],
            "filters": {
                "queue": queue or "",
                "priority": priority or "",
                "patient": patient or "",
                "sort": sort,
                "order": order,
                "as_of": day.isoformat(),
                "profile": profile,
            },
            "query": request.url.query,
        },
    )


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@router.get("/worklists.csv", include_in_schema=False)
def worklists_csv(
    request: Request,
    caller: PageCaller,
    queue: Queue = None,
    priority: Priority = None,
    patient: str | None = None,
    sort: SortKey = "priority",
    order: Order = "asc",
    as_of: AsOf = None,
    profile: Profile = DEFAULT_PROFILE,
) -> Response:
    audited(request, caller, "worklists_csv", None)
    day, _, rows = _worklist(request, queue, priority, patient, sort, order, as_of, profile)
    return Response(
        _csv(rows, COLUMNS),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="worklist-{day.isoformat()}.csv"'},
    )


@router.get("/api/worklists", tags=["population"], responses=ERRORS)
def worklists_api(
    request: Request,
    caller: Caller,
    queue: Queue = None,
    priority: Priority = None,
    patient: str | None = None,
    sort: SortKey = "priority",
    order: Order = "asc",
    as_of: AsOf = None,
    profile: Profile = DEFAULT_PROFILE,
    limit: Annotated[int, Query(ge=1, le=100000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Worklist rows (patient_id, queue, reason, due, priority) over the registry."""
    audited(request, caller, "worklists_api", None)
    day, _, rows = _worklist(request, queue, priority, patient, sort, order, as_of, profile)
    return {
        "as_of": day.isoformat(),
        "profile": profile,
        "total": len(rows),
        "rows": rows[offset : offset + limit],
    }


@router.get("/api/kpi", tags=["population"], responses=ERRORS)
def kpi_api(
    request: Request, caller: Caller, as_of: AsOf = None, profile: Profile = DEFAULT_PROFILE
) -> dict[str, Any]:
    """Service indicators (IOF Capture the Fracture, FLS-DB, treat-to-target) and queue sizes."""
    audited(request, caller, "kpi_api", None)
    return _population(request, as_of or date.today(), profile).summary()


def bar_chart(chart_id: str, bars: list[tuple[str, float, str, str]], maximum: float) -> str:
    """A horizontal bar chart as SVG: (label, value, value text, colour) per bar."""
    row, label_width, width = 24, 330, 300
    height = row * len(bars) + 10
    parts = [
        f'<svg id="{chart_id}" class="chart" role="img" width="{label_width + width + 70}" '
        f'height="{height}" viewBox="0 0 {label_width + width + 70} {height}">'
    ]
    for i, (label, value, text, colour) in enumerate(bars):
        y = 5 + i * row
        length = 0 if maximum <= 0 else width * value / maximum
        parts.append(
            f'<g class="bar" data-label="{escape(label)}">'
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{escape(text)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _charts(summary: dict[str, Any]) -> tuple[str, str]:
    shares = [
        (
            i["name"] if len(i["name"]) <= 46 else i["name"][:44] + "…",
            float(i["percent"]),
            f"{i['percent']:g}% ({i['numerator']}/{i['denominator']})",
            _BAND_COLOURS.get(i["band"] or "", _NEUTRAL),
        )
        for i in summary["indicators"]
        if i["computable"] and i["percent"] is not None
    ]
    queues = [(q, float(n), str(n), _NEUTRAL) for q, n in sorted(summary["queues"].items())]
    top = max((v for _, v, _, _ in queues), default=0.0)
    return bar_chart("kpi-chart", shares, 100), bar_chart("queue-chart", queues, top)


@router.get("/kpi", response_class=HTMLResponse, include_in_schema=False)
def kpi_page(
    request: Request, caller: PageCaller, as_of: AsOf = None, profile: Profile = DEFAULT_PROFILE
) -> Response:
    audited(request, caller, "kpi_page", None)
    day = as_of or date.today()
    summary = _population(request, day, profile).summary()
    kpi_chart, queue_chart = _charts(summary)
    return templates.TemplateResponse(
        request,
        "kpi.html",
        {
            "user": caller,
            "summary": summary,
            "kpi_chart": kpi_chart,
            "queue_chart": queue_chart,
            "as_of": day.isoformat(),
            "profile": profile,
        },
    )


_KPI_COLUMNS = (
    "id",
    "name",
    "source",
    "computable",
    "numerator",
    "denominator",
    "percent",
    "value",
    "band",
    "note",
)


@router.get("/kpi.csv", include_in_schema=False)
def kpi_csv(
    request: Request, caller: PageCaller, as_of: AsOf = None, profile: Profile = DEFAULT_PROFILE
) -> Response:
    audited(request, caller, "kpi_csv", None)
    day = as_of or date.today()
    summary = _population(request, day, profile).summary()
    return Response(
        _csv(summary["indicators"], _KPI_COLUMNS),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="kpi-{day.isoformat()}.csv"'},
    )
