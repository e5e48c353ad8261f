"""Item-level writes: add, correct (PUT/PATCH) and remove one entry of a record.

Entries are DXA visits, fractures, falls, therapy courses (and their doses), labs,
conditions and function scores. An entry is addressed by its ``item_id``: a hash of its
content, so a stale id (someone else changed or removed the entry) finds nothing and is
refused with 404 instead of changing the wrong entry. Each write is one versioned
read-modify-write (:meth:`Registry.update`): a new version in the record's history, with
``If-Match`` honoured (412 on a stale version) and, without it, retried on the newest
record so no concurrent write is lost. A write that would make the record invalid is
refused with 422 naming the field; nothing is stored.

(No ``from __future__ import annotations`` here: the route factories below hand FastAPI
annotations that name a per-kind body model held in a local variable.)
"""

import hashlib
import json
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi import Path as FastApiPath
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from osteotarget.model import (
    Condition,
    DxaVisit,
    Fall,
    Fracture,
    FunctionScore,
    Lab,
    Patient,
    Problem,
    RecordError,
    TherapyCourse,
    parse_patient,
)
from osteotarget.model.bounds import IsoDate
from osteotarget.model.validate import problems_from
from osteotarget.security import Principal
from osteotarget.store import PatientNotFound
from osteotarget.store.writes import record_of
from osteotarget.web.deps import Caller, PatientId, audited, if_match, service, set_etag
from osteotarget.web.problems import ERRORS, WRITE_ERRORS, ApiProblem

router = APIRouter(prefix="/api")

# Field of the record -> the model of one entry.
KINDS: dict[str, type[BaseModel]] = {
    "dxa": DxaVisit,
    "fractures": Fracture,
    "falls": Fall,
    "therapies": TherapyCourse,
    "labs": Lab,
    "conditions": Condition,
    "function": FunctionScore,
}
ItemId = Annotated[str, FastApiPath(pattern="^[0-9a-f]{16}$", description="an entry's item_id")]


class ItemWriteOut(BaseModel):
    id: str
    outcome: str = Field(description="created, updated or unchanged")
    version: int
    item_id: str | None = Field(default=None, description="the entry's id after the write")


class Dose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate


class ItemNotFound(LookupError):
    pass


def item_id(item: dict[str, Any]) -> str:
    """A content id: the same entry has the same id on every server and version."""
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _find(items: list[dict[str, Any]], wanted: str) -> int:
    for index, entry in enumerate(items):
        if item_id(entry) == wanted:
            return index
    raise ItemNotFound(wanted)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch (``null`` removes a field)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def change_entries(
    request: Request,
    caller: Principal,
    patient_id: str,
    field: str,
    action: str,
    mutate: Callable[[list[dict[str, Any]]], dict[str, Any] | None],
    response: Response,
) -> ItemWriteOut:
    """One versioned write of one list of the record. ``mutate`` changes the list in place
    and returns the entry as written (None when it was removed)."""
    caller.require("clinician")
    audited(request, caller, action, patient_id)
    expected = if_match(request)
    written: dict[str, dict[str, Any] | None] = {}

    def change(current: Patient | None) -> Patient:
        if current is None:
            raise PatientNotFound(patient_id)
        record = record_of(current)
        entries = list(record.get(field, []))
        written["entry"] = mutate(entries)
        record[field] = entries
        return parse_patient(record, patient_id)

    try:
        result = service(request).registry.update(
            patient_id, change, expected_version=expected, principal=caller.name, source="api"
        )
    except ItemNotFound:
        raise ApiProblem(
            404,
            "Not found",
            "no entry with this item_id (it may have been changed or removed since it was read)",
            [Problem("item_id", "not found in this record")],
        ) from None
    set_etag(response, result.version)
    entry = written.get("entry")
    # The stored entry (normalised: doses sorted ...) is the one whose id is returned.
    stored = None
    if entry is not None:
        stored_items = record_of(result.patient).get(field, [])
        candidates = [e for e in stored_items if item_id(e) == item_id(entry)]
        stored = item_id(candidates[0]) if candidates else _normalised_id(field, entry)
    return ItemWriteOut(
        id=patient_id, outcome=result.outcome, version=result.version, item_id=stored
    )


def _normalised_id(field: str, entry: dict[str, Any]) -> str:
    return item_id(_dump(KINDS[field].model_validate(entry)))


