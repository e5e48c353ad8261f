"""The hazard log's evidence exists: every test it names is a test in this repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "safety" / "hazards.md"


def test_every_test_the_hazard_log_names_exists() -> None:
    text = LOG.read_text(encoding="utf-8")
    current = ""
    named = 0
    for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::)?(test_\w+)?`", text):
        path, test = match.groups()
        if path:
            current = path
            assert (ROOT / path).is_file(), path
        if test:
            assert current, test
            source = (ROOT / current).read_text(encoding="utf-8")
            assert re.search(rf"def {test}\b", source), f"{current}::{test}"
            named += 1
    assert named >= 30
    for hazard in range(1, 13):
        assert f"### H{hazard} " in text
