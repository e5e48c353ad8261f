"""Who is calling, and the bearer JWTs this service issues for its own users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ROLE_RANK = {"clinician": 1, "coordinator": 2, "admin": 3}
TOKEN_AUDIENCE = "osteotarget"


class AuthError(Exception):
    """Authentication failed (401) or was not enough (403 when ``forbidden``)."""

    def __init__(self, detail: str, *, forbidden: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.forbidden = forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a named client or user with one role, or an EHR (CDS Hooks)."""

    name: str
    role: str
    kind: str  # api_key | jwt | cds_hooks

    def require(self, role: str) -> None:
        if ROLE_RANK.get(self.role, 0) < ROLE_RANK[role]:
            raise AuthError(f"this needs the {role} role", forbidden=True)


def issue_token(secret: str, subject: str, role: str, minutes: int = 60) -> str:
    if role not in ROLE_RANK:
        raise ValueError(f"role '{role}' is not one of {', '.join(ROLE_RANK)}")
    stamp = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role,
        "aud": TOKEN_AUDIENCE,
        "iat": stamp,
        "exp": stamp + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=TOKEN_AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the bearer token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from None
    role = str(claims.get("role", ""))
    if role not in ROLE_RANK:
        raise AuthError("the bearer token carries no known role")
    return Principal(str(claims["sub"]), role, "jwt")
