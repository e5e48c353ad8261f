"""The FastAPI application: REST under /api/, CDS Hooks, pages, audit and problem details.

Application logs name the route template (``/api/patients/{patient_id}``), never the
concrete path, identifiers or bodies: no patient data in logs. The audit trail (database)
records who did what to which patient, when and from where.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from osteotarget import __version__
from osteotarget.model import RecordError
from osteotarget.security import AuthError, CdsVerifier
from osteotarget.store import PatientNotFound, Registry, VersionConflict
from osteotarget.web import admin, api, cds, clinic, health, items, pages, worklists
from osteotarget.web.deps import AuditContext, Service, audit_refusal
from osteotarget.web.guards import BodyGuard, CdsLoadShedder, SecurityHeaders, SessionKeepAlive
from osteotarget.web.problems import (
    UNAVAILABLE_ERRORS,
    ApiProblem,
    on_api_problem,
    on_auth_error,
    on_http_error,
    on_patient_not_found,
    on_record_error,
    on_unavailable,
    on_unexpected,
    on_validation_error,
    on_version_conflict,
)
from osteotarget.web.settings import Settings

log = logging.getLogger("osteotarget.web")


class AuditMiddleware:
    """Pure ASGI: logs the route template and status (never the concrete path), writes the
    audit entry a patient route asked for with the final status, and turns an unhandled
    exception into a 500 problem logged by type only (messages may carry record content)."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            template = getattr(scope.get("route"), "path", "(unmatched)")
            log.error("unhandled %s on %s %s", type(exc).__name__, scope["method"], template)
            if not response_started:
                response = await on_unexpected(Request(scope), exc)
                await response(scope, receive, send_wrapper)
        finally:
            template = getattr(scope.get("route"), "path", "(unmatched)")
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope["method"], template, status, elapsed)
            context = scope.get("state", {}).get("audit")
            if isinstance(context, AuditContext):
                client = scope.get("client")
                try:
                    await run_in_threadpool(
                        self.registry.audit,
                        actor=context.principal.name,
                        role=context.principal.role,
                        action=context.action,
                        patient_id=context.patient_id,
                        method=scope["method"],
                        path=scope["path"],
                        remote=str(client[0]) if client else "",
                        status=status,
                        detail=context.detail or context.principal.kind,
                    )
                except Exception as exc:  # the answer is sent; the database may be down
                    log.error("audit entry not written (%s)", type(exc).__name__)


def create_app(settings: Settings, registry: Registry | None = None) -> FastAPI:
    """One application object; the registry is migrated on creation."""
    registry = registry or Registry(settings.database_url)
    registry.migrate()
    verifier = CdsVerifier.from_config(settings.cds_issuers, registry.remember_jti)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Few worker threads: the work is CPU-bound Python, and many threads fighting over
        # the GIL cost throughput and tail latency.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # Everything alive now (modules, knowledge, models, the app) lives as long as the
        # process: move it out of the cyclic collector's sight, so a full collection under
        # load scans only what requests made (a pause of tens of ms instead of ~100 ms).
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="osteotarget",
        version=__version__,
        description="Treat-to-target osteoporosis decision support: registry, REST API, "
        "CDS Hooks and FHIR R4. Every patient route needs an API key or a bearer token.",
    )
    app.state.service = Service(settings, registry, verifier)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(items.router)
    app.include_router(cds.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    clinic.install(app)
    app.include_router(worklists.router)
    static = resources.files("osteotarget.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    app.add_exception_handler(RecordError, on_record_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ApiProblem, on_api_problem)

    async def on_auth_error_audited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        try:
            await run_in_threadpool(audit_refusal, request, exc)
        except Exception as failure:  # the refusal stands even if the audit row cannot
            log.error("refusal not audited (%s)", type(failure).__name__)
        return await on_auth_error(request, exc)

    app.add_exception_handler(AuthError, on_auth_error_audited)
    app.add_exception_handler(pages.LoginRequired, pages.on_login_required)
    app.add_exception_handler(VersionConflict, on_version_conflict)
    app.add_exception_handler(PatientNotFound, on_patient_not_found)
    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)

    app.add_middleware(AuditMiddleware, registry=registry)
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        max_import_bytes=settings.max_import_bytes,
    )
    app.add_middleware(
        SessionKeepAlive, secret=settings.secret, idle_minutes=settings.session_idle_minutes
    )
    app.add_middleware(CdsLoadShedder, limit=settings.cds_max_in_flight)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """Factory for multi-worker servers (``uvicorn --factory``): every setting from the
    environment (OSTEOTARGET_DATABASE_URL, OSTEOTARGET_SECRET, OSTEOTARGET_CDS_ISSUERS...)."""
    import os

    from osteotarget.store import default_url

    url = os.environ.get("OSTEOTARGET_DATABASE_URL") or default_url()
    return create_app(Settings.from_env(url, demo=os.environ.get("OSTEOTARGET_DEMO") == "1"))
