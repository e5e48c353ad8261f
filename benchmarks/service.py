"""Service benchmark (loopback only, bounded): CDS Hooks patient-view latency under
concurrent load, concurrent record writers (every write counted), FHIR NDJSON import
throughput, and the server's memory before and after.

    .venv/bin/python benchmarks/service.py [--rate 100] [--seconds 10] [--patients 300]
        [--clients 8] [--writes 25]

The server runs in its own process (``osteotarget serve --workers N``) on 127.0.0.1 with a
fresh SQLite registry in a temporary folder; the load generator (httpx, asyncio) sends patient-view
requests as an EHR does (a signed JWT each, full prefetch) at a fixed arrival rate, so a
slow answer does not slow the offered load (no coordinated omission).
Goal (issue 4): p99 < 50 ms at 100 requests/s on the 2-core machine. Calls beyond the
service's in-flight limit are answered 503 at once (load shedding) and counted apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from osteotarget.adapters import fhir_out  # noqa: E402
from osteotarget.model import parse_patient  # noqa: E402
from osteotarget.store import Registry  # noqa: E402

ISS = "https://bench-ehr.local"
DEMO = ROOT / "src" / "osteotarget" / "demo"


def records() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(DEMO.glob("*.json"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefetch(record: dict[str, Any]) -> dict[str, Any]:
    bundle = fhir_out.record_to_bundle(parse_patient(record))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])

    def searchset(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in items],
        }

    obs = by_type.get("Observation", [])
    labs = [o for o in obs if "laboratory" in str(o.get("category"))]
    return {
        "patient": by_type["Patient"][0],
        "dxa": searchset([o for o in obs if o not in labs]),
        "labs": searchset(labs),
        "conditions": searchset(by_type.get("Condition", [])),
        "medicationStatements": searchset(by_type.get("MedicationStatement", [])),
        "medicationRequests": searchset([]),
        "medicationAdministrations": searchset(by_type.get("MedicationAdministration", [])),
        "procedures": searchset([]),
    }


def distinct(bodies: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` requests, each for a patient the service has not seen (new id)."""
    texts = [(b["context"]["patientId"], json.dumps(b)) for b in bodies]
    out = []
    for i in range(count):
        old_id, text = texts[i % len(texts)]
        out.append(json.loads(text.replace(old_id, f"{old_id}-d{i:05d}")))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the workers), in MB (Linux)."""
    total = 0
    for one in _family(pid):
        try:
            for line in (Path("/proc") / str(one) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (the workers), in seconds:
    steadier than latency on a shared machine (Linux)."""
    total = 0
    for one in _family(pid):
        try:
            fields = (Path("/proc") / str(one) / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _family(pid: int) -> set[int]:
    pids = {pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                pids.add(int(entry.name))
    return pids


def writers(args: argparse.Namespace, base: str, api_key: str) -> int:
    """``clients`` writers adding lab entries to one record at once, then every write
    counted: none lost, no duplicated version."""
    headers = {"X-API-Key": api_key}
    record = dict(records()[0])
    record["id"] = "bench-writers"
    record["labs"] = []
    httpx.post(base + "/api/patients", json=record, headers=headers, timeout=30)
    url = base + "/api/patients/bench-writers/labs"

    async def writer(client: httpx.AsyncClient, number: int, out: list[float]) -> int:
        errors = 0
        for n in range(args.writes):
            day = datetime(2000, 1, 1) + timedelta(days=number * 1000 + n)
            lab = {
                "date": day.date().isoformat(),
                "test": "calcium",
                "value": 2.3,
                "unit": "mmol/L",
            }
            started = time.perf_counter()
            response = await client.post(url, json=lab)
            if response.status_code == 200:
                out.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
        return errors

    async def all_writers() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            started = time.perf_counter()
            errors = await asyncio.gather(
                *(writer(client, i, latencies) for i in range(args.clients))
            )
            return latencies, sum(errors), time.perf_counter() - started

    latencies, errors, wall = asyncio.run(all_writers())
    stored = httpx.get(base + "/api/patients/bench-writers", headers=headers, timeout=30).json()
    history = httpx.get(
        base + "/api/patients/bench-writers/history", headers=headers, timeout=30
    ).json()
    versions = [h["version"] for h in history]
    total = args.clients * args.writes
    lost = len(latencies) - len(stored["record"].get("labs", []))
    duplicated = len(versions) - len(set(versions))
    print(
        f"record writers: {args.clients} clients x {args.writes} lab adds on one record: "
        f"{total} requests in {wall:.1f} s ({total / wall:.0f} req/s), errors {errors}, "
        f"lost {lost}, duplicated versions {duplicated}"
    )
    if latencies:
        print(
            "    latency ms: "
            + "  ".join(f"p{q} {percentile(latencies, q):.1f}" for q in (50, 99))
            + f"  max {max(latencies):.1f}"
        )
    return 0 if errors == 0 and lost == 0 and duplicated == 0 else 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def load(
    url: str, bodies: list[dict[str, Any]], tokens: list[str], rate: float
) -> tuple[list[float], int, int]:
    """Latencies of answered (200) calls, errors, and calls shed with 503."""
    latencies: list[float] = []
    errors = 0
    shed = 0
    # Bodies encoded before the timed run: the generator shares the machine's two cores.
    encoded = [json.dumps(b).encode() for b in bodies]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def one(i: int) -> None:
            nonlocal errors, shed
            started = time.perf_counter()
            try:
                response = await client.post(
                    url,
                    content=encoded[i % len(encoded)],
                    headers={
                        "Authorization": f"Bearer {tokens[i]}",
                        "Content-Type": "application/json",
                    },
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            if status == 200:
                latencies.append((time.perf_counter() - started) * 1000)
            elif status == 503:
                shed += 1
            else:
                errors += 1

        tasks = []
        start = time.perf_counter()
        for i in range(len(tokens)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies, errors, shed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the timed run")
    parser.add_argument("--patients", type=int, default=300, help="patients in the NDJSON import")
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes (default: one per core)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent record writers")
    parser.add_argument("--writes", type=int, default=25, help="writes per writer")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "bench", "alg": "RS384"})
    issuers = json.dumps({ISS: {"jwks": {"keys": [public]}}})
    api_key = "ot_bench_" + uuid.uuid4().hex
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="osteotarget-bench-") as folder:
        db_url = f"sqlite:///{os.path.join(folder, 'bench.sqlite3')}"
        registry = Registry(db_url)
        registry.migrate()
        registry.add_client("bench", "admin", api_key)
        registry.close()
        env = {
            **os.environ,
            "OSTEOTARGET_CDS_ISSUERS": issuers,
            "OSTEOTARGET_SECRET": "bench-secret-" + uuid.uuid4().hex,
            "PYTHONPATH": str(ROOT / "src"),
        }
        command = [
            *(sys.executable, "-m", "osteotarget.cli", "serve", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(args.workers), "--database-url", db_url),
        ]
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"server: osteotarget serve --workers {args.workers}, SQLite, 127.0.0.1 "
                f"(load average before: {load_avg})"
            )
            before = rss_mb(server.pid)
            code = run(args, base, key, api_key, server.pid)
            code = max(code, writers(args, base, api_key))
            print(f"server memory (RSS): before {before:.0f} MB, after {rss_mb(server.pid):.0f} MB")
            return code
        finally:
            server.terminate()
            server.wait(10)


