"""Sign-in of people: lockout with back-off after repeated failures, one answer for every
refusal.

The numbers are settings, not clinical values: after ``max_failures`` failed attempts in a
row an account is locked for ``lockout_seconds``, doubling with each further failure up to
``lockout_max_seconds``. A successful sign-in, a password reset or an administrator's unlock
clears the count. While locked, even the right password is refused (with the same answer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from osteotarget.security.passwords import (
    check_password,
    hash_password,
    normalise_username,
    username_problem,
)
from osteotarget.store.users import User, Users

# The one answer to a refused sign-in: unknown user, wrong password, locked or deactivated
# account all read alike (no user enumeration).
SIGN_IN_REFUSED = (
    "That username and password did not sign you in. After repeated failed attempts an "
    "account is locked for a while; an administrator can unlock it."
)


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    lockout_seconds: int = 60
    lockout_max_seconds: int = 900

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lockout_seconds < 1:
            raise ValueError("sign-in policy: max_failures and lockout_seconds must be >= 1")
        if self.lockout_max_seconds < self.lockout_seconds:
            raise ValueError("sign-in policy: lockout_max_seconds must be >= lockout_seconds")

    @classmethod
    def from_env(cls) -> SignInPolicy:
        """OSTEOTARGET_LOGIN_MAX_FAILURES, OSTEOTARGET_LOGIN_LOCKOUT_SECONDS,
        OSTEOTARGET_LOGIN_LOCKOUT_MAX_SECONDS (defaults 5, 60, 900)."""
        default = cls()
        return cls(
            int(os.environ.get("OSTEOTARGET_LOGIN_MAX_FAILURES", default.max_failures)),
            int(os.environ.get("OSTEOTARGET_LOGIN_LOCKOUT_SECONDS", default.lockout_seconds)),
            int(
                os.environ.get("OSTEOTARGET_LOGIN_LOCKOUT_MAX_SECONDS", default.lockout_max_seconds)
            ),
        )

    def locked_until(self, failures: int, at: datetime) -> datetime | None:
        """When an account with ``failures`` failed attempts in a row is unlocked again
        (None: not locked)."""
        if failures < self.max_failures:
            return None
        doublings = min(failures - self.max_failures, 20)
        seconds = min(self.lockout_seconds * (2**doublings), self.lockout_max_seconds)
        return at + timedelta(seconds=seconds)


def sign_in(users: Users, username: str, password: str, policy: SignInPolicy) -> SignInResult:
    """Check a person's username and password against the registry as it is now.

    Every path runs exactly one Argon2 verification (a dummy hash for an unknown user or a
    locked account) and every refusal gives the same answer; a failure against a known user
    counts towards the lockout. A hash made with older parameters is replaced."""
    name = normalise_username(username)
    user = users.get(name) if username_problem(name) is None else None
    at = datetime.now(UTC)
    if user is None:
        check_password(None, password)
        users.record_failure(name, policy.locked_until)  # the same database work; stores nothing
        return SignInResult(None, "unknown user")
    if user.locked_at(at):
        check_password(None, password)
        users.record_failure(name, policy.locked_until)
        return SignInResult(None, "account locked")
    checked = check_password(user.password_hash, password)
    if not checked.ok or not user.active:
        users.record_failure(name, policy.locked_until)
        return SignInResult(None, "wrong password" if not checked.ok else "account deactivated")
    new_hash = hash_password(password) if checked.rehash else None
    current = users.record_success(name, user.password_hash, new_hash)
    if current is None or not current.active:
        return SignInResult(None, "password changed during sign-in")
    return SignInResult(current, "")


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    reason: str  # for the audit trail only, never shown: the person sees SIGN_IN_REFUSED
