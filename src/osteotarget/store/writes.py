"""Versioned writes: one read-modify-write of a patient record in one transaction.

Every change of a record is a new ``patient_versions`` row whose ``(patient_id, version)``
is unique (migration 0002), so two writers can never both create version *n*. A writer
reads the current row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write transactions
start with ``BEGIN IMMEDIATE``), applies its change and writes it back only if the version
it read is still current (``UPDATE ... WHERE version = :read``). Whatever still slips
through (a concurrent first insert, a serialisation failure, a busy SQLite file) is
retried from the read, with the change applied again to the newer record: no write is lost
and none is applied twice.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from osteotarget.model import Patient, Problem, RecordError
from osteotarget.store.models import PatientRow, PatientVersionRow

PATIENTS = cast(Table, PatientRow.__table__)
PATIENT_VERSIONS = cast(Table, PatientVersionRow.__table__)

# Bounded retries: enough for dozens of writers on one record; beyond it the caller gets
# RegistryBusy (HTTP 503 with Retry-After), never a silent loss.
MAX_ATTEMPTS = 60
BACKOFF_CAP_MS = 50  # retry pacing (not clinical)
# PostgreSQL SQLSTATEs worth a retry: serialization_failure, deadlock_detected, lock_not_available.
RETRY_SQLSTATES = {"40001", "40P01", "55P03"}

Change = Callable[[Patient | None], Patient]
T = TypeVar("T")


class VersionConflict(Exception):
    """The caller's expected version (``If-Match``) is not the current one."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected version {expected}, the record is at version {current}")
        self.expected = expected
        self.current = current


class PatientNotFound(LookupError):
    """The change needs an existing record and there is none."""


class RegistryBusy(Exception):
    """Retries exhausted under contention (HTTP 503, try again)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    id: str
    outcome: str  # created | updated | unchanged
    version: int
    patient: Patient


def now() -> datetime:
    return datetime.now(UTC)


def canonical(record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The stored form of a validated record and its content hash."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()


def record_of(patient: Patient) -> dict[str, Any]:
    return patient.model_dump(mode="json", exclude_none=True)


def transient(exc: BaseException) -> bool:
    """Worth retrying: a lost race, a serialisation failure or a busy SQLite file (not a
    database that is down: that is a 503 at once)."""
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in RETRY_SQLSTATES:
            return True
        if isinstance(exc, OperationalError):
            text = str(orig).lower()
            return "database is locked" in text or "database is busy" in text
    return False


class _Retry(Exception):
    """The row changed between our read and our write."""


def with_retries(attempt: Callable[[], T]) -> T:
    for number in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except _Retry:
            pass
        except DBAPIError as exc:
            if not transient(exc):
                raise
        delay_ms = min(BACKOFF_CAP_MS, 2 ** min(number, 6))
        time.sleep(random.uniform(0, delay_ms) / 1000)
    raise RegistryBusy("the record is being changed by many writers at once; try again")


def write_version(
    conn: Connection,
    patient_id: str,
    change: Change,
    *,
    expected_version: int | None,
    actor: str,
    source: str,
    lock_rows: bool,
) -> WriteResult:
    """One attempt, inside the caller's transaction. Raises :class:`_Retry` (via the
    conditional update) or an IntegrityError when another writer got there first."""
    query = select(PATIENTS.c.record, PATIENTS.c.record_hash, PATIENTS.c.version).where(
        PATIENTS.c.id == patient_id
    )
    if lock_rows:
        query = query.with_for_update()
    row = conn.execute(query).first()
    current_version = 0 if row is None else int(row.version)
    if expected_version is not None and expected_version != current_version:
        raise VersionConflict(expected_version, current_version)
    current = None if row is None else Patient.model_validate(row.record)
    patient = change(current)
    if patient.id != patient_id:
        raise RecordError([Problem("id", "does not match the record being changed", patient.id)])
    record, digest = canonical(record_of(patient))
    if row is not None and row.record_hash == digest:
        return WriteResult(patient_id, "unchanged", current_version, patient)
    stamp = now()
    version = current_version + 1
    if row is None:
        conn.execute(
            insert(PATIENTS).values(
                id=patient_id,
                record=record,
                record_hash=digest,
                version=version,
                source=source,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        outcome = "created"
    else:
        done = conn.execute(
            update(PATIENTS)
            .where(PATIENTS.c.id == patient_id, PATIENTS.c.version == current_version)
            .values(
                record=record, record_hash=digest, version=version, updated_at=stamp, source=source
            )
        )
        if done.rowcount != 1:
            raise _Retry()
        outcome = "updated"
    conn.execute(
        insert(PATIENT_VERSIONS).values(
            patient_id=patient_id,
            version=version,
            record=record,
            record_hash=digest,
            changed_by=actor,
            changed_at=stamp,
        )
    )
    return WriteResult(patient_id, outcome, version, patient)


def replace_with(patient: Patient) -> Change:
    """The change that makes the record exactly ``patient`` (create or replace)."""

    def change(_current: Patient | None) -> Patient:
        return patient

    return change
