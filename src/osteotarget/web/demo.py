"""Demo mode: seed the demo patients into an empty registry, keep everything after that.

The demo patients are imported only when the registry holds no patient at all, so a
restart never writes over the user's edits. The local demo admin key is issued once, when
the demo client does not exist yet (it is stored only as a hash and cannot be shown
again); ``rotate`` issues a new one and invalidates the old.
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

from osteotarget.store import Registry

DEMO_CLIENT = "demo-admin"


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


def _demo_client(registry: Registry) -> dict[str, Any] | None:
    for client in registry.list_clients():
        if client["name"] == DEMO_CLIENT and not client["revoked"]:
            return client
    return None


def seed_demo(registry: Registry, rotate: bool = False) -> DemoSeed:
    """Import the demo patients into an empty registry only; issue the demo admin key
    only when there is none (or when asked to rotate it)."""
    existing = registry.patient_count()
    imported = 0
    if existing == 0:
        report = registry.import_dicts(demo_records(), "demo-seed", "demo")
        imported = len(report.created) + len(report.updated)
    client = _demo_client(registry)
    if client is None or rotate:
        key = registry.add_client(DEMO_CLIENT, "admin")
        return DemoSeed(imported, existing, key, key[:10])
    return DemoSeed(imported, existing, None, str(client["key_prefix"]))


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
    for suffix in ("", "-wal", "-shm", "-journal", ".secret"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path
