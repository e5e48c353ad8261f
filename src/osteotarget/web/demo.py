"""Demo mode: seed the demo patients into an empty registry, keep everything after that.

The demo patients are imported only when the registry holds no patient at all, so a
restart never writes over the user's edits. Two demo people (``admin`` and ``clinician``)
are created only when the registry has no user at all, each with a generated password; for
a local SQLite demo the passwords are kept beside the database file (mode 0600, like the
session secret) so every start can say how to sign in, for as long as they still work. The
local demo admin API key (for machines: curl, scripts) is issued once, when the demo client
does not exist yet (it is stored only as a hash and cannot be shown again); ``rotate``
issues a new one and invalidates the old.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from osteotarget.security.passwords import check_password, hash_password, random_password
from osteotarget.store import Registry, UserExists

DEMO_CLIENT = "demo-admin"
DEMO_PEOPLE = (("admin", "admin"), ("clinician", "clinician"))  # (username, role)
PASSWORDS_SUFFIX = ".demo-users"


def demo_records() -> list[dict[str, Any]]:
    folder = resources.files("osteotarget") / "demo"
    records = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            records.append(json.loads(item.read_text(encoding="utf-8")))
    return records


@dataclass(frozen=True)
class DemoSeed:
    """What seeding did: patients imported now, patients already there, and the new key
    (``None`` when the existing demo key was kept)."""

    imported: int
    kept_patients: int
    key: str | None
    key_prefix: str
    people: tuple[DemoPerson, ...] = ()
    people_created: bool = False


@dataclass(frozen=True)
class DemoPerson:
    """A demo sign-in: its password when known and still valid (None: changed since, or
    not kept: a shared database)."""

    username: str
    role: str
    password: str | None


def _demo_client(registry: Registry) -> dict[str, Any] | None:
    for client in registry.list_clients():
        if client["name"] == DEMO_CLIENT and not client["revoked"]:
            return client
    return None


def seed_demo(registry: Registry, rotate: bool = False) -> DemoSeed:
    """Import the demo patients into an empty registry only; create the demo people only
    when there is no user; issue the demo admin key only when there is none (or when asked
    to rotate it)."""
    existing = registry.patient_count()
    imported = 0
    if existing == 0:
        report = registry.import_dicts(demo_records(), "demo-seed", "demo")
        imported = len(report.created) + len(report.updated)
    created = registry.users.count() == 0
    people = _create_people(registry) if created else _kept_people(registry)
    client = _demo_client(registry)
    if client is None or rotate:
        key = registry.add_client(DEMO_CLIENT, "admin")
        return DemoSeed(imported, existing, key, key[:10], people, created)
    return DemoSeed(imported, existing, None, str(client["key_prefix"]), people, created)


def passwords_file(url: str) -> Path | None:
    path = sqlite_file(url)
    return None if path is None else Path(str(path) + PASSWORDS_SUFFIX)


def _create_people(registry: Registry) -> tuple[DemoPerson, ...]:
    people = []
    for username, role in DEMO_PEOPLE:
        password = random_password()
        try:
            registry.users.add(username, hash_password(password), role)
        except UserExists:  # a machine client already has this name: no demo person
            continue
        people.append(DemoPerson(username, role, password))
    target = passwords_file(registry.url)
    if target is not None and people:
        target.unlink(missing_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({p.username: p.password for p in people}, handle)
    return tuple(people)


def _kept_people(registry: Registry) -> tuple[DemoPerson, ...]:
    """The demo people whose kept password still signs them in (checked, not assumed)."""
    source = passwords_file(registry.url)
    if source is None or not source.exists():
        return ()
    try:
        kept = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    people = []
    for username, _role in DEMO_PEOPLE:
        user = registry.users.get(username)
        password = kept.get(username) if isinstance(kept, dict) else None
        if user is None or not isinstance(password, str):
            continue
        valid = user.active and check_password(user.password_hash, password).ok
        people.append(DemoPerson(username, user.role, password if valid else None))
    return tuple(people)


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL (None for other databases or in-memory SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def demo_secret(url: str) -> str | None:
    """The local demo's session-signing secret, kept beside its SQLite file (mode 0600)
    so that a restart does not sign everyone out; None for other databases."""
    path = sqlite_file(url)
    if path is None:
        return None
    secret_file = Path(str(path) + ".secret")
    if secret_file.exists():
        return secret_file.read_text(encoding="utf-8").strip() or None
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def remove_demo_registry(url: str) -> Path:
    """A fresh start: delete the SQLite registry file (and its WAL/SHM companions).

    Refuses anything but an SQLite file: a shared database is never wiped from here."""
    path = sqlite_file(url)
    if path is None:
        raise ValueError(
            f"--fresh only deletes a local SQLite registry; {make_url(url).drivername} "
            "databases are left alone"
        )
    for suffix in ("", "-wal", "-shm", "-journal", ".secret", PASSWORDS_SUFFIX):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path
