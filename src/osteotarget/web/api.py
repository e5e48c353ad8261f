"""REST API under /api/: patients and their history, assessments, what-if, import, admin."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from osteotarget.adapters import fhir_in, fhir_out
from osteotarget.model import (
    DxaVisit,
    Fracture,
    Lab,
    Patient,
    Problem,
    RecordError,
    TherapyCourse,
    iter_ndjson,
    parse_patient,
)
from osteotarget.model.assessment import Assessment
from osteotarget.model.bounds import IsoDate
from osteotarget.security import issue_token
from osteotarget.store import ROLES, StoredPatient, UserExists
from osteotarget.store.writes import record_of, replace_with
from osteotarget.web.deps import (
    Caller,
    PatientId,
    audit_credential,
    audited,
    if_match,
    service,
    set_etag,
)
from osteotarget.web.engine import (
    ProjectionRequest,
    available_profiles,
    project,
    run_assessment,
)
from osteotarget.web.problems import ERRORS, PROBLEM, WRITE_ERRORS, ApiProblem

router = APIRouter(prefix="/api")
TOKEN_MINUTES = 60
CLIENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$"

AsOf = Annotated[IsoDate | None, Query(description="assessment date (default: today)")]
Profile = Annotated[str | None, Query(max_length=80, description="guideline profile")]


class PatientOut(BaseModel):
    record: dict[str, Any]
    version: int
    updated_at: str
    source: str


class WriteOut(BaseModel):
    id: str
    outcome: str = Field(description="created, updated or unchanged")
    version: int


class Additions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dxa: list[DxaVisit] = []
    fractures: list[Fracture] = []
    therapies: list[TherapyCourse] = []
    labs: list[Lab] = []


class WhatIf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: IsoDate | None = None
    profile: str | None = Field(default=None, max_length=80)
    add: Additions = Additions()


class StoredAssessment(BaseModel):
    id: int
    patient_version: int
    assessment: Assessment


class NewClient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=CLIENT_NAME_PATTERN)
    role: str = Field(pattern="^(clinician|coordinator|admin)$")


def _stored(request: Request, patient_id: str) -> StoredPatient:
    stored = service(request).registry.get_patient(patient_id)
    if stored is None:
        raise ApiProblem(404, "Not found", "no patient with this id")
    return stored


def _write(
    request: Request, response: Response, patient: Patient, actor: str, source: str
) -> WriteOut:
    """Create or replace a whole record: one versioned write, ``If-Match`` honoured."""
    result = service(request).registry.update(
        patient.id,
        replace_with(patient),
        expected_version=if_match(request),
        principal=actor,
        source=source,
    )
    set_etag(response, result.version)
    return WriteOut(id=patient.id, outcome=result.outcome, version=result.version)


@router.get("/health", tags=["service"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/profiles", tags=["service"], responses=ERRORS)
def profiles(caller: Caller) -> list[dict[str, Any]]:
    return available_profiles()


@router.post("/token", tags=["security"], responses=ERRORS)
def token(request: Request, caller: Caller) -> dict[str, Any]:
    """Exchange a credential for a short-lived bearer JWT carrying the client's current role.

    Renewing with a token works only while its client is not revoked, still has the key the
    token was issued for and still has the token's role (checked on every use)."""
    minutes = TOKEN_MINUTES
    issued = issue_token(
        service(request).settings.secret,
        caller.name,
        caller.role,
        minutes,
        key_fingerprint=caller.key_fingerprint,
    )
    audit_credential(request, caller, "issue_token", caller.name)
    return {"access_token": issued, "token_type": "Bearer", "expires_in": minutes * 60}


