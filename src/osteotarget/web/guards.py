"""Pure ASGI guards in front of every route: request bounds, security headers, load shedding.

- :class:`BodyGuard` is the one place a request body is bounded, before authentication:
  size (413 from ``Content-Length`` before reading, or as soon as the stream passes the
  limit), then for a JSON body (or NDJSON lines) the bounds of
  :mod:`osteotarget.model.bounds` — depth, number size, string size, list length, lone
  surrogates — refused with 422 naming where. What passes is replayed to the route as is.
- :class:`SecurityHeaders`: CSP without inline script or style, ``frame-ancestors 'none'``,
  ``nosniff``, no referrer, and ``no-store`` for everything but static files.
- :class:`SessionKeepAlive`: an answer to a browser whose session is live carries the session
  cookie with its idle deadline moved on (a session unused for the idle limit ends).
- :class:`CdsLoadShedder`: beyond ``limit`` CDS Hooks calls whose answer is not yet sent,
  503 at once. A call stops counting when its answer's last byte is sent: background work
  after the answer (a registry write) never counts, so nothing is shed below the limit.
"""

from __future__ import annotations

import json

from fastapi import Request, Response
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from osteotarget.model import Problem
from osteotarget.model.bounds import BoundsError, loads_bounded
from osteotarget.security import refreshed_session
from osteotarget.web.deps import SESSION_COOKIE, set_session_cookie
from osteotarget.web.problems import problem_response

IMPORT_PATHS = ("/api/import", "/api/fhir/import")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API docs (Swagger UI, ReDoc) load their scripts from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'"
)


def _is_form(content_type: str) -> bool:
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


PARSED_BODY = "bounded_json"  # request state key: the body as the guard parsed it


def read_body(raw: bytes, content_type: str) -> tuple[Problem | None, dict[str, object]]:
    """Why this body is refused, and the one JSON document it holds (``{"value": ...}``;
    empty when it is not one JSON document), so routes need not parse it again."""
    if not raw or _is_form(content_type):
        return None, {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Problem("body", "is not UTF-8"), {}
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None, {}
    try:
        return None, {"value": loads_bounded(stripped)}
    except BoundsError as exc:
        return Problem(exc.field, exc.message), {}
    except json.JSONDecodeError:
        pass  # not one document: NDJSON lines, or broken JSON the route reports
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                loads_bounded(line)
            except BoundsError as exc:
                return Problem(f"line {number}: {exc.field}", exc.message), {}
            except json.JSONDecodeError:
                continue
    return None, {}


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_import_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_import_bytes = max_import_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.max_import_bytes if scope["path"] in IMPORT_PATHS else self.max_bytes
        request = Request(scope)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, 413, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, 413, limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        raw = b"".join(chunks)
        problem, parsed = read_body(raw, request.headers.get("content-type", "").lower())
        if problem is not None:
            response = problem_response(
                request, 422, "Invalid request", "the body is outside the accepted bounds",
                [problem],
            )  # fmt: skip
            await response(scope, receive, send)
            return
        if parsed:
            scope.setdefault("state", {})[PARSED_BODY] = parsed
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, limit: int) -> None:
        response = problem_response(
            Request(scope),
            status,
            "Content too large",
            f"the request body is larger than {limit} bytes",
            [Problem("body", f"larger than {limit} bytes")],
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path in ("/docs", "/redoc", "/docs/oauth2-redirect")
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = {
                    b"content-security-policy": (DOCS_CSP if docs else CSP).encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CdsLoadShedder:
    """CDS Hooks answers are useless after the EHR's deadline (the spec asks for well under
    500 ms): beyond ``limit`` hook calls in flight, answer 503 at once (the EHR shows no
    cards) instead of queueing into seconds of latency."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith("/cds-services/")
        ):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.shed += 1
            response = problem_response(
                Request(scope),
                503,
                "Service unavailable",
                "too many CDS Hooks calls in flight; try again",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        counted = True

        def release() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.in_flight -= 1

        async def send_and_release(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()  # the answer is complete: what runs after it is not a hook call
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            release()


class SessionKeepAlive:
    """Every successful answer to a live browser session renews its idle deadline (a new
    cookie, the same session); a session unused for ``idle_minutes`` ends (the token says
    so when it is next used). An answer that sets or clears the cookie itself (sign-in,
    sign-out) is left as it is."""

    def __init__(self, app: ASGIApp, secret: str, idle_minutes: float) -> None:
        self.app = app
        self.secret = secret
        self.idle_minutes = idle_minutes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cookie = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
        if scope["type"] != "http" or SESSION_COOKIE.encode() not in cookie:
            await self.app(scope, receive, send)
            return
        session = cookie_parser(cookie.decode("latin-1")).get(SESSION_COOKIE, "")

        async def send_renewed(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                headers = list(message.get("headers", []))
                sets_own = any(
                    k.lower() == b"set-cookie" and v.startswith(SESSION_COOKIE.encode() + b"=")
                    for k, v in headers
                )
                renewed = None if sets_own else refreshed_session(
                    self.secret, session, self.idle_minutes
                )  # fmt: skip
                if renewed is not None:
                    carrier = Response()
                    set_session_cookie(carrier, *renewed, secure=scope.get("scheme") == "https")
                    headers.append(carrier.raw_headers[-1])
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_renewed)
