"""The registry: one object over the database, used by every door (API, CDS Hooks, import).

SQLite by default (a file under ``./var/``), PostgreSQL when the URL says so. The schema is
created and upgraded only by the Alembic migrations shipped in this package.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from osteotarget.model import Patient, Problem, RecordError, parse_patient
from osteotarget.model.assessment import Assessment
from osteotarget.model.merge import MergeResult, merge_each
from osteotarget.store.models import (
    AssessmentRow,
    AuditRow,
    ClientRow,
    FeedbackRow,
    JtiRow,
    PatientRow,
    PatientVersionRow,
    RevokedTokenRow,
    UserRow,
)
from osteotarget.store.users import UserExists, Users, utc
from osteotarget.store.writes import (
    Change,
    WriteResult,
    now,
    record_of,
    replace_with,
    with_retries,
    write_version,
)

# The tables behind the ORM classes, for plain Core statements on the hot write paths.
_PATIENTS = cast(Table, PatientRow.__table__)
_AUDIT = cast(Table, AuditRow.__table__)
_JTI = cast(Table, JtiRow.__table__)

ROLES = ("clinician", "coordinator", "admin")
KEY_PREFIX = "ot_"
JTI_PURGE_SECONDS = 60.0
# A key's "last used" time is written at most this often (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_key(key: str) -> str:
    """API keys are 32 random bytes, so one SHA-256 is enough to keep them unusable at rest."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Client:
    name: str
    role: str
    key_fingerprint: str = ""  # names the current key; a rotated key ends its tokens


def _clean(text: str, limit: int) -> str:
    """Audit text any database stores: no NUL (PostgreSQL refuses it), valid UTF-8."""
    return text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")[:limit]


def fingerprint(key_hash: str) -> str:
    return key_hash[:16]


@dataclass(frozen=True, slots=True)
class StoredPatient:
    patient: Patient
    version: int
    updated_at: datetime
    source: str


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[RecordError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": [
                {
                    "source": e.source,
                    "problems": [
                        {"field": p.field, "message": p.message, "value": p.value}
                        for p in e.problems
                    ],
                }
                for e in self.refused
            ],
        }


def default_url(base: Path | None = None) -> str:
    folder = (base or Path.cwd()) / "var"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'osteotarget.sqlite3'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by the "begin" listeners below, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


# Faults: a database that does not answer is a 503 within seconds, never a hung request.
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_MS = 15_000
SQLITE_BUSY_MS = 5_000
POOL_TIMEOUT_SECONDS = 10


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine with pre-ping, connect and statement timeouts. ``immediate`` (SQLite):
    transactions take the write lock when they begin (``BEGIN IMMEDIATE``), so a writer
    never reads a snapshot it then cannot write over."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
            pool_size=8,
            pool_pre_ping=True,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

        event.listen(engine, "begin", _begin)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}"
    given = parsed.query.get("options")  # keep the URL's own options (e.g. a search_path)
    if given:
        options = " ".join([*(given if isinstance(given, tuple) else [given]), options])
        parsed = parsed.difference_update_query(["options"])
    return create_engine(
        parsed,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        hide_parameters=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options},
    )