@router.get("/patients", tags=["patients"], responses=ERRORS)
def list_patients(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    audited(request, caller, "list_patients", None)
    total, items = service(request).registry.list_patients(limit, offset)
    return {"total": total, "items": items}


_PATIENT_LINKS = {
    name: {"operationId": name, "parameters": {"patient_id": "$response.body#/id"}}
    for name in ("get_patient", "replace_patient", "add_labs_entry", "add_falls_entry")
}


@router.post(
    "/patients",
    tags=["patients"],
    responses={
        **WRITE_ERRORS,
        200: {"model": WriteOut, "description": "replaced or unchanged", "links": _PATIENT_LINKS},
        201: {"description": "created", "links": _PATIENT_LINKS},
    },
    status_code=201,
)
def create_patient(
    request: Request, response: Response, caller: Caller, record: Annotated[Patient, Body()]
) -> WriteOut:
    """Create (201) or replace (200) a record; the same record again changes nothing."""
    caller.require("coordinator")
    audited(request, caller, "write_patient", record.id)
    out = _write(request, response, record, caller.name, "api")
    if out.outcome != "created":
        response.status_code = 200
    return out


@router.put(
    "/patients/{patient_id}",
    tags=["patients"],
    responses=WRITE_ERRORS,
    operation_id="replace_patient",
)
def replace_patient(
    request: Request,
    response: Response,
    caller: Caller,
    patient_id: PatientId,
    record: Annotated[Patient, Body()],
) -> WriteOut:
    caller.require("coordinator")
    audited(request, caller, "write_patient", patient_id)
    if record.id != patient_id:
        raise RecordError([Problem("id", "does not match the id in the URL", record.id)])
    return _write(request, response, record, caller.name, "api")


@router.get(
    "/patients/{patient_id}", tags=["patients"], responses=ERRORS, operation_id="get_patient"
)
def get_patient(
    request: Request, response: Response, caller: Caller, patient_id: PatientId
) -> PatientOut:
    """The record, its version (also the ``ETag`` to send back as ``If-Match``)."""
    audited(request, caller, "read_patient", patient_id)
    stored = _stored(request, patient_id)
    set_etag(response, stored.version)
    return PatientOut(
        record=record_of(stored.patient),
        version=stored.version,
        updated_at=stored.updated_at.isoformat(),
        source=stored.source,
    )


@router.get("/patients/{patient_id}/history", tags=["patients"], responses=ERRORS)
def patient_history(
    request: Request, caller: Caller, patient_id: PatientId
) -> list[dict[str, Any]]:
    audited(request, caller, "read_history", patient_id)
    _stored(request, patient_id)
    return service(request).registry.patient_history(patient_id)


@router.post(
    "/patients/{patient_id}/assessments", tags=["assessments"], responses=ERRORS, status_code=201
)
def create_assessment(
    request: Request,
    caller: Caller,
    patient_id: PatientId,
    as_of: AsOf = None,
    profile: Profile = None,
) -> StoredAssessment:
    """Run an assessment and store it with its profile, as_of, engine and knowledge versions."""
    audited(request, caller, "assess", patient_id)
    stored = _stored(request, patient_id)
    result = run_assessment(stored.patient, as_of, profile)
    new_id = service(request).registry.save_assessment(result, stored.version, caller.name)
    return StoredAssessment(id=new_id, patient_version=stored.version, assessment=result)


@router.get("/patients/{patient_id}/assessments", tags=["assessments"], responses=ERRORS)
def list_assessments(
    request: Request, caller: Caller, patient_id: PatientId
) -> list[dict[str, Any]]:
    audited(request, caller, "list_assessments", patient_id)
    _stored(request, patient_id)
    return service(request).registry.list_assessments(patient_id)


@router.get(
    "/patients/{patient_id}/assessments/{assessment_id}", tags=["assessments"], responses=ERRORS
)
def get_assessment(
    request: Request,
    caller: Caller,
    patient_id: PatientId,
    assessment_id: Annotated[int, Field(ge=1, le=2**62)],
) -> dict[str, Any]:
    audited(request, caller, "read_assessment", patient_id)
    found = service(request).registry.get_assessment(patient_id, assessment_id)
    if found is None:
        raise ApiProblem(404, "Not found", "no such assessment for this patient")
    return found


@router.post("/patients/{patient_id}/what-if", tags=["assessments"], responses=ERRORS)
def what_if(
    request: Request, caller: Caller, patient_id: PatientId, scenario: WhatIf
) -> Assessment:
    """Assess the record with hypothetical additions; nothing is stored."""
    audited(request, caller, "what_if", patient_id)
    stored = _stored(request, patient_id)
    record = record_of(stored.patient)
    for field, items in scenario.add.model_dump(mode="json", exclude_none=True).items():
        record.setdefault(field, []).extend(items)
    patient = parse_patient(record, patient_id)
    return run_assessment(patient, scenario.as_of, scenario.profile)


@router.get("/patients/{patient_id}/fhir/record", tags=["fhir"], responses=ERRORS)
def patient_as_fhir(request: Request, caller: Caller, patient_id: PatientId) -> dict[str, Any]:
    """The record as a FHIR R4 collection Bundle."""
    audited(request, caller, "export_fhir_record", patient_id)
    return fhir_out.record_to_bundle(_stored(request, patient_id).patient)


@router.get("/patients/{patient_id}/fhir/assessment", tags=["fhir"], responses=ERRORS)
def assessment_as_fhir(
    request: Request,
    caller: Caller,
    patient_id: PatientId,
    as_of: AsOf = None,
    profile: Profile = None,
) -> dict[str, Any]:
    """RiskAssessment, Goal (targets), CarePlan (plan) and DetectedIssue (critical alerts)."""
    audited(request, caller, "export_fhir_assessment", patient_id)
    result = run_assessment(_stored(request, patient_id).patient, as_of, profile)
    return fhir_out.assessment_to_bundle(result)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"type": "array", "items": {}}, {"type": "object"}]}
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def _entries_of(text: str, json_body: bool) -> list[Patient | RecordError]:
    """A JSON array of records (or one record), else NDJSON; each bad one is reported."""
    stripped = text.lstrip()
    if json_body or stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ApiProblem(
                400, "Bad request", "not valid JSON", [Problem("body", exc.msg)]
            ) from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise ApiProblem(
                422,
                "Invalid request",
                "the body must be a JSON array of records, one record, or NDJSON",
                [Problem("body", "is not a JSON array or object")],
            )
        items: list[Patient | RecordError] = []
        for index, entry in enumerate(data):
            try:
                items.append(parse_patient(entry, f"[{index}]"))
            except RecordError as err:
                items.append(err)
        return items
    return list(iter_ndjson(iter(text.splitlines())))


