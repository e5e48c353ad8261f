"""`osteotarget serve --demo` (what `make run` calls): seeded registry, printed demo key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.service.conftest import free_port


def test_serve_demo_prints_a_key_and_serves_the_demo_patients(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSTEOTARGET_")}
    command = [sys.executable, "-m", "osteotarget.cli", "serve", "--demo", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        key = None
        lines = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while key is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"API key \(admin, local demo only\): (ot_\S+)", line)
            key = found.group(1) if found else None
        assert key, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.get(base + "/api/patients").status_code == 401
        listed = httpx.get(base + "/api/patients", headers={"X-API-Key": key}).json()
        ids = {p["id"] for p in listed["items"]}
        assert "example-denosumab-overdue" in ids and len(ids) >= 8
        page = httpx.get(base + "/patients/example-denosumab-overdue", headers={"X-API-Key": key})
        assert page.status_code == 200 and "tscore-chart" in page.text
        assert (tmp_path / "var" / "osteotarget.sqlite3").is_file()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "example-denosumab-overdue" not in output  # no patient data in the server's log
