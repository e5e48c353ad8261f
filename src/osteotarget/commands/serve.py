"""`osteotarget serve [--host H] [--port P] [--demo]`: web app, REST API and CDS Hooks.

One application on the registry named by OSTEOTARGET_DATABASE_URL (default: an SQLite file
under ./var/). ``--demo`` seeds the demo patients and prints a local demo API key: auth is
never disabled.
"""

from __future__ import annotations

import argparse
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
        "--demo", action="store_true", help="seed demo patients and print a demo API key"
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
    from osteotarget.web.demo import seed_demo

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    url = args.database_url or os.environ.get("OSTEOTARGET_DATABASE_URL") or default_url()
    settings = Settings.from_env(url, demo=args.demo)
    registry = Registry(url)
    app = create_app(settings, registry)
    base = f"http://{args.host}:{args.port}"
    if args.demo:
        report, key = seed_demo(registry)
        seeded = len(report.created) + len(report.updated) + len(report.unchanged)
        print(
            f"osteotarget demo: {seeded} demo patients in {registry.engine.url.render_as_string()}"
        )
        print(f"osteotarget demo: API key (admin, local demo only): {key}")
        print(
            f"osteotarget demo: sign in at {base}/login ; API: curl -H 'X-API-Key: {key}' "
            f"{base}/api/patients"
        )
        sys.stdout.flush()
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