def _is_json_text(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _body_text(request: Request) -> str:
    raw = await request.body()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(
            400, "Bad request", "the body is not UTF-8", [Problem("body", "is not UTF-8")]
        ) from None


@router.post("/import", tags=["import"], responses=ERRORS, openapi_extra=IMPORT_BODY)
async def import_records(request: Request, caller: Caller) -> dict[str, Any]:
    """Records as NDJSON (one per line) or a JSON array; one transaction, bad ones reported."""
    caller.require("coordinator")
    audited(request, caller, "import_records", None)
    text = await _body_text(request)
    if not text.strip():
        raise ApiProblem(400, "Bad request", "the body is empty", [Problem("body", "is empty")])
    items = _entries_of(text, _is_json(request))
    registry = service(request).registry
    report = await run_in_threadpool(registry.import_records, items, caller.name, "import")
    return report.as_dict()


@router.post("/fhir/import", tags=["fhir"], responses=ERRORS, openapi_extra=FHIR_BODY)
async def import_fhir(request: Request, caller: Caller) -> dict[str, Any]:
    """A FHIR R4 Bundle (JSON) or NDJSON of resources into patient records.

    Codes that no code map knows are reported under ``unmapped``, never silently dropped."""
    caller.require("coordinator")
    audited(request, caller, "import_fhir", None)
    text = await _body_text(request)
    try:
        resources = fhir_in.parse_resources(text)
    except fhir_in.FhirInputError as exc:
        # Not JSON at all: 400. Well-formed JSON the importer cannot read as FHIR: 422.
        status, title = (422, "Invalid request") if _is_json_text(text) else (400, "Bad request")
        raise ApiProblem(status, title, str(exc), [Problem("body", str(exc))]) from None
    converted = fhir_in.records_from_resources(resources)
    registry = service(request).registry

    def merge_and_write() -> dict[str, Any]:  # merge, don't replace (docs/api.md)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        report, merged = registry.merge_records(
            converted.records, caller.name, "fhir", imported_at=stamp, sources=converted.sources
        )
        return {
            **report.as_dict(),
            "unmapped": [i.as_dict() for i in converted.issues],
            "reading": converted.report(),
            "merged": {pid: m.as_dict() for pid, m in merged.items()},
        }

    return await run_in_threadpool(merge_and_write)


@router.post("/projection", tags=["assessments"], responses={**ERRORS, 501: PROBLEM})
def projection(caller: Caller, payload: ProjectionRequest) -> dict[str, Any]:
    """Expected T-scores by month and the chance of reaching a target for a regimen."""
    return project(payload)


@router.get("/audit", tags=["security"], responses=ERRORS)
def audit_log(
    request: Request,
    caller: Caller,
    patient_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    caller.require("admin")
    audited(request, caller, "read_audit", patient_id)
    return service(request).registry.audit_entries(patient_id, limit)


@router.get("/clients", tags=["security"], responses=ERRORS)
def list_clients(request: Request, caller: Caller) -> list[dict[str, Any]]:
    caller.require("admin")
    return service(request).registry.list_clients()


@router.post("/clients", tags=["security"], responses={**ERRORS, 409: PROBLEM}, status_code=201)
def add_client(request: Request, caller: Caller, client: NewClient) -> dict[str, str]:
    """Create a client; its key is shown once and stored only as a hash."""
    caller.require("admin")
    assert client.role in ROLES
    registry = service(request).registry
    if any(c["name"] == client.name for c in registry.list_clients()):
        # Never a silent re-key of an existing client (that would lock it out).
        raise ApiProblem(
            409, "Conflict", "a client with this name exists", [Problem("name", "exists")]
        )
    try:
        key = registry.add_client(client.name, client.role)
    except UserExists:  # one name, one kind of principal: a person's name is not a key's
        raise ApiProblem(
            409, "Conflict", "a user has this name", [Problem("name", "is a user's name")]
        ) from None
    audit_credential(request, caller, "create_client", client.name, 201)
    return {"name": client.name, "role": client.role, "api_key": key}


@router.delete("/clients/{name}", tags=["security"], responses={**ERRORS, 409: PROBLEM})
def revoke_client(
    request: Request,
    caller: Caller,
    name: Annotated[str, Path(min_length=1, max_length=200, pattern=CLIENT_NAME_PATTERN)],
) -> dict[str, Any]:
    """Revoke a client: its key, bearer tokens and browser sessions stop working at once."""
    caller.require("admin")
    if name == caller.name:
        # An admin who revokes itself locks everyone out if it was the last one.
        raise ApiProblem(
            409,
            "Conflict",
            "a client cannot revoke itself; ask another admin",
            [Problem("name", "is the calling client")],
        )
    if not service(request).registry.revoke_client(name):
        raise ApiProblem(404, "Not found", "no client with this name")
    audit_credential(request, caller, "revoke_client", name)
    return {"name": name, "revoked": True}
