"""`osteotarget serve [--host H] [--port P] [--demo]`: web app, REST API and CDS Hooks.

One application on the registry named by OSTEOTARGET_DATABASE_URL (default: an SQLite file
under ./var/). ``--demo`` seeds the demo patients into an empty registry only (a restart keeps
the user's edits), creates two demo people (``admin``, ``clinician``) with generated passwords
when there is no user, prints how to sign in (the passwords, while they still work) and a
local demo API key for machines once, when it is created: auth is never disabled.
``--rotate-demo-key`` issues a new demo key; ``--fresh`` deletes the local SQLite registry
first (``make reset-demo``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the web app, REST API and CDS Hooks service"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--demo", action="store_true", help="seed demo patients and people; print how to sign in"
    )
    parser.add_argument(
        "--rotate-demo-key",
        action="store_true",
        help="with --demo: issue a new demo API key (the old one stops working)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="with --demo: delete the local SQLite registry first (all edits and keys)",
    )
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: OSTEOTARGET_DATABASE_URL)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (one registry, shared secret)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from osteotarget.store import Registry, default_url
    from osteotarget.web import Settings, create_app
    from osteotarget.web.demo import demo_secret, remove_demo_registry

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    url = args.database_url or os.environ.get("OSTEOTARGET_DATABASE_URL") or default_url()
    if args.fresh:
        if not args.demo:
            print("osteotarget serve: --fresh is only for --demo", file=sys.stderr)
            return 2
        try:
            removed = remove_demo_registry(url)
        except ValueError as exc:
            print(f"osteotarget serve: {exc}", file=sys.stderr)
            return 2
        print(f"osteotarget demo: fresh start, removed {removed}")
    settings = Settings.from_env(url, demo=args.demo)
    if args.demo and not os.environ.get("OSTEOTARGET_SECRET"):
        kept = demo_secret(url)
        if kept:  # sign-in sessions survive a restart of the local demo
            settings = dataclasses.replace(settings, secret=kept)
    registry = Registry(url)
    app = create_app(settings, registry)
    base = f"http://{args.host}:{args.port}"
    if args.demo:
        announce_demo(registry, base, args.rotate_demo_key)
    # access_log off: uvicorn's access log would print concrete paths (patient ids).
    server: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_level": "info",
        "timeout_keep_alive": 30,
    }
    if args.workers > 1:
        registry.close()
        os.environ["OSTEOTARGET_DATABASE_URL"] = url
        os.environ["OSTEOTARGET_SECRET"] = settings.secret
        uvicorn.run(
            "osteotarget.web.app:app_from_env", factory=True, workers=args.workers, **server
        )
        return 0
    uvicorn.run(app, **server)
    return 0


def announce_demo(registry: Any, base: str, rotate: bool) -> None:
    """Seed (empty registry only) and say how to sign in: the key is printed once."""
    from osteotarget.web.demo import seed_demo

    seed = seed_demo(registry, rotate=rotate)
    where = registry.engine.url.render_as_string()
    if seed.imported:
        print(f"osteotarget demo: {seed.imported} demo patients added to {where}")
    else:
        print(
            f"osteotarget demo: {seed.kept_patients} patients kept in {where} "
            "(demo patients are added only to an empty registry; `make reset-demo` starts over)"
        )
    _announce_people(seed, base, where)
    if seed.key:
        print(f"osteotarget demo: API key (admin, local demo only): {seed.key}")
        print(
            "osteotarget demo: the key is for machines (the API), not for signing in; keep it: "
            "it is stored only as a hash and shown this once"
        )
        print(f"osteotarget demo: API: curl -H 'X-API-Key: {seed.key}' {base}/api/patients")
    else:
        print(
            f"osteotarget demo: the demo API key ({seed.key_prefix}…) printed when it was "
            "created still works; lost it? `osteotarget serve --demo --rotate-demo-key` "
            "prints a new one (the old stops working)"
        )
    print(f"osteotarget demo: sign in at {base}/login")
    sys.stdout.flush()


def _announce_people(seed: Any, base: str, where: str) -> None:
    """The demo people and their passwords (local demo only), or why they are not shown."""
    known = [p for p in seed.people if p.password]
    for person in known:
        print(
            f"osteotarget demo: user {person.username} ({person.role}), password: {person.password}"
        )
    if seed.people_created and known:
        print(
            "osteotarget demo: local demo only; the passwords are kept beside the registry "
            "file (mode 0600) and shown at each start while they still work"
        )
    for person in seed.people:
        if not person.password:
            print(
                f"osteotarget demo: user {person.username}: password changed since it was "
                "created (not shown)"
            )
    if not seed.people:
        print(
            "osteotarget demo: people sign in with the username and password an administrator "
            "gave them (`osteotarget users add --role admin NAME` creates one)"
        )
