"""CDS Hooks endpoints: discovery, patient-view, order-select, order-sign, feedback."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, BackgroundTasks, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from osteotarget.adapters import cdshooks, fhir_in
from osteotarget.model import Patient, RecordError, parse_patient
from osteotarget.security import Principal
from osteotarget.store import KEY_PREFIX
from osteotarget.web.deps import audited, authenticate, service
from osteotarget.web.engine import run_assessment
from osteotarget.web.problems import PROBLEM_JSON, ApiProblem

router = APIRouter(tags=["cds-hooks"])
SERVICES = {cdshooks.PATIENT_VIEW, cdshooks.ORDER_SELECT, cdshooks.ORDER_SIGN}
PROBLEM = {"content": {PROBLEM_JSON: {}}, "description": "RFC 9457 problem details"}
ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 404: PROBLEM, 422: PROBLEM}


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
    fhirServer: str | None = Field(default=None, max_length=2000)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(max_length=200)
    outcome: str = Field(max_length=40)


class Feedback(BaseModel):
    feedback: list[FeedbackItem] = Field(max_length=100)


def cds_caller(request: Request) -> Principal:
    """A CDS Hooks JWT from an allow-listed EHR (the spec's way), or one of our API keys."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and not token.startswith(KEY_PREFIX):
        svc = service(request)
        base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
        audiences = [base + request.url.path, base + "/cds-services", base]
        return svc.verifier.verify(token, audiences)
    return authenticate(request)


def _base(request: Request) -> str:
    return (service(request).settings.public_url or str(request.base_url)).rstrip("/")


CdsCaller = Annotated[Principal, Depends(cds_caller)]


@router.get("/cds-services")
def cds_discovery() -> dict[str, Any]:
    """CDS Hooks discovery (public, as the spec requires; no patient data)."""
    return cdshooks.discovery()


def _patient_for(
    request: Request, hook: HookRequest, caller: Principal, tasks: BackgroundTasks
) -> Patient | list[str]:
    patient_id = str(hook.context.get("patientId") or "")
    if not patient_id:
        raise ApiProblem(422, "Invalid request", "context.patientId is required")
    svc = service(request)
    resources, missing = cdshooks.resources_from_prefetch(hook.prefetch or {})
    # Only an EHR that proved itself with a signed JWT can make this service call out to
    # a FHIR server (an API-key caller could otherwise point it anywhere).
    if missing and hook.fhirServer and caller.kind == "cds_hooks":
        token = hook.fhirAuthorization.access_token if hook.fhirAuthorization else None
        try:
            resources += cdshooks.fetch_missing(
                hook.fhirServer, token, patient_id, missing, svc.settings.fhir_timeout_seconds
            )
        except (httpx.HTTPError, ValueError) as exc:
            raise ApiProblem(
                412,
                "Precondition failed",
                f"the FHIR server could not be read ({type(exc).__name__})",
            ) from None
    if not any(r.get("resourceType") == "Patient" for r in resources):
        stored = svc.registry.get_patient(patient_id)
        if stored is None:
            raise ApiProblem(
                412,
                "Precondition failed",
                "no prefetch, no fhirServer and no registry record for this patient",
            )
        return stored.patient
    converted = fhir_in.records_from_resources(resources)
    record = converted.records.get(patient_id) or next(iter(converted.records.values()), None)
    if record is None:
        raise ApiProblem(412, "Precondition failed", "the Patient resource could not be read")
    try:
        patient = parse_patient(record, f"Patient/{patient_id}")
    except RecordError as exc:
        return [str(p) for p in exc.problems]
    # Kept in the registry so the card's link opens it; written after the answer is sent.
    tasks.add_task(svc.registry.put_patient, patient, caller.name, "cds-hooks")
    return patient


def _unreadable(patient_id: str, problems: list[str], link: str) -> dict[str, Any]:
    return {
        "cards": [
            {
                "uuid": f"unreadable-{patient_id}"[:200],
                "summary": "osteotarget could not read this record; no advice is shown",
                "indicator": "warning",
                "detail": "\n".join(f"- {p}" for p in problems[:20]),
                "source": {"label": "osteotarget"},
                "links": [{"label": "osteotarget", "url": link, "type": "absolute"}],
            }
        ]
    }


@router.post("/cds-services/{service_id}", responses=ERRORS)
def cds_service(
    request: Request,
    caller: CdsCaller,
    service_id: str,
    hook: Annotated[HookRequest, Body()],
    tasks: BackgroundTasks,
) -> dict[str, Any]:
    if service_id not in SERVICES:
        raise ApiProblem(404, "Not found", "no such CDS service")
    patient_id = str(hook.context.get("patientId") or "")
    audited(request, caller, f"cds_{hook.hook}"[:40], patient_id or None)
    base = _base(request)
    found = _patient_for(request, hook, caller, tasks)
    link = f"{base}/patients/{patient_id}"
    if isinstance(found, list):
        return _unreadable(patient_id, found, base)
    link = f"{base}/patients/{found.id}"
    try:
        assessment = run_assessment(found, date.today(), None)
    except RecordError as exc:
        return _unreadable(found.id, [str(p) for p in exc.problems], base)
    if service_id == cdshooks.PATIENT_VIEW:
        return {"cards": cdshooks.patient_view_cards(assessment, link)}
    drugs = cdshooks.drugs_in_orders(hook.context.get("draftOrders"))
    return {"cards": cdshooks.order_cards(assessment, drugs, link)}


@router.post("/cds-services/{service_id}/feedback", responses=ERRORS)
def cds_feedback(
    request: Request, caller: CdsCaller, service_id: str, feedback: Annotated[Feedback, Body()]
) -> dict[str, Any]:
    if service_id not in SERVICES:
        raise ApiProblem(404, "Not found", "no such CDS service")
    count = service(request).registry.store_feedback(
        service_id, [f.model_dump(mode="json") for f in feedback.feedback], caller.name
    )
    return {"stored": count}
