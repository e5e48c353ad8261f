"""`osteotarget assess RECORD.json [--as-of DATE] [--profile NAME] [--format text|json]`.

With an NDJSON file (``.ndjson``/``.jsonl``) and ``--format json`` the output is NDJSON:
one assessment per line, in input order; a refused line is reported on stderr."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from osteotarget.commands._common import iso_date, refuse, usage_error
from osteotarget.engine import DEFAULT_PROFILE, ProfileComparison, assess, compare_profiles
from osteotarget.model import RecordError, load_path
from osteotarget.render.text import render_assessment


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "assess", help="assess one patient record (JSON) or many (NDJSON)"
    )
    parser.add_argument("record", type=Path, help="patient record: .json, or .ndjson for many")
    parser.add_argument(
        "--as-of", type=iso_date, default=None, help="assessment date (default: today)"
    )
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="guideline profile")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--compare-profiles",
        action="store_true",
        help="assess under every guideline profile and show where they differ",
    )
    parser.set_defaults(run=run)


def _comparison_text(comparison: ProfileComparison) -> str:
    lines = [f"Profile comparison — patient {comparison.patient_id}, as of {comparison.as_of}"]
    for s in comparison.profiles:
        lines.append(f"  {s.profile}: risk {s.risk_category}; top option {s.top_option or '—'}")
        lines.append(f"      next: {', '.join(s.next_step) or '—'}")
        lines.append(f"      targets: {'; '.join(s.targets)}")
    lines.append("Differences:" if comparison.differences else "No differences.")
    lines.extend(f"  - {d}" for d in comparison.differences)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path: Path = args.record
    if not path.is_file():
        return usage_error(f"record file '{path}' not found")
    as_of: date = args.as_of or date.today()
    try:
        loaded = load_path(path)
    except UnicodeDecodeError:
        return usage_error(f"record file '{path}' is not UTF-8 text")
    status = 0
    # Many records in (NDJSON): NDJSON out, one assessment (or comparison) per line.
    many = path.suffix in {".ndjson", ".jsonl"}
    indent = None if many else 2
    for item in loaded:
        if isinstance(item, RecordError):
            status = refuse(item)
            continue
        try:
            if getattr(args, "compare_profiles", False):
                comparison = compare_profiles(item, as_of)
                if args.format == "json":
                    sys.stdout.write(comparison.model_dump_json(indent=indent) + "\n")
                else:
                    sys.stdout.write(_comparison_text(comparison) + "\n")
                continue
            result = assess(item, as_of, args.profile)
        except RecordError as exc:
            status = refuse(exc)
            continue
        except KeyError as exc:
            return usage_error(str(exc).strip("'\""))
        if args.format == "json":
            sys.stdout.write(result.model_dump_json(indent=indent) + "\n")
        else:
            sys.stdout.write(render_assessment(result) + "\n")
    return status
