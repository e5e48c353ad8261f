"""Authentication and roles: API keys (hashed at rest), bearer JWTs, CDS Hooks JWTs."""

from osteotarget.security.cdshooks import CdsVerifier, TrustedIssuer
from osteotarget.security.principal import (
    MAX_TOKEN_MINUTES,
    ROLE_RANK,
    AuthError,
    Principal,
    issue_token,
    refreshed_session,
    verify_token,
)

__all__ = [
    "MAX_TOKEN_MINUTES",
    "ROLE_RANK",
    "AuthError",
    "CdsVerifier",
    "Principal",
    "TrustedIssuer",
    "issue_token",
    "refreshed_session",
    "verify_token",
]
