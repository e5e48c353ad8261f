"""Sign-in benchmark: the work behind each kind of refused sign-in, so that an unknown
username cannot be told from a wrong password (or a locked account) by the time it takes.

    .venv/bin/python benchmarks/signin.py [--rounds 15]

Runs the sign-in function on a fresh SQLite registry in a temporary folder (no server) and
prints the median and spread of each kind of attempt: unknown user, wrong password, locked
account, right password. Each refusal runs one Argon2id verification (argon2-cffi defaults).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from osteotarget.security.passwords import hash_password  # noqa: E402
from osteotarget.security.signin import SignInPolicy, sign_in  # noqa: E402
from osteotarget.store import Registry  # noqa: E402

PASSWORD = "a benchmark passphrase of some length"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(f"sqlite:///{folder}/bench.sqlite3")
        registry.migrate()
        registry.users.add("known", hash_password(PASSWORD), "clinician")
        registry.users.add("locked", hash_password(PASSWORD), "clinician")
        policy = SignInPolicy(max_failures=1, lockout_seconds=3600, lockout_max_seconds=3600)
        sign_in(registry.users, "locked", "wrong password here", policy)  # now locked
        relaxed = SignInPolicy(max_failures=10**6)
        kinds = {
            "unknown user": ("nobody", "wrong password here", relaxed),
            "wrong password": ("known", "wrong password here", relaxed),
            "locked account": ("locked", PASSWORD, policy),
            "right password": ("known", PASSWORD, relaxed),
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.rounds):
            for kind, (name, password, rules) in kinds.items():
                started = time.perf_counter()
                sign_in(registry.users, name, password, rules)
                times[kind].append((time.perf_counter() - started) * 1000)
        registry.close()
    print(f"sign-in work per attempt, {args.rounds} rounds (ms): median [min-max]")
    for kind, values in times.items():
        print(
            f"  {kind:15s} {statistics.median(values):7.1f}  [{min(values):.1f}-{max(values):.1f}]"
        )


if __name__ == "__main__":
    main()
