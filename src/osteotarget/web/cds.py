"""CDS Hooks endpoints: discovery, patient-view, order-select, order-sign, feedback.

A hook call reads the EHR's data (prefetch, else its FHIR server), merges it with the
registry's stored record into a transient view, assesses that view and answers cards. It
never writes the registry (least privilege: an EHR's call reads, it does not import). The
behaviour (prefetch, patient-id consistency, empty answers, caveats) is in docs/api.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from osteotarget.adapters import cds_prefetch, cdshooks, fhir_in
from osteotarget.model import Patient, Problem, RecordError, parse_patient
from osteotarget.model.merge import merge_records
from osteotarget.security import AuthError, Principal
from osteotarget.store import KEY_PREFIX
from osteotarget.store.writes import record_of
from osteotarget.web.deps import audited, authenticate, service
from osteotarget.web.engine import run_assessment
from osteotarget.web.guards import PARSED_BODY
from osteotarget.web.pages import PageCaller
from osteotarget.web.problems import PROBLEM_JSON, ApiProblem, validation_problems

router = APIRouter(tags=["cds-hooks"])
SERVICES = {cdshooks.PATIENT_VIEW, cdshooks.ORDER_SELECT, cdshooks.ORDER_SIGN}
ORDER_SERVICES = {cdshooks.ORDER_SELECT, cdshooks.ORDER_SIGN}
PROBLEM = {"content": {PROBLEM_JSON: {}}, "description": "RFC 9457 problem details"}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: PROBLEM,
    401: PROBLEM,
    404: PROBLEM,
    412: PROBLEM,
    422: PROBLEM,
}
JSON_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}
}


class FhirAuthorization(BaseModel):
    access_token: str = Field(max_length=10_000)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str = Field(max_length=100)
    hookInstance: str = Field(max_length=200)
    fhirServer: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)


class FeedbackItem(BaseModel):
    """One CDS Hooks 2.0 feedback entry; anything else is refused (422, the field named)."""

    model_config = ConfigDict(extra="forbid")

    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: datetime
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=50)
    overrideReason: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


def cds_caller(request: Request) -> Principal:
    """A CDS Hooks JWT from an allow-listed EHR (the spec's way), or one of our API keys.
    A refused JWT is audited (actor: its claimed issuer) before the 401."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and not token.startswith(KEY_PREFIX):
        svc = service(request)
        base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
        audiences = [base + request.url.path, base + "/cds-services", base]
        try:
            return svc.verifier.verify(token, audiences)
        except AuthError:
            claimed = _claimed_issuer(token)
            audited(request, Principal(f"cds:{claimed}", "none", "cds_hooks"), "cds_refused", None)
            raise
    return authenticate(request)


def _claimed_issuer(token: str) -> str:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("iss", "?"))[:200] if isinstance(claims, dict) else "?"
    except (IndexError, ValueError):
        return "?"


def _base(request: Request) -> str:
    return (service(request).settings.public_url or str(request.base_url)).rstrip("/")


