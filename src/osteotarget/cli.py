"""Command line: a thin door into the core. Each subcommand lives in ``commands/``.

Exit codes: 0 success, 2 bad input (a refused record names the field and value; never a
traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from osteotarget import __version__
from osteotarget.commands import (
    assess,
    import_,
    kpi,
    profiles,
    project,
    schema,
    serve,
    simulate,
    synth,
    users,
    worklist,
)
from osteotarget.commands._common import refuse, usage_error
from osteotarget.model import RecordError

COMMANDS = (
    assess,
    project,
    serve,
    profiles,
    schema,
    import_,
    synth,
    worklist,
    kpi,
    simulate,
    users,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osteotarget",
        description="Treat-to-target osteoporosis decision support (it never prescribes).",
    )
    parser.add_argument("--version", action="version", version=f"osteotarget {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except RecordError as exc:
        return refuse(exc)
    except OSError as exc:
        return usage_error(f"{exc.filename or ''}: {exc.strerror or exc}")
    except (ValueError, ArithmeticError, RecursionError) as exc:
        # Input no specific check caught: still bad input (exit 2), never a traceback.
        return usage_error(f"refused: {type(exc).__name__}: {str(exc)[:200]}")
    except Exception as exc:
        print(f"osteotarget: internal error ({type(exc).__name__}); please report", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
