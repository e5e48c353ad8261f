"""Test registries: an SQLite file, or (marker ``postgres``) a schema of its own in the
PostgreSQL test database named by OSTEOTARGET_TEST_POSTGRES_URL (parallel-safe)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("OSTEOTARGET_TEST_POSTGRES_URL", "")

# ``params`` for a fixture that runs once per backend (PostgreSQL skipped without its URL).
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="OSTEOTARGET_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


def admin_engine(url: str) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def schema_url(url: str, schema: str) -> str:
    """The test database with its own schema first on the search path (parallel-safe)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@contextmanager
def database_url(backend: str, sqlite_file: Path, prefix: str) -> Iterator[str]:
    """A fresh, empty database URL on ``backend``: the SQLite file ``sqlite_file``, or a new
    PostgreSQL schema named ``prefix_<random>``, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
