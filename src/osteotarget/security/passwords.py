"""Passwords of people: Argon2id (argon2-cffi), a policy in the spirit of NIST SP 800-63B,
and usernames.

The hasher is argon2-cffi's ``PasswordHasher`` with its defaults (RFC 9106 "low memory"
profile: Argon2id, 3 passes, 64 MiB, 4 lanes, 16-byte salt, 32-byte hash); a stored hash made
with other parameters is replaced at the next successful sign-in (:func:`needs_rehash`).
For an unknown username a fixed dummy hash is verified, so that answer costs the same work
as a wrong password (no user enumeration by timing).

Policy (SP 800-63B §5.1.1.2): at least :data:`MIN_LENGTH` characters (Unicode NFKC, counted
as code points), at most :data:`MAX_LENGTH`, no composition rules, not the username, not a
value on a small list of the most guessed ones; spaces and any printable character allowed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12  # SP 800-63B: at least 8; a stronger local minimum (not a clinical number)
MAX_LENGTH = 256  # SP 800-63B: allow at least 64
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{2,63}$"
USERNAME_RULE = (
    "3-64 characters: letters, digits, '.', '_', '@' or '-', starting with a letter or digit "
    "(not case-sensitive)"
)
_USERNAME = re.compile(USERNAME_PATTERN)
# The most guessed passwords of twelve characters or more (a short local block list; a site
# may add its own breached-password check in front of this service).
_BLOCKED = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiopas",
        "qwerty123456",
        "password1234",
        "password12345",
        "passwordpassword",
        "changemechangeme",
        "administrator",
        "iloveyou1234",
        "osteotarget",
        "osteotarget1",
        "osteotarget123",
        "osteoporosis",
        "osteoporosis1",
        "welcome12345",
        "letmein12345",
    }
)


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(24))


def normalise(password: str) -> str:
    """The form a password is checked and hashed in (NFKC, as SP 800-63B recommends)."""
    return unicodedata.normalize("NFKC", password)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def username_problem(username: str) -> str | None:
    """Why a username cannot be used (None if it can)."""
    if not _USERNAME.fullmatch(normalise_username(username)):
        return f"must be {USERNAME_RULE}"
    return None


def password_problem(password: str, username: str) -> str | None:
    """Why a new password cannot be used (None if it can). Never echoes the password."""
    text = normalise(password)
    if len(text) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters (it has {len(text)})"
    if len(text) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "must not contain control characters"
    lowered = text.casefold()
    if lowered == normalise_username(username).casefold():
        return "must not be the username"
    if lowered in _BLOCKED or len(set(lowered)) == 1:
        return "is too easy to guess: choose a longer phrase of several words"
    return None


def hash_password(password: str) -> str:
    return hasher().hash(normalise(password))


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    rehash: bool = False  # the stored hash was made with other parameters


def check_password(stored_hash: str | None, password: str) -> Checked:
    """Verify ``password`` against ``stored_hash``; with ``None`` (unknown user, locked
    account) a dummy hash is verified instead, so every answer costs one Argon2 run."""
    text = normalise(password)[: MAX_LENGTH * 4]
    if stored_hash is None:
        with contextlib.suppress(VerificationError):
            hasher().verify(_dummy_hash(), text)
        return Checked(False)
    try:
        hasher().verify(stored_hash, text)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Checked(False)
    return Checked(True, hasher().check_needs_rehash(stored_hash))


def random_password() -> str:
    """A generated password (demo accounts): five groups of five, about 148 bits."""
    alphabet = "abcdefghijkmnopqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))