def _fernet(request: Request) -> Fernet:
    digest = hashlib.sha256(("cds-handle|" + service(request).settings.secret).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def patient_handle(request: Request, patient_id: str) -> str:
    """An opaque, authenticated handle for a card link (the raw id never leaves in a URL)."""
    return _fernet(request).encrypt(patient_id.encode()).decode()


def _link(request: Request, patient_id: str) -> str:
    return f"{_base(request)}/cds/open/{patient_handle(request, patient_id)}"


CdsCaller = Annotated[Principal, Depends(cds_caller)]


@router.get("/cds-services")
def cds_discovery() -> dict[str, Any]:
    """CDS Hooks discovery (public, as the spec requires; no patient data)."""
    return cdshooks.discovery()


@router.get("/cds/open/{handle}", include_in_schema=False)
def open_from_card(request: Request, caller: PageCaller, handle: str) -> RedirectResponse:
    """A card's link: the clinician signs in (the login page comes back here), the handle is
    resolved, and the patient page opens."""
    try:
        patient_id = _fernet(request).decrypt(handle.encode()).decode()
    except (InvalidToken, ValueError):
        raise ApiProblem(404, "Not found", "this link is not valid") from None
    audited(request, caller, "cds_open_link", patient_id)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


async def _json_body(request: Request) -> Any:
    parsed = request.scope.get("state", {}).get(PARSED_BODY)
    if isinstance(parsed, dict) and "value" in parsed:
        return parsed["value"]  # parsed once, within bounds, by the body guard
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ApiProblem(
            400, "Bad request", "the body is not valid JSON", [Problem("body", why)]
        ) from None


def _invalid(exc: ValidationError) -> ApiProblem:
    errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
    problems = validation_problems(errors)
    return ApiProblem(422, "Invalid request", f"{len(problems)} problem(s)", problems)


@dataclass
class View:
    """The transient merged view of this patient (or why it could not be read), the caveat
    the cards must carry, and the reading notes (items read by a flagged rule)."""

    patient: Patient | list[str]
    caveat: str = ""
    notes: list[str] = field(default_factory=list)


def _view(request: Request, hook: HookRequest, caller: Principal, patient_id: str) -> View:
    svc = service(request)
    gathered = cds_prefetch.resources_from_prefetch(hook.prefetch or {})
    # Only an EHR that proved itself with a signed JWT can make this service call out to
    # a FHIR server (an API-key caller could otherwise point it anywhere).
    wanted = gathered.missing or gathered.next_pages
    if wanted and hook.fhirServer and caller.kind == "cds_hooks":
        token = hook.fhirAuthorization.access_token if hook.fhirAuthorization else None
        cds_prefetch.fetch_missing(
            hook.fhirServer, token, patient_id, gathered, svc.settings.fhir_timeout_seconds
        )
    gathered.pages_not_followed()
    others = {
        str(r.get("id"))
        for r in gathered.resources
        if r.get("resourceType") == "Patient" and r.get("id") != patient_id
    }
    if others:
        raise ApiProblem(
            422,
            "Invalid request",
            "context.patientId does not match the Patient in prefetch",
            [Problem("context.patientId", "does not match the prefetch Patient")],
        )
    stored = svc.registry.get_patient(patient_id)
    stored_record = record_of(stored.patient) if stored else None
    has_patient = any(r.get("resourceType") == "Patient" for r in gathered.resources)
    if not has_patient and stored_record is None:
        raise ApiProblem(
            412,
            "Precondition failed",
            "the Patient could not be read (no prefetch, no readable fhirServer, no registry "
            "record)",
        )
    if not has_patient and stored_record is not None:
        gathered.resources.insert(
            0,
            {
                "resourceType": "Patient",
                "id": patient_id,
                "gender": stored_record["sex"],
                "birthDate": stored_record["birth_date"],
            },
        )
    converted = fhir_in.records_from_resources(gathered.resources)
    relevant = [
        i
        for i in converted.unread
        if "not in the code maps" not in i.message and "is not read by" not in i.message
    ]
    caveat = cdshooks.caveat_text(gathered.unread_words(), len(relevant), stored is not None)
    notes = sorted({i.message for i in converted.issues if i.level == "flagged"})
    incoming = converted.records.get(patient_id)
    if incoming is None:
        problems = [i.message for i in converted.unread][:20] or ["the Patient is unreadable"]
        return View(problems, caveat, notes)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    merged = merge_records(stored_record, incoming, "cds-hooks", stamp).record
    try:
        return View(parse_patient(merged, f"Patient/{patient_id}"), caveat, notes)
    except RecordError as exc:
        return View([str(p) for p in exc.problems], caveat, notes)


def _unreadable(problems: list[str], link: str) -> dict[str, Any]:
    return {
        "cards": [
            {
                "uuid": "unreadable-" + hashlib.sha256("|".join(problems).encode()).hexdigest(),
                "summary": "osteotarget could not read this record; no advice is shown",
                "indicator": "warning",
                "detail": "\n".join(f"- {p}" for p in problems[:20]),
                "source": {"label": "osteotarget"},
                "links": [{"label": "osteotarget", "url": link, "type": "absolute"}],
            }
        ]
    }


@router.post(
    "/cds-services/{service_id}",
    responses=ERRORS,
    openapi_extra=JSON_BODY,
    response_model=dict[str, Any],
)
async def cds_service(request: Request, caller: CdsCaller, service_id: str) -> Response:
    if service_id not in SERVICES:
        raise ApiProblem(404, "Not found", "no such CDS service")
    body = await _json_body(request)
    try:
        hook = HookRequest.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    patient_id = hook.context.get("patientId")
    if not isinstance(patient_id, str) or not fhir_in.FHIR_ID.match(patient_id):
        raise ApiProblem(
            422,
            "Invalid request",
            "context.patientId must be a FHIR id",
            [Problem("context.patientId", "is missing or not a FHIR id")],
        )
    audited(request, caller, f"cds_{hook.hook}"[:40], patient_id)
    drugs: list[str] = []
    if service_id in ORDER_SERVICES:
        drugs = cdshooks.drugs_in_orders(hook.context.get("draftOrders"))
        if not drugs:
            return JSONResponse({"cards": []})  # no osteoporosis drug among the orders
    # One hop to a worker thread for the whole answer (read, merge, assess, cards): every
    # hop is a wait for a free thread and for the interpreter lock under load. The cards are
    # plain JSON values built here: sent as they are, not validated and re-encoded by the
    # framework against the declared dict type (which only documents the answer).
    answer = await run_in_threadpool(_answer, request, hook, caller, patient_id, service_id, drugs)
    return JSONResponse(answer)


def _answer(
    request: Request,
    hook: HookRequest,
    caller: Principal,
    patient_id: str,
    service_id: str,
    drugs: list[str],
) -> dict[str, Any]:
    view = _view(request, hook, caller, patient_id)
    found, caveat = view.patient, view.caveat
    link = _link(request, patient_id)
    if isinstance(found, list):
        return _unreadable(found, _base(request))
    try:
        assessment = run_assessment(found, date.today(), None)
    except RecordError as exc:
        return _unreadable([str(p) for p in exc.problems], _base(request))
    if service_id == cdshooks.PATIENT_VIEW:
        cards = cdshooks.patient_view_cards(assessment, link, caveat=caveat, notes=view.notes)
        return {"cards": cards}
    return {"cards": cdshooks.order_cards(assessment, drugs, link, caveat)}


@router.post("/cds-services/{service_id}/feedback", responses=ERRORS, openapi_extra=JSON_BODY)
async def cds_feedback(request: Request, caller: CdsCaller, service_id: str) -> dict[str, Any]:
    if service_id not in SERVICES:
        raise ApiProblem(404, "Not found", "no such CDS service")
    body = await _json_body(request)
    try:
        feedback = Feedback.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    count = await run_in_threadpool(
        service(request).registry.store_feedback,
        service_id,
        [f.model_dump(mode="json", exclude_none=True) for f in feedback.feedback],
        caller.name,
    )
    return {"stored": count}
