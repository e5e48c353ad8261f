"""Schemathesis against /openapi.json with every check, stateful links included.

`make test` runs a bounded pass (SCHEMATHESIS_EXAMPLES, default 4 per operation, without
the exhaustive coverage phase); `make fuzz` runs 200+ examples per operation and every phase.
Before: 1 server error, 10 undocumented status codes, 5 invalid requests accepted, 11 valid
requests refused, 4 Allow mismatches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from tests.service.conftest import LiveServer, example_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "4")
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "examples,fuzzing,stateful")


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


def test_every_schemathesis_check_passes(fuzz_target: tuple[str, str]) -> None:
    url, key = fuzz_target
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        url + "/openapi.json",
        "--checks",
        "all",
        "--header",
        f"X-API-Key: {key}",
        "--max-examples",
        EXAMPLES,
        "--phases",
        PHASES,
        "--continue-on-failure",
        "--generation-deterministic",
        "--request-timeout",
        "30",
        "--no-color",
        "--suppress-health-check",
        "filter_too_much",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    summary = done.stdout[done.stdout.find("SUMMARY") - 40 :]
    print(summary)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Tested: " in done.stdout
