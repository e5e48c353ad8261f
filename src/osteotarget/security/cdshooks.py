"""CDS Hooks request authentication, as the CDS Hooks specification asks of a service.

The EHR signs a JWT with its private key (RS256/RS384/ES256/ES384...). The service accepts
it only when its ``iss`` is on the allow-list, its signature verifies against that issuer's
JWKS (given inline or fetched from the issuer's JWKS URL, cached), ``aud`` is the URL of the
service called, ``exp`` is in the future, the token lives no longer than
``max_lifetime_seconds`` (``exp - iat``; the specification recommends five minutes), and its
``jti`` has not been seen before. A ``jti`` is remembered until ``exp`` plus the accepted
clock skew, so a token still acceptable under the skew can never be replayed. Every refusal
is passed to ``on_refusal`` (the service audits it) before it is raised.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from osteotarget.security.principal import AuthError, Principal

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384"]
JWKS_TTL_SECONDS = 300.0
MAX_LIFETIME_SECONDS = 300


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    iss: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    role: str = "clinician"


@dataclass
class CdsVerifier:
    issuers: Mapping[str, TrustedIssuer]
    remember_jti: Callable[[str, str, datetime], bool]
    leeway_seconds: int = 30
    max_lifetime_seconds: int = MAX_LIFETIME_SECONDS
    on_refusal: Callable[[str, str], None] | None = None
    _cache: dict[str, tuple[float, jwt.PyJWKSet]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        remember_jti: Callable[[str, str, datetime], bool],
        max_lifetime_seconds: int = MAX_LIFETIME_SECONDS,
        on_refusal: Callable[[str, str], None] | None = None,
    ) -> CdsVerifier:
        """``{"https://ehr.example": {"jwks_url": "..."} | {"jwks": {...}}, ...}``."""
        issuers = {
            iss: TrustedIssuer(
                iss=iss,
                jwks=entry.get("jwks"),
                jwks_url=entry.get("jwks_url"),
                role=str(entry.get("role", "clinician")),
            )
            for iss, entry in config.items()
        }
        return cls(
            issuers,
            remember_jti,
            max_lifetime_seconds=max_lifetime_seconds,
            on_refusal=on_refusal,
        )

    def _keyset(self, issuer: TrustedIssuer, refresh: bool = False) -> jwt.PyJWKSet:
        if issuer.jwks is not None:
            with self._lock:
                inline = self._cache.get("inline:" + issuer.iss)
            if inline is None:
                inline = (time.monotonic(), jwt.PyJWKSet.from_dict(dict(issuer.jwks)))
                with self._lock:
                    self._cache["inline:" + issuer.iss] = inline
            return inline[1]
        if issuer.jwks_url is None:
            raise AuthError(f"no JWKS is configured for issuer {issuer.iss}")
        with self._lock:
            cached = self._cache.get(issuer.jwks_url)
            if cached and not refresh and time.monotonic() - cached[0] < JWKS_TTL_SECONDS:
                return cached[1]
        try:
            response = httpx.get(issuer.jwks_url, timeout=5.0)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, json.JSONDecodeError, jwt.PyJWKSetError) as exc:
            raise AuthError(f"the JWKS of issuer {issuer.iss} could not be read") from exc
        with self._lock:
            self._cache[issuer.jwks_url] = (time.monotonic(), keyset)
        return keyset

    def _key_for(self, issuer: TrustedIssuer, kid: str | None) -> Any:
        for refresh in (False, True):
            keys = self._keyset(issuer, refresh=refresh).keys
            for key in keys:
                if kid is None or key.key_id == kid:
                    return key.key
            if issuer.jwks is not None:
                break
        raise AuthError(f"no key with kid '{kid}' in the JWKS of issuer {issuer.iss}")

    def verify(self, token: str, audiences: list[str]) -> Principal:
        """Verify; ``audiences`` are the URLs accepted as ``aud`` (the service's, the base)."""
        try:
            return self._verify(token, audiences)
        except AuthError as exc:
            if self.on_refusal is not None:
                self.on_refusal(_issuer_of(token), exc.detail)
            raise

    def _verify(self, token: str, audiences: list[str]) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise AuthError("the CDS Hooks bearer token is not a JWT") from None
        iss = str(unverified.get("iss", ""))
        issuer = self.issuers.get(iss)
        if issuer is None:
            raise AuthError("the CDS Hooks token issuer is not on the allow-list")
        jku = header.get("jku")
        if jku is not None and jku != issuer.jwks_url:
            raise AuthError("the CDS Hooks token names a jku that is not this issuer's JWKS")
        key = self._key_for(issuer, header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=[a.rstrip("/") for a in audiences],
                issuer=iss,
                leeway=self.leeway_seconds,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the CDS Hooks token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the CDS Hooks token aud is not this service's URL") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"the CDS Hooks token is not valid ({type(exc).__name__})") from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > self.max_lifetime_seconds:
            raise AuthError(
                f"the CDS Hooks token lives {lifetime} s (exp - iat); at most "
                f"{self.max_lifetime_seconds} s is accepted"
            )
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(
            seconds=self.leeway_seconds
        )
        if not self.remember_jti(str(claims["jti"]), iss, expires):
            raise AuthError("the CDS Hooks token jti was already used (replay)")
        return Principal(f"cds:{iss}:{claims.get('sub', '')}", issuer.role, "cds_hooks")


def _issuer_of(token: str) -> str:
    try:
        return str(jwt.decode(token, options={"verify_signature": False}).get("iss", ""))[:200]
    except jwt.InvalidTokenError:
        return ""
