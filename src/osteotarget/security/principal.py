"""Who is calling, and the bearer JWTs this service issues for its own users.

A token names its client or user (``sub``), role, a token id (``jti``), the fingerprint of
the key it was issued for or of the user's current session stamp (``kfp``), whether it is a
browser session (``ses``) and whether its subject is a person who signed in with a password
(``usr``). It is never
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
) -> str:
    if role not in ROLE_RANK:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLE_RANK)}")
    if not 0 < minutes <= MAX_TOKEN_MINUTES:
        raise ValueError(f"a token lives 1-{MAX_TOKEN_MINUTES} minutes, not {minutes}")
    stamp = datetime.now(UTC)
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
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    """Signature, audience, expiry and lifetime; the registry checks come after (deps)."""
    try:
        claims = jwt.decode(
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
