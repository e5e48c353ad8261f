"""`make run` (serve --demo) is stable across restarts: demo patients and demo people only
into an empty registry, the user's edits, passwords and the demo key kept; rotate and fresh
start on request. People sign in with the printed username and password; the key is for
machines (the API)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.people import csrf_of, sign_in
from tests.service.conftest import free_port

KEY = re.compile(r"API key \(admin, local demo only\): (ot_\S+)")
PERSON = re.compile(r"user (\S+) \((\w+)\), password: (\S+)")


def start(folder: Path, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSTEOTARGET_")}
    command = [sys.executable, "-m", "osteotarget.cli", "serve", "--demo", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *extra],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "sign in at" in line:
            break
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/api/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, base, lines


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=20)


def printed_key(lines: list[str]) -> str | None:
    for line in lines:
        found = KEY.search(line)
        if found:
            return found.group(1)
    return None


def printed_people(lines: list[str]) -> dict[str, str]:
    return {m.group(1): m.group(3) for line in lines if (m := PERSON.search(line))}


def test_restart_keeps_edits_and_key_then_rotate_and_fresh(tmp_path: Path) -> None:
    process, base, lines = start(tmp_path)
    try:
        key = printed_key(lines)
        assert key, "".join(lines)
        people = printed_people(lines)
        assert set(people) == {"admin", "clinician"}, "".join(lines)
        admin = sign_in(base, "admin", people["admin"])
        assert admin.get("/admin").status_code == 200
        assert sign_in(base, "clinician", people["clinician"]).get("/admin").status_code == 403
        headers = {"X-API-Key": key}
        record = httpx.get(base + "/api/patients/example-naive-high-risk", headers=headers).json()
        record = record.get("record", record)
        record["height_cm"] = 150
        put = httpx.put(
            base + "/api/patients/example-naive-high-risk", json=record, headers=headers
        )
        assert put.status_code in (200, 201), put.text
        count = httpx.get(base + "/api/patients", headers=headers).json()["total"]
    finally:
        stop(process)

    process, base, lines = start(tmp_path)  # restart: nothing re-seeded, no new key
    try:
        text = "".join(lines)
        assert printed_key(lines) is None, text
        assert "kept" in text and "--rotate-demo-key" in text and "reset-demo" in text
        assert printed_people(lines) == people  # the same sign-in, shown again
        clinician = sign_in(base, "clinician", people["clinician"])
        form = clinician.get("/account").text
        new = "the clinician's own new passphrase"
        changed = clinician.post(
            "/account/password",
            data={
                "current": people["clinician"],
                "new": new,
                "confirm": new,
                "csrf": csrf_of(form),
            },
        )
        assert changed.status_code == 303
        assert httpx.get(base + "/api/patients", headers=headers).json()["total"] == count
        again = httpx.get(base + "/api/patients/example-naive-high-risk", headers=headers).json()
        assert again.get("record", again)["height_cm"] == 150  # the edit survived
    finally:
        stop(process)

    process, base, lines = start(tmp_path, "--rotate-demo-key")
    try:
        new_key = printed_key(lines)
        assert new_key and new_key != key
        assert printed_people(lines) == {"admin": people["admin"]}  # a changed one is not shown
        assert "clinician: password changed since" in "".join(lines)
        assert people["clinician"] not in "".join(lines)
        assert httpx.get(base + "/api/patients", headers=headers).status_code == 401
        assert httpx.get(base + "/api/patients", headers={"X-API-Key": new_key}).status_code == 200
    finally:
        stop(process)

    process, base, lines = start(tmp_path, "--fresh")  # make reset-demo
    try:
        fresh_key = printed_key(lines)
        assert fresh_key and "fresh start" in "".join(lines)
        fresh_people = printed_people(lines)
        assert set(fresh_people) == {"admin", "clinician"}
        assert fresh_people["admin"] != people["admin"]
        fresh = httpx.get(
            base + "/api/patients/example-naive-high-risk", headers={"X-API-Key": fresh_key}
        ).json()
        assert fresh.get("record", fresh).get("height_cm") != 150
    finally:
        stop(process)


def test_fresh_refuses_a_shared_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSTEOTARGET_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "osteotarget.cli",
            "serve",
            "--demo",
            "--fresh",
            "--database-url",
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "only deletes a local SQLite registry" in result.stderr
