"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (it can serve:
the database answers and its schema is the newest migration), each saying why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from osteotarget.web.deps import service
from osteotarget.web.problems import RETRY_AFTER_SECONDS

router = APIRouter(tags=["service"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and answering (no database call: a database fault is not a
    reason to restart the process)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "not ready: the reasons are in `checks`"}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and the schema is at the newest migration."""
    checks: dict[str, Any] = service(request).registry.readiness()
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": RETRY_AFTER_SECONDS},
    )
