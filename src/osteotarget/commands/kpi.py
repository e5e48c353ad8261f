"""`osteotarget kpi FILE|--registry [--as-of DATE] [--format text|json]`: service indicators
(IOF Capture the Fracture / FLS-DB / treat-to-target; docs/population.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from osteotarget.commands._population import add_source, run_or_refuse


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "kpi", help="service indicators (IOF Capture the Fracture, FLS-DB, treat-to-target)"
    )
    add_source(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result, refused = run_or_refuse(args)
    if refused is not None:
        return refused
    summary = result.summary()
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return 0
    lines = [f"Service indicators — {summary['patients']} patients, as of {summary['as_of']}"]
    for item in summary["indicators"]:
        if not item["computable"]:
            lines.append(f"  {item['id']}: not computable ({item['note']})")
        elif item["percent"] is not None:
            lines.append(
                f"  {item['id']}: {item['percent']:g}% ({item['numerator']}/{item['denominator']})"
            )
        elif item["value"] is not None:
            lines.append(f"  {item['id']}: {item['value']:g} (n={item['denominator']})")
        else:
            lines.append(f"  {item['id']}: {item['numerator']}")
    lines.append("Queues: " + ", ".join(f"{q} {n}" for q, n in sorted(summary["queues"].items())))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
