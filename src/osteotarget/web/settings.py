"""Service settings: from the environment (``OSTEOTARGET_*``) or given by the caller."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osteotarget.security.signin import SignInPolicy


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    cds_issuers: dict[str, Any] = field(default_factory=dict)
    public_url: str | None = None
    demo: bool = False
    fhir_timeout_seconds: float = 5.0
    threads: int = 8
    cds_max_in_flight: int = 16
    max_body_bytes: int = 4 * 1024 * 1024
    max_import_bytes: int = 64 * 1024 * 1024
    sign_in: SignInPolicy = field(default_factory=SignInPolicy)
    session_idle_minutes: float = 30.0
    """A browser session unused this long ends (NIST SP 800-63B §4.2.3: AAL2 re-authentication
    after at most 30 minutes of inactivity); not a clinical setting."""

    def __post_init__(self) -> None:
        if not 0 < self.session_idle_minutes <= 480:
            raise ValueError(
                "OSTEOTARGET_SESSION_IDLE_MINUTES: a session's idle limit is more than 0 and at "
                f"most 480 minutes, not "
                f"{self.session_idle_minutes:g}"
            )

    @classmethod
    def from_env(cls, database_url: str, demo: bool = False) -> Settings:
        """Environment: OSTEOTARGET_SECRET (signs session and bearer JWTs),
        OSTEOTARGET_CDS_ISSUERS (JSON, or a path to a JSON file: trusted CDS Hooks issuers),
        OSTEOTARGET_PUBLIC_URL (base of absolute links in CDS cards), OSTEOTARGET_LOGIN_*
        (lockout after failed sign-ins: :class:`SignInPolicy`),
        OSTEOTARGET_SESSION_IDLE_MINUTES (a browser session unused this long ends; 30)."""
        issuers_text = os.environ.get("OSTEOTARGET_CDS_ISSUERS", "").strip()
        issuers: dict[str, Any] = {}
        if issuers_text:
            if not issuers_text.startswith("{"):
                issuers_text = Path(issuers_text).read_text(encoding="utf-8")
            issuers = json.loads(issuers_text)
        secret = os.environ.get("OSTEOTARGET_SECRET") or secrets.token_urlsafe(32)
        return cls(
            database_url=database_url,
            secret=secret,
            cds_issuers=issuers,
            public_url=os.environ.get("OSTEOTARGET_PUBLIC_URL") or None,
            demo=demo,
            threads=int(os.environ.get("OSTEOTARGET_THREADS", "8")),
            cds_max_in_flight=int(os.environ.get("OSTEOTARGET_CDS_MAX_IN_FLIGHT", "16")),
            max_body_bytes=int(os.environ.get("OSTEOTARGET_MAX_BODY_BYTES", str(4 << 20))),
            max_import_bytes=int(os.environ.get("OSTEOTARGET_MAX_IMPORT_BYTES", str(64 << 20))),
            sign_in=SignInPolicy.from_env(),
            session_idle_minutes=float(os.environ.get("OSTEOTARGET_SESSION_IDLE_MINUTES", "30")),
        )
