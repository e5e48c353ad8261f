"""`osteotarget profiles`: list the guideline profiles (name, title, what sets them apart)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from osteotarget.engine import DEFAULT_PROFILE, list_profiles, load_profile


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("profiles", help="list guideline profiles")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in list_profiles():
        p = load_profile(name)
        rows.append(
            {
                "name": name,
                "default": name == DEFAULT_PROFILE,
                "title": p.title,
                "description": p.description,
                "first_line": str(p.get("first_line.policy", "")),
                "response_rule": str(p.get("response.rule", "")),
                "escalation": str(p.get("response.escalation", "")),
                "romosozumab_cv_rule": str(p.get("anabolic.romosozumab_cv_rule", "")),
                "citations": list(p.citations),
            }
        )
    if getattr(args, "format", "text") == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = " (default)" if row["default"] else ""
        print(f"{row['name']}{mark}: {row['title']}")
        print(f"    {row['description']}")
        print(
            f"    first line: {row['first_line']}; response rule: {row['response_rule']} "
            f"→ {row['escalation']}; romosozumab CV rule: {row['romosozumab_cv_rule']}"
        )
    return 0
