"""People who sign in (the ``users`` table): rows in, rows out — no password ever, only
its Argon2id hash, which the security layer makes and checks.

Usernames are stored lower-case; every lookup lower-cases first, so ``Alice`` and ``alice``
are one user. A new password or a deactivation replaces the user's ``session_stamp``: every
session issued before names the old stamp and ends at its next use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from osteotarget.store.models import ClientRow, RevokedTokenRow, UserRow
from osteotarget.store.writes import now

ROLES = ("clinician", "coordinator", "admin")


class UserExists(ValueError):
    """The username (or a machine client's name) is already taken."""


def utc(stamp: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC): make every one aware."""
    if stamp is None or stamp.tzinfo is not None:
        return stamp
    return stamp.replace(tzinfo=UTC)


def new_stamp() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    active: bool
    session_stamp: str
    password_hash: str
    failed_attempts: int
    locked_until: datetime | None

    def locked_at(self, at: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > at

    @property
    def stamp_fingerprint(self) -> str:
        return self.session_stamp[:16]


def _user(row: UserRow) -> User:
    return User(
        row.username,
        row.role,
        bool(row.active),
        row.session_stamp,
        row.password_hash,
        row.failed_attempts,
        utc(row.locked_until),
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLES)}")


class Users:
    """The users of one registry (``Registry.users``)."""

    def __init__(
        self,
        reading: Callable[[], AbstractContextManager[Session]],
        writing: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._reading = reading
        self._writing = writing

    # ---- reading -------------------------------------------------------------------------

    def get(self, username: str) -> User | None:
        with self._reading() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username.lower()))
            return None if row is None else _user(row)

    def count(self) -> int:
        with self._reading() as session:
            return session.scalar(select(func.count()).select_from(UserRow)) or 0

    def listing(self) -> list[dict[str, Any]]:
        """Every user for the admin page (no hash, no stamp)."""
        with self._reading() as session:
            return [
                {
                    "username": r.username,
                    "role": r.role,
                    "active": bool(r.active),
                    "failed_attempts": r.failed_attempts,
                    "locked_until": utc(r.locked_until),
                    "last_login_at": utc(r.last_login_at),
                    "password_changed_at": utc(r.password_changed_at),
                    "created_at": utc(r.created_at),
                    "updated_at": utc(r.updated_at),
                }
                for r in session.scalars(select(UserRow).order_by(UserRow.username))
            ]

    def session_state(self, username: str, token_id: str) -> tuple[User | None, bool]:
        """The user a session names, as it is now, and whether the session was ended."""
        with self._reading() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username.lower()))
            ended = session.get(RevokedTokenRow, token_id) is not None
            return (None if row is None else _user(row)), ended

    def active_admins(self) -> int:
        with self._reading() as session:
            query = select(func.count()).where(UserRow.role == "admin", UserRow.active)
            return session.scalar(query.select_from(UserRow)) or 0

    # ---- writing -------------------------------------------------------------------------

    def add(self, username: str, password_hash: str, role: str) -> User:
        """A new active user; :class:`UserExists` if the name is taken (by a user, in any
        case, or by a machine client)."""
        _check_role(role)
        name = username.lower()
        stamp = now()
        try:
            with self._writing() as session:
                taken = session.scalar(
                    select(func.count()).where(func.lower(ClientRow.name) == name)
                )
                if taken or session.scalar(select(UserRow.id).where(UserRow.username == name)):
                    raise UserExists(name)
                row = UserRow(
                    username=name,
                    password_hash=password_hash,
                    role=role,
                    active=True,
                    session_stamp=new_stamp(),
                    failed_attempts=0,
                    password_changed_at=stamp,
                    created_at=stamp,
                    updated_at=stamp,
                )
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError:  # a concurrent add of the same name
            raise UserExists(name) from None

    def _change(self, username: str, **values: Any) -> bool:
        with self._writing() as session:
            result = session.execute(
                update(UserRow)
                .where(UserRow.username == username.lower())
                .values(updated_at=now(), **values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_role(self, username: str, role: str) -> bool:
        """A role change ends the user's sessions (each carries its role)."""
        _check_role(role)
        return self._change(username, role=role)

    def set_active(self, username: str, active: bool) -> bool:
        """Deactivate (every session ends at once) or reactivate (with a clean count)."""
        if active:
            return self._change(username, active=True, failed_attempts=0, locked_until=None)
        return self._change(username, active=False, session_stamp=new_stamp())

    def set_password(self, username: str, password_hash: str) -> bool:
        """A new password: every earlier session ends; the failure count and lock clear."""
        return self._change(
            username,
            password_hash=password_hash,
            session_stamp=new_stamp(),
            password_changed_at=now(),
            failed_attempts=0,
            locked_until=None,
        )

    def unlock(self, username: str) -> bool:
        return self._change(username, failed_attempts=0, locked_until=None)

    def record_failure(
        self, username: str, lock_for: Callable[[int, datetime], datetime | None]
    ) -> int:
        """One more failed attempt (atomically); ``lock_for(failures, now)`` says until when
        the account is locked. Returns the count (0 for an unknown user: nothing stored)."""
        name = username.lower()
        stamp = now()
        with self._writing() as session:
            session.execute(
                update(UserRow)
                .where(UserRow.username == name)
                .values(failed_attempts=UserRow.failed_attempts + 1)
            )
            row = session.scalar(select(UserRow).where(UserRow.username == name))
            if row is None:
                return 0
            until = lock_for(row.failed_attempts, stamp)
            if until is not None:
                row.locked_until = until
            return row.failed_attempts

    def record_success(self, username: str, checked_hash: str, new_hash: str | None) -> User | None:
        """A sign-in whose password matched ``checked_hash``: clears the count and stamps the
        time; stores ``new_hash`` (a rehash with current parameters). None if the hash
        changed meanwhile (a concurrent reset): the sign-in does not stand."""
        name = username.lower()
        stamp = now()
        with self._writing() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == name))
            if row is None or row.password_hash != checked_hash:
                return None
            row.failed_attempts = 0
            row.locked_until = None
            row.last_login_at = stamp
            if new_hash is not None:
                row.password_hash = new_hash
                row.updated_at = stamp
            return _user(row)
