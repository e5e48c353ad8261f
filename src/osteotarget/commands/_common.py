"""Helpers shared by subcommands: dates, output, and refusing bad input with exit code 2."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from osteotarget.model import RecordError

EXIT_BAD_INPUT = 2


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO date (YYYY-MM-DD)") from None


def refuse(error: RecordError) -> int:
    """Print each refused field on stderr and return the bad-input exit code."""
    where = f"{error.source}: " if error.source else ""
    print(f"osteotarget: refused {where}{len(error.problems)} problem(s)", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    return EXIT_BAD_INPUT


def usage_error(message: str) -> int:
    print(f"osteotarget: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
