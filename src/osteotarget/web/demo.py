"""Demo mode: seed the registry with the demo patients and a local admin key."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from osteotarget.store import ImportReport, Registry

DEMO_CLIENT = "demo-admin"


def demo_records() -> list[dict[str, Any]]:
    folder = resources.files("osteotarget") / "demo"
    records = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            records.append(json.loads(item.read_text(encoding="utf-8")))
    return records


def seed_demo(registry: Registry) -> tuple[ImportReport, str]:
    """Import the demo patients (idempotent) and issue a fresh demo admin key."""
    report = registry.import_dicts(demo_records(), "demo-seed", "demo")
    key = registry.add_client(DEMO_CLIENT, "admin")
    return report, key
