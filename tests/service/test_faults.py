"""Database faults over real HTTP and the real PostgreSQL: 503 with Retry-After, then recovery.

The service reaches PostgreSQL through a small TCP relay this test owns, so "the database
goes away" is the relay closing every connection and refusing new ones (the shared cluster
is never touched). Before: a stopped database answered 500 and the audit row was lost.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from tests.service.conftest import LiveServer, free_port
from tests.service.test_store import PG_URL, _admin_engine, _schema_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="OSTEOTARGET_TEST_POSTGRES_URL is not set"),
]


class Relay:
    """127.0.0.1:<port> -> the PostgreSQL server, until :meth:`cut`; :meth:`restore` again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            if self.listener is not None:
                with contextlib.suppress(OSError):  # wakes the accept() blocked on it
                    self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                self.listener = None
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture()
def relayed() -> Iterator[tuple[Relay, str]]:
    schema = f"f_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(PG_URL)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.restore()
    through = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    yield relay, _schema_url(through, schema)
    relay.cut()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_database_down_is_503_with_retry_after_then_recovers(
    relayed: tuple[Relay, str],
) -> None:
    relay, url = relayed
    registry = Registry(url)
    app = create_app(
        Settings(database_url=url, secret="fault-secret-0123456789-abcdef-01"), registry
    )
    key = registry.add_client("fault-admin", "admin")
    with (
        LiveServer(app) as live,
        httpx.Client(base_url=live.url, headers={"X-API-Key": key}, timeout=60) as client,
    ):
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/patients").status_code == 200

        relay.cut()
        down = client.get("/api/patients")
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"].isdigit()
        assert down.headers["content-type"].startswith("application/problem+json")
        ready: dict[str, Any] = client.get("/readyz").json()
        assert ready["status"] == "not ready"
        assert ready["checks"]["database"]["ok"] is False
        assert "unavailable" in ready["checks"]["database"]["detail"]
        assert client.get("/healthz").status_code == 200  # the process itself is fine
        write = client.post("/api/patients/anyone/falls", json={"date": "2024-01-01"})
        assert write.status_code == 503

        relay.restore()
        assert client.get("/api/patients").status_code == 200
        assert client.get("/readyz").json()["checks"]["schema"]["ok"] is True
    registry.close()