def run(args: argparse.Namespace, base: str, key: Any, api_key: str, server_pid: int) -> int:
    url = base + "/cds-services/osteotarget-patient-view"
    bodies = []
    for record in records():
        bodies.append(
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/bench", "patientId": record["id"]},
                "prefetch": prefetch(record),
            }
        )
    count = int(args.rate * args.seconds)
    now = datetime.now(UTC)

    def token() -> str:
        claims = {
            "iss": ISS,
            "sub": "bench",
            "aud": url,
            "iat": now,
            "exp": now
            + timedelta(minutes=4),  # within the service's maximum token lifetime (300 s),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "bench"})

    warmup = [token() for _ in range(50)]
    asyncio.run(load(url, bodies, warmup, 50.0))
    print(f"CDS Hooks patient-view, full prefetch, a signed JWT each, {args.rate:g} req/s offered")
    ok = True
    for label, phase_bodies in (
        (f"same {len(bodies)} patients (charts reopened: memo hits)", bodies),
        ("a new patient every request (no memo hits)", distinct(bodies, count)),
    ):
        tokens = [token() for _ in range(count)]
        cpu_before = cpu_seconds(server_pid)
        started = time.perf_counter()
        latencies, errors, shed = asyncio.run(load(url, phase_bodies, tokens, args.rate))
        wall = time.perf_counter() - started
        server_cpu_ms = (cpu_seconds(server_pid) - cpu_before) / count * 1000
        p99 = percentile(latencies, 99)
        ok = ok and errors == 0
        print(
            f"  {label}: {count} requests in {wall:.1f} s ({count / wall:.0f} req/s), "
            f"errors {errors}, shed (503) {shed}; server CPU {server_cpu_ms:.1f} ms per request"
        )
        print(
            "    latency ms: "
            + "  ".join(f"p{q} {percentile(latencies, q):.1f}" for q in (50, 90, 99))
            + f"  max {max(latencies):.1f}  mean {statistics.fmean(latencies):.1f}"
            + (
                f"  -> goal p99 < 50 ms at 100 req/s, none shed "
                f"{'met' if p99 < 50 and shed == 0 else 'NOT met'}"
                if args.rate >= 100
                else ""
            )
        )

    # FHIR NDJSON import throughput
    base_records = records()
    lines = []
    for i in range(args.patients):
        record = dict(base_records[i % len(base_records)])
        record["id"] = f"bench-{i:05d}"
        for entry in fhir_out.record_to_bundle(parse_patient(record))["entry"]:
            lines.append(json.dumps(entry["resource"]))
    ndjson = "\n".join(lines)
    headers = {"X-API-Key": api_key, "Content-Type": "application/fhir+ndjson"}
    started = time.perf_counter()
    response = httpx.post(base + "/api/fhir/import", content=ndjson, headers=headers, timeout=300)
    elapsed = time.perf_counter() - started
    report = response.json()
    print(
        f"FHIR NDJSON import: {len(lines)} resources, {args.patients} patients, "
        f"{len(ndjson) / 1e6:.1f} MB in {elapsed:.2f} s"
    )
    print(
        f"  {len(lines) / elapsed:.0f} resources/s, {args.patients / elapsed:.0f} patients/s; "
        f"created {len(report['created'])}, refused {len(report['refused'])}, "
        f"unmapped {len(report['unmapped'])}"
    )
    started = time.perf_counter()
    again = httpx.post(
        base + "/api/fhir/import", content=ndjson, headers=headers, timeout=300
    ).json()
    elapsed = time.perf_counter() - started
    print(
        f"  re-import (idempotent, nothing written): {elapsed:.2f} s, "
        f"unchanged {len(again['unchanged'])}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
