"""Arguments shared by the population commands (worklist, kpi): the input and the run."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path
from typing import Any

from osteotarget.commands._common import iso_date, usage_error
from osteotarget.engine import DEFAULT_PROFILE


def add_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", type=Path, help="records: .ndjson or .parquet")
    source.add_argument(
        "--registry", action="store_true", help="read the registry (OSTEOTARGET_DATABASE_URL)"
    )
    parser.add_argument("--database-url", default=None, help="registry URL (with --registry)")
    parser.add_argument("--as-of", type=iso_date, default=None, help="date (default: today)")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="guideline profile")
    parser.add_argument("--engine", choices=("polars", "spark"), default="polars")
    parser.add_argument(
        "--master", default=None, help="Spark master URL (default local[2]); with --engine spark"
    )


def registry_url(args: argparse.Namespace) -> str:
    from osteotarget.store import default_url

    url: str = args.database_url or os.environ.get("OSTEOTARGET_DATABASE_URL") or default_url()
    return url


def check_file(args: argparse.Namespace) -> str | None:
    path: Path | None = args.file
    if path is None:
        return None
    if not path.is_file():
        return f"records file '{path}' not found"
    if path.suffix not in (".ndjson", ".jsonl", ".parquet"):
        return f"records file '{path}': expected .ndjson, .jsonl or .parquet"
    return None


def run_job(args: argparse.Namespace) -> Any:
    """The population job on the chosen engine; returns a PopulationResult."""
    as_of: date = args.as_of or date.today()
    if args.engine == "spark":
        from osteotarget.population.spark import run_spark

        if args.file is None:
            raise ValueError("--engine spark reads a file (export the registry first)")
        return run_spark(args.file, as_of, args.profile, master=args.master)
    from osteotarget.population import load_frame, run_population

    frame = load_frame(args.file, registry_url(args) if args.registry else None)
    return run_population(frame, as_of, args.profile)


def run_or_refuse(args: argparse.Namespace) -> tuple[Any, int | None]:
    """(the PopulationResult, None), or (None, exit code 2) after naming the bad records file,
    profile or engine choice on stderr."""
    problem = check_file(args)
    if problem:
        return None, usage_error(problem)
    try:
        return run_job(args), None
    except (KeyError, ValueError) as exc:
        return None, usage_error(str(exc).strip("'\""))
