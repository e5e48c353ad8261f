"""RFC 9457 problem details, naming the refused field (reuses RecordError.problems)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from osteotarget.model import Problem, RecordError
from osteotarget.security import AuthError
from osteotarget.store import RegistryBusy, VersionConflict

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://osteotarget.org/problems/"
log = logging.getLogger("osteotarget.web")


PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}, "description": "RFC 9457 problem details"}
UNAVAILABLE: dict[str, Any] = {
    **PROBLEM,
    "description": "the database is unavailable or busy; try again after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
# Documented on every API operation: refusals at the door, auth, not found, bad input,
# body too large, database down.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: PROBLEM,
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    413: PROBLEM,
    422: PROBLEM,
    503: UNAVAILABLE,
}
# Writes of a record also answer 412 when If-Match names a version that is not current.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    412: {**PROBLEM, "description": "If-Match does not name the current version (re-read)"},
}
RETRY_AFTER_SECONDS = "2"


class ApiProblem(Exception):
    def __init__(
        self, status: int, title: str, detail: str = "", problems: list[Problem] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.problems = problems or []


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str = "",
    problems: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "instance": _safe(request.url.path),
    }
    if detail:
        body["detail"] = _safe(detail)
    if problems:
        body["errors"] = [
            {"field": _safe(p.field), "message": _safe(p.message), "value": _safe(p.value)}
            for p in problems
        ]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _safe(text: str) -> str:
    """Echoed text that is always valid UTF-8 (a lone surrogate becomes '?')."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _loc(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def validation_problems(errors: Any) -> list[Problem]:
    problems = []
    for item in errors:
        loc = [
            p for p in item.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))
        ]
        if loc and loc[0] == "body":
            loc = loc[1:]
            if not loc:
                loc = ["body"]
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        problems.append(Problem(_loc(loc), message, _short(item.get("input"))))
    return problems


async def on_record_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RecordError)
    return problem_response(
        request, 422, "Record refused", f"{len(exc.problems)} problem(s)", exc.problems
    )


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc.errors())
    return problem_response(
        request, 422, "Invalid request", f"{len(problems)} problem(s)", problems
    )


async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(request, exc.status, exc.title, exc.detail, exc.problems)


async def on_auth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    template = getattr(request.scope.get("route"), "path", "(unmatched)")
    log.info("refused (%s) %s %s", "403" if exc.forbidden else "401", request.method, template)
    if exc.forbidden:
        return problem_response(request, 403, "Forbidden", exc.detail)
    return problem_response(
        request,
        401,
        "Unauthorized",
        exc.detail,
        headers={"WWW-Authenticate": 'Bearer realm="osteotarget"'},
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 400: "Bad request"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else ""
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(request, exc.status_code, title, detail, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method any route answers on this path (Starlette's 405 names only the first
    route that matched the path, though several routes may share it)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # No message or traceback to the caller: it might carry record content.
    return problem_response(request, 500, "Internal error", "see the server log (no patient data)")


async def on_version_conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VersionConflict)
    return problem_response(
        request,
        412,
        "Precondition failed",
        f"If-Match named version {exc.expected}; the record is at version {exc.current} "
        "(someone else changed it: read it again)",
        [Problem("If-Match", "is not the current version", f'"v{exc.expected}"')],
        headers={"ETag": f'"v{exc.current}"'},
    )


async def on_patient_not_found(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 404, "Not found", "no patient with this id")


async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Database down, frozen (a timeout) or too busy: 503 with Retry-After, never a 500."""
    log.warning(
        "database unavailable (%s) on %s %s",
        type(exc).__name__,
        request.method,
        getattr(request.scope.get("route"), "path", "(unmatched)"),
    )
    return problem_response(
        request,
        503,
        "Service unavailable",
        "the registry database is unavailable or busy; try again",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    RegistryBusy,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
