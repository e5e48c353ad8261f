"""Alembic environment: runs on the connection the registry hands over (or the URL).

Import-safe: outside an Alembic run (e.g. a test importing every module) it does nothing.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from osteotarget.store.models import Base

target_metadata = Base.metadata


def run_migrations(config: Any) -> None:
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


_config = getattr(context, "config", None)
if _config is not None:
    run_migrations(_config)
