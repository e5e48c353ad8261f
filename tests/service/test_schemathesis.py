"""Schemathesis against /openapi.json: generated requests never get a 5xx (bounded run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from tests.service.conftest import LiveServer, example_records


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    registry = Registry(f"sqlite:///{db}")
    app = create_app(
        Settings(database_url=registry.url, secret="fuzz-secret-0123456789abcdef-0123456789"),
        registry,
    )
    key = registry.add_client("fuzz-admin", "admin")
    registry.import_dicts(example_records(), "fuzz", "test")
    with LiveServer(app) as live:
        yield live.url, key
    registry.close()


def test_no_server_errors(fuzz_target: tuple[str, str]) -> None:
    """Every operation, a few generated cases each (pytest plugin not used: it does not
    support this pytest version), checked with schemathesis's not_a_server_error."""
    url, key = fuzz_target
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers={"X-API-Key": key}, timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {type(exc).__name__} {str(exc)[:300]}")
    print("schemathesis statuses:", dict(sorted(statuses.items())))
    assert operations >= 20
    assert sum(statuses.values()) >= 2 * operations
    assert not failures, "\n".join(failures)