def _register(field: str, model: type[BaseModel]) -> None:
    label = field.rstrip("s") if field.endswith("s") else field
    tags: list[str | Enum] = ["record entries"]

    def list_entries(
        request: Request, response: Response, caller: Caller, patient_id: PatientId
    ) -> dict[str, Any]:
        audited(request, caller, f"read_{field}", patient_id)
        stored = service(request).registry.get_patient(patient_id)
        if stored is None:
            raise ApiProblem(404, "Not found", "no patient with this id")
        set_etag(response, stored.version)
        entries = record_of(stored.patient).get(field, [])
        return {
            "version": stored.version,
            "items": [{"item_id": item_id(e), "entry": e} for e in entries],
        }

    def add(
        request: Request,
        response: Response,
        caller: Caller,
        patient_id: PatientId,
        entry: Annotated[model, Body()],  # type: ignore[valid-type]
    ) -> ItemWriteOut:
        new = _dump(entry)

        def mutate(entries: list[dict[str, Any]]) -> dict[str, Any]:
            entries.append(new)
            return new

        return change_entries(request, caller, patient_id, field, f"add_{field}", mutate, response)

    def replace(
        request: Request,
        response: Response,
        caller: Caller,
        patient_id: PatientId,
        item: ItemId,
        entry: Annotated[model, Body()],  # type: ignore[valid-type]
    ) -> ItemWriteOut:
        new = _dump(entry)

        def mutate(entries: list[dict[str, Any]]) -> dict[str, Any]:
            entries[_find(entries, item)] = new
            return new

        return change_entries(
            request, caller, patient_id, field, f"correct_{field}", mutate, response
        )

    def patch(
        request: Request,
        response: Response,
        caller: Caller,
        patient_id: PatientId,
        item: ItemId,
        changes: Annotated[dict[str, Any], Body(description="JSON merge patch (RFC 7396)")],
    ) -> ItemWriteOut:
        def mutate(entries: list[dict[str, Any]]) -> dict[str, Any]:
            index = _find(entries, item)
            merged = merge_patch(entries[index], changes)
            try:
                new = _dump(model.model_validate(merged))
            except ValidationError as exc:
                raise RecordError(
                    [
                        Problem(f"{field}[{index}].{p.field}", p.message, p.value)
                        for p in problems_from(exc)
                    ],
                    patient_id,
                ) from None
            entries[index] = new
            return new

        return change_entries(
            request, caller, patient_id, field, f"correct_{field}", mutate, response
        )

    def remove(
        request: Request, response: Response, caller: Caller, patient_id: PatientId, item: ItemId
    ) -> ItemWriteOut:
        def mutate(entries: list[dict[str, Any]]) -> None:
            del entries[_find(entries, item)]

        return change_entries(
            request, caller, patient_id, field, f"remove_{field}", mutate, response
        )

    base = f"/patients/{{patient_id}}/{field}"
    one = base + "/{item}"
    # OpenAPI links: the item_id an add answers with is the {item} of the writes after it
    # (schemathesis follows them in its stateful phase).
    follow = {
        f"{verb}_{field}": {
            "operationId": f"{verb}_{field}_entry",
            "parameters": {
                "patient_id": "$request.path.patient_id",
                "item": "$response.body#/item_id",
            },
        }
        for verb in ("correct", "patch", "remove")
    }
    added: dict[int | str, Any] = {200: {"description": "the entry was added", "links": follow}}
    routes: list[tuple[str, Callable[..., Any], str, str, dict[int | str, Any], str]] = [
        (base, list_entries, "GET", f"list_{field}", ERRORS, f"List the {field} entries"),
        (base, add, "POST", f"add_{field}_entry", {**WRITE_ERRORS, **added},
         f"Add one {label} entry (a new record version)"),
        (one, replace, "PUT", f"correct_{field}_entry", WRITE_ERRORS,
         f"Correct one {label} entry (replace it)"),
        (one, patch, "PATCH", f"patch_{field}_entry", WRITE_ERRORS,
         f"Correct one {label} entry (JSON merge patch)"),
        (one, remove, "DELETE", f"remove_{field}_entry", WRITE_ERRORS,
         f"Remove one {label} entry"),
    ]  # fmt: skip
    for path, endpoint, method, operation_id, responses, summary in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            tags=tags,
            responses=responses,
            summary=summary,
            operation_id=operation_id,
        )


for _field, _model in KINDS.items():
    _register(_field, _model)


def _change_doses(
    item: str, change: Callable[[list[str]], list[str]]
) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """A mutation that replaces the dose dates of therapy course ``item`` with
    ``change(doses)`` (given a copy of them) and returns the changed course."""

    def mutate(entries: list[dict[str, Any]]) -> dict[str, Any]:
        index = _find(entries, item)
        course = dict(entries[index])
        course["doses"] = change(list(course.get("doses", [])))
        entries[index] = course
        return course

    return mutate


@router.post(
    "/patients/{patient_id}/therapies/{item}/doses",
    tags=["record entries"],
    responses=WRITE_ERRORS,
)
def add_dose(
    request: Request,
    response: Response,
    caller: Caller,
    patient_id: PatientId,
    item: ItemId,
    dose: Dose,
) -> ItemWriteOut:
    """Add one dose date to a therapy course (the course's item_id changes with it)."""

    def added(doses: list[str]) -> list[str]:
        return [*doses, dose.date.isoformat()]

    mutate = _change_doses(item, added)
    return change_entries(request, caller, patient_id, "therapies", "add_dose", mutate, response)


@router.delete(
    "/patients/{patient_id}/therapies/{item}/doses/{dose_date}",
    tags=["record entries"],
    responses=WRITE_ERRORS,
)
def remove_dose(
    request: Request,
    response: Response,
    caller: Caller,
    patient_id: PatientId,
    item: ItemId,
    dose_date: IsoDate,
) -> ItemWriteOut:
    """Remove one dose date from a therapy course."""

    def removed(doses: list[str]) -> list[str]:
        if dose_date.isoformat() not in doses:
            raise ItemNotFound(dose_date.isoformat())
        doses.remove(dose_date.isoformat())
        return doses

    mutate = _change_doses(item, removed)
    return change_entries(request, caller, patient_id, "therapies", "remove_dose", mutate, response)
