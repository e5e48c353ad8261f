"""A throwaway server for schemathesis runs: `python -m tests.fuzz.serve_for_fuzz DB PORT`.

Prints the admin key on its first line, then serves on 127.0.0.1:PORT until killed.
"""

from __future__ import annotations

import sys

import uvicorn

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from tests.service.conftest import example_records


def main() -> None:
    db, port = sys.argv[1], int(sys.argv[2])
    registry = Registry(f"sqlite:///{db}")
    app = create_app(
        Settings(database_url=registry.url, secret="fuzz-secret-0123456789abcdef-0123456789"),
        registry,
    )
    key = registry.add_client("fuzz-admin", "admin")
    registry.import_dicts(example_records(), "fuzz", "test")
    print(key, flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
