"""Helpers shared by subcommands: dates, output, and refusing bad input with exit code 2."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from osteotarget.model import RecordError
from osteotarget.model.bounds import parse_iso_date

EXIT_BAD_INPUT = 2


def iso_date(text: str) -> date:
    """An ISO 8601 calendar date within the year bounds of every other door."""
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
