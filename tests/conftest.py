"""Shared fixtures: the contract's example records (copied from shared/spec/examples)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).parent / "fixtures" / "spec_examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.json"))


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES_DIR
