"""Who is calling, and the bearer JWTs this service issues for its own users.

A token names its client or user (``sub``), role, a token id (``jti``), the fingerprint of
the key it was issued for or of the user's current session stamp (``kfp``), whether it is a
browser session (``ses``) and whether its subject is a person who signed in with a password
(``usr``). A browser session also carries an idle deadline (``idl``): a session unused for
longer than the idle limit ends (NIST SP 800-63B §4.2.3: AAL2 re-authentication after 30
minutes of inactivity), and every answer to an active session moves the deadline on
(:func:`refreshed_session`, the same token id, life and claims). It is never
valid for longer than :data:`MAX_TOKEN_MINUTES`, and each use is checked against the
registry (web.deps): the client (or user) still exists, is not revoked (is active), still has
this key (this password: a new one replaces the stamp) and this role, and the token id was
not ended by a logout.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ROLE_RANK = {"clinician": 1, "coordinator": 2, "admin": 3}
TOKEN_AUDIENCE = "osteotarget"
MAX_TOKEN_MINUTES = 480  # the longest life of any token this service issues (a work shift)
CLOCK_SKEW_SECONDS = 30


class AuthError(Exception):
    """Authentication failed (401) or was not enough (403 when ``forbidden``)."""

    def __init__(self, detail: str, *, forbidden: bool = False, actor: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.forbidden = forbidden
        self.actor = actor  # who was refused, when known (for the audit trail)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a named client or user with one role, or an EHR (CDS Hooks)."""

    name: str
    role: str
    kind: str  # api_key | jwt | session | user | cds_hooks  (user: a person's session)
    token_id: str = ""  # jti of the token it came with
    key_fingerprint: str = ""  # which key of the client the token was issued for
    expires: datetime | None = None

    def require(self, role: str) -> None:
        if ROLE_RANK.get(self.role, 0) < ROLE_RANK[role]:
            raise AuthError(f"this needs the {role} role", forbidden=True, actor=self.name)


def issue_token(
    secret: str,
    subject: str,
    role: str,
    minutes: int = 60,
    *,
    key_fingerprint: str = "",
    session: bool = False,
    person: bool = False,
    idle_minutes: float | None = None,
    now: datetime | None = None,
) -> str:
    """*idle_minutes*: a browser session that ends after this long unused; *now*: the issue
    time (default the clock)."""
    if role not in ROLE_RANK:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLE_RANK)}")
    if not 0 < minutes <= MAX_TOKEN_MINUTES:
        raise ValueError(f"a token lives 1-{MAX_TOKEN_MINUTES} minutes, not {minutes}")
    stamp = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role,
        "aud": TOKEN_AUDIENCE,
        "iat": stamp,
        "exp": stamp + timedelta(minutes=minutes),
        "jti": secrets.token_urlsafe(16),
        "kfp": key_fingerprint,
        "ses": session,
        "usr": person,
    }
    if idle_minutes is not None:
        claims["idl"] = int((stamp + timedelta(minutes=idle_minutes)).timestamp())
    return jwt.encode(claims, secret, algorithm="HS256")


def _claims(secret: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=TOKEN_AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the bearer token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from None
    idle = claims.get("idl")
    if idle is not None:
        if not isinstance(idle, int | float):
            raise AuthError("the session token has no usable idle deadline")
        if datetime.now(UTC).timestamp() > float(idle) + CLOCK_SKEW_SECONDS:
            raise AuthError(
                "the session ended after a time without activity: sign in again",
                actor=str(claims.get("sub", "")),
            )
    return claims


def refreshed_session(
    secret: str, token: str, idle_minutes: float, *, step_seconds: float = 60.0
) -> tuple[str, int] | None:
    """A session token whose idle deadline is moved to now + *idle_minutes* (the same token
    id, subject, role and end of life), and the seconds it has left to live; None when
    *token* is not a live session with an idle deadline, or the deadline would move by
    less than *step_seconds* (an answer need not carry a new cookie every time)."""
    try:
        claims = _claims(secret, token)
    except AuthError:
        return None
    if claims.get("ses") is not True or "idl" not in claims:
        return None
    now = datetime.now(UTC).timestamp()
    deadline = int(now + idle_minutes * 60)
    if deadline - float(claims["idl"]) < step_seconds:
        return None
    claims["idl"] = deadline
    return jwt.encode(claims, secret, algorithm="HS256"), max(0, int(claims["exp"] - now))


def verify_token(secret: str, token: str) -> Principal:
    """Signature, audience, expiry, idle deadline and lifetime; the registry checks come
    after (deps)."""
    claims = _claims(secret, token)
    role = str(claims.get("role", ""))
    if role not in ROLE_RANK:
        raise AuthError("the bearer token carries no known role")
    try:
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (TypeError, ValueError):
        raise AuthError("the bearer token has no usable iat/exp") from None
    if lifetime > MAX_TOKEN_MINUTES * 60 + CLOCK_SKEW_SECONDS:
        raise AuthError(f"the bearer token lives longer than {MAX_TOKEN_MINUTES} minutes")
    kind = "session" if claims.get("ses") is True else "jwt"
    return Principal(
        str(claims["sub"]),
        role,
        "user" if claims.get("usr") is True else kind,
        token_id=str(claims["jti"]),
        key_fingerprint=str(claims.get("kfp", "")),
        expires=datetime.fromtimestamp(float(claims["exp"]), UTC),
    )
