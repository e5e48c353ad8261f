"""The registry on a real SQLite file and (marker ``postgres``) a real PostgreSQL server."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.store import Registry, hash_key
from osteotarget.web import Settings, create_app
from tests import databases
from tests.databases import BACKENDS, database_url
from tests.service.conftest import LiveServer, example_records

# tests/service/test_faults.py imports these three from here.
PG_URL, _admin_engine, _schema_url = databases.PG_URL, databases.admin_engine, databases.schema_url


@pytest.fixture(params=BACKENDS)
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    with database_url(request.param, tmp_path / "registry.sqlite3", "t") as url:
        reg = Registry(url)
        reg.migrate()
        yield reg
        reg.close()


def test_migrations_are_idempotent_and_create_every_table(registry: Registry) -> None:
    registry.migrate()
    tables = set(inspect(registry.engine).get_table_names())
    assert {
        "patients",
        "patient_versions",
        "assessments",
        "clients",
        "audit_log",
        "seen_jti",
        "cds_feedback",
        "alembic_version",
    } <= tables


def test_import_is_transactional_idempotent_and_reports_bad_records(registry: Registry) -> None:
    records = example_records()
    bad = copy.deepcopy(records[0])
    bad["id"] = "bad-one"
    bad["dxa"][0]["measurements"][0]["site"] = "elbow"
    first = registry.import_dicts([*records, bad], "tester", "test")
    assert sorted(first.created) == sorted(r["id"] for r in records)
    assert first.refused[0].problems[0].field == "dxa[0].measurements[0].site"
    second = registry.import_dicts(list(reversed(records)), "tester", "test")
    assert second.created == [] and second.updated == []
    assert sorted(second.unchanged) == sorted(r["id"] for r in records)
    assert registry.patient_count() == len(records)
    for r in records:
        assert len(registry.patient_history(r["id"])) == 1


def test_conflicting_duplicate_in_one_batch_is_refused(registry: Registry) -> None:
    one = example_records()[0]
    other = {**one, "weight_kg": 70}
    report = registry.import_dicts([one, other], "tester", "test")
    assert report.created == [one["id"]]
    assert report.refused[0].problems[0].field == "id"


def test_history_and_reproducible_assessments(registry: Registry) -> None:
    record = example_records()[2]
    patient = parse_patient(record)
    assert registry.put_patient(patient, "a", "api") == "created"
    changed = parse_patient({**record, "weight_kg": 58})
    assert registry.put_patient(changed, "b", "api") == "updated"
    stored = registry.get_patient(patient.id)
    assert stored is not None and stored.version == 2
    assessment = assess(stored.patient, date(2025, 1, 1))
    new_id = registry.save_assessment(assessment, stored.version, "b")
    saved = registry.get_assessment(patient.id, new_id)
    assert saved is not None
    assert saved["profile"] == assessment.profile and saved["as_of"] == "2025-01-01"
    assert saved["engine_version"] and saved["knowledge_version"] == assessment.knowledge_version
    # reproduce: the record version it was made from, the same as_of and profile
    old = registry.patient_version_record(patient.id, saved["patient_version"])
    assert old is not None
    again = assess(parse_patient(old), date(2025, 1, 1), saved["profile"])
    assert again.model_dump(mode="json") == saved["assessment"]


def test_api_keys_are_hashed_at_rest(registry: Registry) -> None:
    key = registry.add_client("someone", "clinician")
    with registry.engine.connect() as conn:
        rows = conn.execute(text("SELECT key_hash, key_prefix FROM clients")).all()
    assert all(key not in str(row) for row in rows)
    assert rows[0][0] == hash_key(key)
    client = registry.client_for_key(key)
    assert client is not None and client.role == "clinician"
    assert registry.revoke_client("someone")
    assert registry.client_for_key(key) is None
    with pytest.raises(ValueError):
        registry.add_client("x", "superuser")


def test_jti_replay_and_expiry(registry: Registry) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert registry.remember_jti("j1", "iss", soon)
    assert not registry.remember_jti("j1", "iss", soon)
    assert registry.remember_jti("j1", "other-iss", soon)
    past = datetime.now(UTC) - timedelta(minutes=5)
    assert registry.remember_jti("j2", "iss", past)
    registry._last_purge = 0.0  # purge now rather than within the minute
    registry.remember_jti("j3", "iss", soon)  # purges expired ids
    assert registry.remember_jti("j2", "iss", soon)


def test_audit_and_feedback(registry: Registry) -> None:
    registry.audit(
        actor="a", role="admin", action="read_patient", patient_id="p1", method="GET",
        path="/api/patients/p1", remote="127.0.0.1", status=200,
    )  # fmt: skip
    (entry,) = registry.audit_entries("p1")
    assert entry["actor"] == "a" and entry["remote"] == "127.0.0.1"
    registry.store_feedback("svc", [{"card": "c1", "outcome": "overridden"}], "ehr")
    assert registry.feedback("svc")[0]["outcome"] == "overridden"


def test_the_service_runs_on_this_backend(registry: Registry) -> None:
    """The same app over HTTP on each backend: write, read, assess, audit."""
    app = create_app(
        Settings(database_url=registry.url, secret="store-test-secret-0123456789-abcdef"), registry
    )
    key = registry.add_client("backend-admin", "admin")
    record: dict[str, Any] = example_records()[4]
    with LiveServer(app) as live, httpx.Client(base_url=live.url, headers={"X-API-Key": key}) as c:
        assert c.post("/api/patients", json=record).status_code == 201
        assert c.get(f"/api/patients/{record['id']}").json()["version"] == 1
        made = c.post(f"/api/patients/{record['id']}/assessments", params={"as_of": "2025-03-01"})
        assert made.status_code == 201, made.text
        assert len(c.get(f"/api/patients/{record['id']}/assessments").json()) == 1
        # The middleware writes a request's audit row once its answer is sent, so the row of
        # the last request may land a moment after the client has it: look again, bounded.
        wanted = {"write_patient", "read_patient", "assess"}
        for _ in range(50):
            audit = c.get("/api/audit", params={"patient_id": record["id"]}).json()
            if {e["action"] for e in audit} >= wanted:
                break
            time.sleep(0.1)
        assert {e["action"] for e in audit} >= wanted


def test_update_is_one_versioned_read_modify_write(registry: Registry) -> None:
    """Registry.update: the function other code calls to change a record."""
    from osteotarget.store import PatientNotFound, VersionConflict

    base = parse_patient(example_records()[0])

    def needs_record(current: Any) -> Any:
        if current is None:
            raise PatientNotFound(base.id)
        return current.model_copy(update={"weight_kg": 58.0})

    with pytest.raises(PatientNotFound):
        registry.update(base.id, needs_record, principal="t", source="test")
    created = registry.update(base.id, lambda _: base, principal="t", source="test")
    assert (created.outcome, created.version) == ("created", 1)
    with pytest.raises(VersionConflict) as conflict:
        registry.update(base.id, needs_record, expected_version=5, principal="t", source="test")
    assert conflict.value.current == 1
    changed = registry.update(base.id, needs_record, expected_version=1, principal="u", source="x")
    assert (changed.outcome, changed.version) == ("updated", 2)
    same = registry.update(base.id, needs_record, principal="u", source="x")
    assert (same.outcome, same.version) == ("unchanged", 2)
    assert [h["changed_by"] for h in registry.patient_history(base.id)] == ["t", "u"]


def test_migration_0002_renumbers_duplicated_versions_and_keeps_them(tmp_path: Path) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("osteotarget.store") / "migrations")
    )
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001")
    engine = create_engine(url)
    stamp = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO patients VALUES ('p1', '{}', 'h', 2, 'api', :s, :s)"),
            {"s": stamp},
        )
        for version in (1, 2, 2):  # two writers both wrote version 2
            conn.execute(
                text(
                    "INSERT INTO patient_versions (patient_id, version, record, record_hash,"
                    " changed_by, changed_at) VALUES ('p1', :v, '{}', 'h', 'w', :s)"
                ),
                {"v": version, "s": stamp},
            )
    engine.dispose()
    registry = Registry(url)
    registry.migrate()
    assert [h["version"] for h in registry.patient_history("p1")] == [1, 2, 3]
    with registry.engine.begin() as conn:
        assert conn.execute(text("SELECT version FROM patients")).scalar() == 3
    registry.close()
