"""`osteotarget serve [--host H] [--port P] [--demo]`: web app, API and CDS Hooks.

(Placeholder until the service issue lands: a single page that says so.)
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the web app, REST API and CDS Hooks service"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo", action="store_true", help="seed demo patients")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="osteotarget")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return "<h1>osteotarget</h1><p>The service is being built; use the CLI for now.</p>"

    uvicorn.run(app, host=args.host, port=args.port)
    return 0
