"""Fixtures: a real app on a real SQLite file, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from tests.people import add_person

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "examples"
DEMO = Path(__file__).resolve().parents[2] / "src" / "osteotarget" / "demo"
ISSUER = "https://ehr.test.example"
URL_ISSUER = "https://ehr-with-jwks-url.test.example"


def example_records() -> list[dict[str, Any]]:
    folder = EXAMPLES if EXAMPLES.is_dir() else DEMO
    return [
        json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"))
        if json.loads(p.read_text()).get("id", "").startswith("example-")
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Signer:
    """The test EHR: its own RSA key, JWKS and signed CDS Hooks tokens."""

    key: rsa.RSAPrivateKey
    kid: str
    iss: str

    @property
    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "alg": "RS384", "use": "sig"})
        return {"keys": [public]}

    def token(self, aud: str, **overrides: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.iss,
            "sub": "test-ehr-client",
            "aud": aud,
            "exp": now + timedelta(minutes=5),
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, self.key, algorithm="RS384", headers={"kid": self.kid, "typ": "JWT"}
        )


def new_signer(iss: str) -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048), "k1", iss)


@dataclass
class Service:
    url: str
    registry: Registry
    admin_key: str
    clinician_key: str
    coordinator_key: str
    signer: Signer
    url_signer: Signer

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="session")
def signer() -> Signer:
    return new_signer(ISSUER)


@pytest.fixture(scope="session")
def url_signer() -> Signer:
    return new_signer(URL_ISSUER)


@pytest.fixture(scope="session")
def jwks_server(url_signer: Signer) -> Iterator[str]:
    """The second EHR publishes its JWKS over HTTP (fetched and cached by the service)."""
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    def jwks() -> dict[str, Any]:
        return url_signer.jwks

    with LiveServer(app) as live:
        yield live.url + "/.well-known/jwks.json"


def make_settings(db_url: str, signer: Signer, url_signer: Signer, jwks_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        secret="test-secret-not-for-production-0123456789-abcdef",
        cds_issuers={
            signer.iss: {"jwks": signer.jwks},
            url_signer.iss: {"jwks_url": jwks_url},
        },
    )


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, signer: Signer, url_signer: Signer, jwks_server: str
) -> Iterator[Service]:
    db = tmp_path_factory.mktemp("registry") / "service.sqlite3"
    registry = Registry(f"sqlite:///{db}")
    app = create_app(make_settings(registry.url, signer, url_signer, jwks_server), registry)
    admin = registry.add_client("test-admin", "admin")
    clinician = registry.add_client("test-clinician", "clinician")
    coordinator = registry.add_client("test-coordinator", "coordinator")
    registry.import_dicts(example_records(), "test-seed", "test")
    add_person(registry, "nurse", "clinician")  # people sign in with tests.people.PASSWORD
    add_person(registry, "boss", "admin")
    with LiveServer(app) as live:
        yield Service(live.url, registry, admin, clinician, coordinator, signer, url_signer)
    registry.close()


@pytest.fixture()
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client(service.admin_key) as client:
        yield client


@pytest.fixture()
def anonymous(service: Service) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client
