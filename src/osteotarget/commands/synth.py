"""`osteotarget synth --n N [--seed S] [--as-of DATE] --out FILE`: a synthetic cohort
(NDJSON, or Parquet for a .parquet name). Distributions: knowledge/population/synth.toml."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from osteotarget.commands._common import iso_date, usage_error


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "synth", help="write a synthetic cohort (NDJSON or Parquet)"
    )
    parser.add_argument("--n", type=int, required=True, help="number of patients")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same file)")
    parser.add_argument(
        "--as-of", type=iso_date, default=None, help="no date after this (default: today)"
    )
    parser.add_argument("--out", type=Path, required=True, help=".ndjson or .parquet")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from osteotarget.population.synth import synth_table, write_cohort

    if args.n < 0:
        return usage_error(f"--n {args.n}: must be 0 or more")
    out: Path = args.out
    if out.suffix not in (".ndjson", ".jsonl", ".parquet"):
        return usage_error(f"--out '{out}': expected a .ndjson, .jsonl or .parquet file name")
    table = synth_table(args.n, args.seed, args.as_of or date.today())
    write_cohort(table, out)
    print(f"osteotarget: wrote {args.n} synthetic patients to {out}", file=sys.stderr)
    return 0
