"""The registry (SQLAlchemy 2 + Alembic): SQLite by default, PostgreSQL by URL."""

from osteotarget.store.registry import (
    KEY_PREFIX,
    ROLES,
    Client,
    ImportReport,
    Registry,
    StoredPatient,
    default_url,
    hash_key,
)
from osteotarget.store.users import User, UserExists, Users
from osteotarget.store.writes import (
    PatientNotFound,
    RegistryBusy,
    VersionConflict,
    WriteResult,
)

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "Client",
    "ImportReport",
    "PatientNotFound",
    "Registry",
    "RegistryBusy",
    "StoredPatient",
    "User",
    "UserExists",
    "Users",
    "VersionConflict",
    "WriteResult",
    "default_url",
    "hash_key",
]
