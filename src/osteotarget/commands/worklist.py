"""`osteotarget worklist FILE|--registry [--as-of DATE] [--engine polars|spark] --out FILE.csv`:
one row per patient and queue (patient_id, queue, reason, due, priority); queue names in
docs/population.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from osteotarget.commands._population import add_source, run_or_refuse


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "worklist", help="worklists (fracture without treatment, denosumab due, DXA due, ...)"
    )
    add_source(parser)
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from osteotarget.population.kpi import queue_counts
    from osteotarget.population.worklist import write_csv

    result, refused = run_or_refuse(args)
    if refused is not None:
        return refused
    write_csv(result.rows, str(args.out))
    counts = queue_counts(result.rows)
    print(
        f"osteotarget: {result.patients} patients, {result.rows.height} worklist rows -> "
        f"{args.out} " + ", ".join(f"{q} {n}" for q, n in sorted(counts.items())),
        file=sys.stderr,
    )
    return 0