class Registry:
    """Patients, their history, assessments, clients, audit and CDS Hooks state."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        sqlite = self.engine.dialect.name == "sqlite"
        # Writes: on SQLite a second engine whose transactions begin IMMEDIATE; on
        # PostgreSQL the same engine, rows locked with SELECT ... FOR UPDATE.
        self._writer = make_engine(url, immediate=True) if sqlite else self.engine
        self._lock_rows = not sqlite
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        self._last_purge = 0.0
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )
        self.users = Users(self.session, self.writing)

    # ---- schema --------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        script_location = str(resources.files("osteotarget.store") / "migrations")
        config = Config()
        config.set_main_option("script_location", script_location)
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def head_revision(self) -> str:
        script_location = str(resources.files("osteotarget.store") / "migrations")
        config = Config()
        config.set_main_option("script_location", script_location)
        head = ScriptDirectory.from_config(config).get_current_head()
        return str(head)

    def readiness(self) -> dict[str, dict[str, Any]]:
        """Can this registry serve? Each check says ok and why (no secrets, no URL)."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            checks["database"] = {"ok": True, "detail": f"{self.engine.dialect.name} answers"}
        except Exception as exc:  # any failure is a reason not to be ready
            checks["database"] = {
                "ok": False,
                "detail": f"{self.engine.dialect.name} unavailable ({type(exc).__name__})",
            }
            return checks
        head = self.head_revision()
        checks["schema"] = {
            "ok": current == head,
            "detail": f"at migration {current}, newest is {head}",
        }
        return checks

    def close(self) -> None:
        self.engine.dispose()
        self._writer.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read transaction (SQLite WAL readers never wait)."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction. On SQLite, writers in this process take turns on a lock
        rather than meeting SQLite's sleeping busy handler (or a stale-snapshot error)."""
        with self._write_lock, self._write_sessions.begin() as session:
            yield session

    # ---- patients ------------------------------------------------------------------------

    def update(
        self,
        patient_id: str,
        change: Change,
        *,
        expected_version: int | None = None,
        principal: str,
        source: str,
    ) -> WriteResult:
        """The one versioned read-modify-write of a record.

        ``change`` gets the current record (``None`` if there is none) and returns the new
        one (raise :class:`PatientNotFound` if it needs a record, or a ``RecordError`` to
        refuse: nothing is written). It may run more than once: when another writer got in
        first it is applied again to the newer record, so it must be a pure function of its
        argument. ``expected_version`` (the API's ``If-Match``; 0 for "must not exist")
        turns a concurrent change into :class:`VersionConflict` instead of a merge. Each
        change is a new version in the history, changed by ``principal``."""

        def attempt() -> WriteResult:
            with self._write_lock, self._writer.begin() as conn:
                return write_version(
                    conn,
                    patient_id,
                    change,
                    expected_version=expected_version,
                    actor=principal,
                    source=source,
                    lock_rows=self._lock_rows,
                )

        return with_retries(attempt)

    def put_patient(
        self,
        patient: Patient,
        actor: str,
        source: str = "api",
        expected_version: int | None = None,
    ) -> str:
        """Create or replace one record; ``created``, ``updated`` or ``unchanged``."""
        return self.update(
            patient.id,
            replace_with(patient),
            expected_version=expected_version,
            principal=actor,
            source=source,
        ).outcome

    def import_records(
        self, items: Iterable[Patient | RecordError], actor: str, source: str
    ) -> ImportReport:
        """One transaction for the good records; each bad one is reported, none is guessed at.
        Concurrent imports of the same ids: the loser retries and finds the winner's rows."""
        refused: list[RecordError] = []
        good: dict[str, Patient] = {}
        for item in items:
            if isinstance(item, RecordError):
                refused.append(item)
            elif item.id in good and record_of(good[item.id]) != record_of(item):
                refused.append(
                    RecordError(
                        [
                            Problem(
                                "id", "appears twice in the batch with different content", item.id
                            )
                        ],
                        item.id,
                    )
                )
            else:
                good[item.id] = item

        def attempt() -> ImportReport:
            report = ImportReport(refused=list(refused))
            with self._write_lock, self._writer.begin() as conn:
                for patient in good.values():
                    result = write_version(
                        conn,
                        patient.id,
                        replace_with(patient),
                        expected_version=None,
                        actor=actor,
                        source=source,
                        lock_rows=self._lock_rows,
                    )
                    getattr(report, result.outcome).append(patient.id)
            return report

        return with_retries(attempt)

    def merge_records(
        self,
        incoming: Mapping[str, dict[str, Any]],
        actor: str,
        source: str,
        *,
        imported_at: str,
        sources: Mapping[str, dict[str, list[str]]] | None = None,
    ) -> tuple[ImportReport, dict[str, MergeResult]]:
        """Merge each incoming record into the stored one item by item (never a replace:
        :mod:`osteotarget.model.merge`), each patient a new version through the same
        versioned write as :meth:`update`, all in one transaction. A merged record the model
        refuses is reported and nothing of it is written; the others are kept."""
        sources = sources or {}

        def attempt() -> tuple[ImportReport, dict[str, MergeResult]]:
            report = ImportReport()
            merged: dict[str, MergeResult] = {}
            with self._write_lock, self._writer.begin() as conn:
                for pid in incoming:

                    def change(current: Patient | None, pid: str = pid) -> Patient:
                        stored = record_of(current) if current is not None else None
                        result = merge_each(
                            {pid: incoming[pid]},
                            lambda _id: stored,
                            source,
                            imported_at,
                            {pid: sources.get(pid, {})},
                        )[pid]
                        merged[pid] = result
                        return parse_patient(result.record, f"{source}[{pid}]")

                    try:
                        result = write_version(
                            conn,
                            pid,
                            change,
                            expected_version=None,
                            actor=actor,
                            source=source,
                            lock_rows=self._lock_rows,
                        )
                    except RecordError as exc:
                        report.refused.append(exc)
                        continue
                    getattr(report, result.outcome).append(pid)
            return report, merged

        return with_retries(attempt)

    def import_dicts(self, records: Iterable[Any], actor: str, source: str) -> ImportReport:
        def parsed() -> Iterator[Patient | RecordError]:
            for index, data in enumerate(records):
                try:
                    yield parse_patient(data, f"{source}[{index}]")
                except RecordError as exc:
                    yield exc

        return self.import_records(parsed(), actor, source)

    def get_patient(self, patient_id: str) -> StoredPatient | None:
        # Core select (no ORM unit of work): read on every CDS call and chart opening.
        columns = (_PATIENTS.c.record, _PATIENTS.c.version, _PATIENTS.c.updated_at)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*columns, _PATIENTS.c.source).where(_PATIENTS.c.id == patient_id)
            ).first()
        if row is None:
            return None
        return StoredPatient(
            Patient.model_validate(row.record), row.version, row.updated_at, row.source
        )

    def patient_history(self, patient_id: str) -> list[dict[str, Any]]:
        with self.session() as session:
            rows = session.scalars(
                select(PatientVersionRow)
                .where(PatientVersionRow.patient_id == patient_id)
                .order_by(PatientVersionRow.version)
            )
            return [
                {
                    "version": r.version,
                    "changed_by": r.changed_by,
                    "changed_at": r.changed_at.isoformat(),
                    "record_hash": r.record_hash,
                }
                for r in rows
            ]

    def list_patients(self, limit: int = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(PatientRow)) or 0
            rows = session.execute(
                select(PatientRow.id, PatientRow.version, PatientRow.updated_at)
                .order_by(PatientRow.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return total, [
                {"id": r.id, "version": r.version, "updated_at": r.updated_at.isoformat()}
                for r in rows
            ]

    def patient_count(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(PatientRow)) or 0

    # ---- assessments ---------------------------------------------------------------------

    def save_assessment(self, assessment: Assessment, patient_version: int, actor: str) -> int:
        with self.writing() as session:
            row = AssessmentRow(
                patient_id=assessment.patient_id,
                patient_version=patient_version,
                as_of=assessment.as_of,
                profile=assessment.profile,
                engine_version=assessment.engine_version,
                knowledge_version=assessment.knowledge_version,
                result=json.loads(assessment.model_dump_json()),
                created_by=actor,
                created_at=now(),
            )
            session.add(row)
            session.flush()
            return row.id

    def list_assessments(self, patient_id: str) -> list[dict[str, Any]]:
        with self.session() as session:
            rows = session.scalars(
                select(AssessmentRow)
                .where(AssessmentRow.patient_id == patient_id)
                .order_by(AssessmentRow.id.desc())
            )
            return [_assessment_summary(r) for r in rows]

    def get_assessment(self, patient_id: str, assessment_id: int) -> dict[str, Any] | None:
        with self.session() as session:
            row = session.get(AssessmentRow, assessment_id)
            if row is None or row.patient_id != patient_id:
                return None
            return {**_assessment_summary(row), "assessment": row.result}

    def patient_version_record(self, patient_id: str, version: int) -> dict[str, Any] | None:
        with self.session() as session:
            row = session.scalar(
                select(PatientVersionRow).where(
                    PatientVersionRow.patient_id == patient_id,
                    PatientVersionRow.version == version,
                )
            )
            return None if row is None else dict(row.record)

    # ---- clients -------------------------------------------------------------------------

    def add_client(self, name: str, role: str, key: str | None = None) -> str:
        """Create a client; returns its key (shown once, stored only as a hash)."""
        if role not in ROLES:
            raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")
        key = key or KEY_PREFIX + secrets.token_urlsafe(32)
        with self.writing() as session:
            person = session.scalar(select(UserRow.id).where(UserRow.username == name.lower()))
            if person is not None:  # one name, one kind of principal (audit is unambiguous)
                raise UserExists(name)
            existing = session.scalar(select(ClientRow).where(ClientRow.name == name))
            if existing is not None:
                existing.key_hash = hash_key(key)
                existing.key_prefix = key[:10]
                existing.role = role
                existing.revoked_at = None
            else:
                session.add(
                    ClientRow(
                        name=name,
                        role=role,
                        key_prefix=key[:10],
                        key_hash=hash_key(key),
                        created_at=now(),
                    )
                )
        return key

    def client_for_key(self, key: str) -> Client | None:
        with self.session() as session:
            row = session.scalar(
                select(ClientRow).where(
                    ClientRow.key_hash == hash_key(key), ClientRow.revoked_at.is_(None)
                )
            )
            if row is None:
                return None
            client = Client(row.name, row.role, fingerprint(row.key_hash))
            last_used = utc(row.last_used_at)
        stamp = now()
        if last_used is None or stamp - last_used > LAST_USED_RESOLUTION:
            self._touch_client(client.name, stamp)
        return client

    def _touch_client(self, name: str, stamp: datetime) -> None:
        """Note when a key was last used (at most every few minutes); a database too busy
        for it never fails the request that used the key."""
        try:
            with self._write_lock, self._writer.begin() as conn:
                conn.execute(
                    update(cast(Table, ClientRow.__table__))
                    .where(ClientRow.name == name)
                    .values(last_used_at=stamp)
                )
        except SQLAlchemyError:
            pass

    def token_state(self, name: str, token_id: str) -> tuple[Client | None, bool]:
        """The client a token names, as it is now (None if unknown or revoked), and whether
        the token itself was ended (logout)."""
        with self.session() as session:
            row = session.scalar(
                select(ClientRow).where(ClientRow.name == name, ClientRow.revoked_at.is_(None))
            )
            ended = session.get(RevokedTokenRow, token_id) is not None
            client = None if row is None else Client(row.name, row.role, fingerprint(row.key_hash))
            return client, ended

    def end_token(self, token_id: str, subject: str, expires_at: datetime) -> None:
        """End one token before its expiry (logout); kept until it would have expired."""
        stamp = now()
        with self._write_lock, self._writer.begin() as conn:
            conn.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < stamp))
            exists = conn.execute(
                select(RevokedTokenRow.jti).where(RevokedTokenRow.jti == token_id)
            ).first()
            if exists is None:
                conn.execute(
                    insert(cast(Table, RevokedTokenRow.__table__)).values(
                        jti=token_id[:64], subject=subject[:200], expires_at=expires_at
                    )
                )

    def revoke_client(self, name: str) -> bool:
        with self.writing() as session:
            row = session.scalar(select(ClientRow).where(ClientRow.name == name))
            if row is None:
                return False
            row.revoked_at = now()
            return True

    def list_clients(self) -> list[dict[str, Any]]:
        with self.session() as session:
            return [
                {
                    "name": r.name,
                    "role": r.role,
                    "key_prefix": r.key_prefix,
                    "revoked": r.revoked_at is not None,
                    "created_at": _iso(r.created_at),
                    "last_used_at": _iso(r.last_used_at),
                }
                for r in session.scalars(select(ClientRow).order_by(ClientRow.name))
            ]

    # ---- audit ---------------------------------------------------------------------------

    def audit(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        patient_id: str | None,
        method: str,
        path: str,
        remote: str,
        status: int,
        detail: str = "",
    ) -> None:
        # Core insert: one row per request, no ORM unit of work needed.
        with self._write_lock, self._writer.begin() as conn:
            conn.execute(
                insert(_AUDIT).values(
                    at=now(),
                    actor=_clean(actor, 200),
                    role=_clean(role, 20),
                    action=_clean(action, 40),
                    patient_id=None if patient_id is None else _clean(patient_id, 200),
                    method=_clean(method, 10),
                    path=_clean(path, 500),
                    remote=_clean(remote, 100),
                    status=status,
                    detail=_clean(detail, 2000),
                )
            )

    def audit_entries(
        self, patient_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self.session() as session:
            query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if patient_id is not None:
                query = query.where(AuditRow.patient_id == patient_id)
            return [
                {
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "patient_id": r.patient_id,
                    "method": r.method,
                    "path": r.path,
                    "remote": r.remote,
                    "status": r.status,
                    "detail": r.detail,
                }
                for r in session.scalars(query)
            ]

    # ---- CDS Hooks state -----------------------------------------------------------------

    def remember_jti(self, jti: str, issuer: str, expires_at: datetime) -> bool:
        """Record a JWT id; False if it was already seen (a replay). Expired ids are
        purged at most once a minute."""
        stamp = now()
        purge = time.monotonic() - self._last_purge > JTI_PURGE_SECONDS
        try:
            with self._write_lock, self._writer.begin() as conn:
                if purge:
                    conn.execute(delete(JtiRow).where(JtiRow.expires_at < stamp))
                conn.execute(
                    insert(_JTI).values(
                        jti=f"{issuer}|{jti}"[:300], issuer=issuer, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        if purge:
            self._last_purge = time.monotonic()
        return True

    def store_feedback(self, service: str, items: list[dict[str, Any]], actor: str) -> int:
        with self.writing() as session:
            for item in items:
                session.add(
                    FeedbackRow(
                        service=service,
                        card=str(item.get("card", ""))[:200],
                        outcome=str(item.get("outcome", ""))[:40],
                        payload=item,
                        actor=actor,
                        received_at=now(),
                    )
                )
        return len(items)

    def feedback(self, service: str | None = None) -> list[dict[str, Any]]:
        with self.session() as session:
            query = select(FeedbackRow).order_by(FeedbackRow.id)
            if service is not None:
                query = query.where(FeedbackRow.service == service)
            return [
                {"service": r.service, "card": r.card, "outcome": r.outcome, "payload": r.payload}
                for r in session.scalars(query)
            ]


def _iso(stamp: datetime | None) -> str | None:
    aware = utc(stamp)
    return None if aware is None else aware.isoformat()


def _assessment_summary(row: AssessmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "patient_version": row.patient_version,
        "as_of": row.as_of.isoformat() if isinstance(row.as_of, date) else str(row.as_of),
        "profile": row.profile,
        "engine_version": row.engine_version,
        "knowledge_version": row.knowledge_version,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }
