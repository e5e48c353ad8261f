"""Profiles as data, the knowledge behind the engine, the CLI doors and the house rules."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from osteotarget.cli import main
from osteotarget.engine import (
    DEFAULT_PROFILE,
    assess,
    assess_with_profile,
    list_profiles,
    load_profile,
)
from osteotarget.knowledge import knowledge
from osteotarget.knowledge.docgen import render
from osteotarget.model import load_path

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "spec_examples"
SRC = Path(__file__).parents[2] / "src" / "osteotarget"
REQUIRED = {"aace2020", "endocrine2020", "bhof2022", "iof_esceo2020", "nogg2022", "t2t2024"}


def test_required_profiles_exist_and_default() -> None:
    assert set(list_profiles()) >= REQUIRED
    assert DEFAULT_PROFILE == "t2t2024"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_profile_settings_resolve(name: str) -> None:
    p = load_profile(name)
    for path in (
        "targets.reasonable_period_months",
        "anabolic.pth_lifetime_months",
        "anabolic.romosozumab_max_months",
        "holiday.oral_review_years",
        "monitoring.dxa_interval_months",
        "response.total_hip_min_gain_t",
    ):
        q = p.quantity(path)
        assert q.cite in knowledge().citations
    assert p.get("risk.rules")
    assert p.get("anabolic.romosozumab_cv_rule") in ("any_history", "past_year")
    assert p.get("response.adequate_needs") in ("target_site", "hip_or_spine", "hip_and_spine")


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="t2t2024"):
        load_profile("nope")


def test_and_or_flag_changes_the_three_year_rule() -> None:
    """Hoong et al. BMJ 2025 gains judged at the target site (default) or at either site
    (`adequate_needs = "hip_or_spine"`): both fall short here, so both readings agree."""
    patient = load_path(EXAMPLES / "alendronate-inadequate-response.json")[0]
    assert not isinstance(patient, Exception)
    base = load_profile("t2t2024")
    response = dict(base.data["response"], adequate_needs="hip_or_spine")
    strict = dataclasses.replace(base, data={**base.data, "response": response})
    a = assess_with_profile(patient, date(2024, 4, 1), strict)
    assert "inadequate_response" in {al.code for al in a.alerts}  # both sites fall short


def test_unverified_inputs_listed() -> None:
    patient = load_path(EXAMPLES / "denosumab-overdue.json")[0]
    assert not isinstance(patient, Exception)
    a = assess(patient, date(2026, 11, 23))
    assert "rules.monitoring.denosumab.overdue_after_months" in a.unverified_inputs


def test_docgen_lists_every_number() -> None:
    kb = knowledge()
    text = render(kb)
    for path in kb.quantities:
        assert f"| {path} |" in text
    for name in REQUIRED:
        assert f"Profile `{name}`" in text


def test_no_decimal_literal_comparisons_in_engine_code() -> None:
    pattern = re.compile(r"(<|>|<=|>=|==)\s*-?[0-9]+\.[0-9]+")
    owned = ["engine", "risk", "therapy", "plan", "targets.py"]
    for part in owned:
        root = SRC / part
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for file in files:
            for n, line in enumerate(file.read_text().splitlines(), 1):
                assert not pattern.search(line), f"{file}:{n}: {line.strip()}"


def test_cli_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "t2t2024 (default)" in out
    assert main(["profiles", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= REQUIRED


def test_cli_assess_text_and_compare(capsys: pytest.CaptureFixture[str]) -> None:
    record = str(EXAMPLES / "recent-hip-fracture-ckd.json")
    assert main(["assess", record, "--as-of", "2025-01-15"]) == 0
    out = capsys.readouterr().out
    assert "Why (rules that fired, in order):" in out and "consider" in out
    assert main(["assess", record, "--as-of", "2025-01-15", "--compare-profiles"]) == 0
    out = capsys.readouterr().out
    assert "Profile comparison" in out and "iof_esceo2020" in out
    assert (
        main(["assess", record, "--as-of", "2025-01-15", "--compare-profiles", "--format", "json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert len(data["profiles"]) == len(list_profiles())


def test_cli_refuses_as_of_before_last_event(capsys: pytest.CaptureFixture[str]) -> None:
    record = str(EXAMPLES / "recent-hip-fracture-ckd.json")
    assert main(["assess", record, "--as-of", "2024-01-01"]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["assess", record, "--as-of", "2025-01-15", "--profile", "nope"]) == 2


@pytest.mark.parametrize(
    "module",
    [
        "osteotarget.risk.frax",
        "osteotarget.therapy.options",
        "osteotarget.plan.next_step",
        "osteotarget.targets",
    ],
)
def test_core_modules_import_first_without_a_cycle(module: str) -> None:
    """Any core module can be imported first (a fresh interpreter) without an import cycle."""
    code = f"import {module}; from osteotarget.engine import assess; print(assess.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _rules(profile: str) -> list[dict[str, Any]]:
    return list(knowledge().table(f"profiles.{profile}")["risk"]["rules"])


@pytest.mark.parametrize("profile", ["iof_esceo2020", "nogg2022"])
def test_european_t_score_rule_verified_only_at_neck_or_spine(profile: str) -> None:
    """Kanis 2019 [V]: FN or spine T ≤ −2.5; a total-hip rule, if kept, is unverified."""
    for rule in _rules(profile):
        if rule["criterion"] == "t_score" and rule.get("evidence") == "verified":
            assert "total_hip" not in rule.get("sites", ["total_hip"])


def test_bhof_very_high_tier_is_not_verified() -> None:
    """BHOF 2022 defines only who to treat; a very-high tier is the profile's reading."""
    for rule in _rules("bhof2022"):
        if rule["category"] == "very_high":
            assert rule["evidence"] != "verified" and "BHOF defines only" in rule["label"]


def test_t2t_post_fracture_target_unverified_task_force() -> None:
    rules = knowledge().table("profiles.t2t2024")["targets"]["t_score_rules"]
    post = next(r for r in rules if r["when"] == "hip_or_vertebral_fracture")
    assert post["evidence"] == "unverified" and post["cite"] == "cosman2024"
    started = next(r for r in rules if r["when"] == "baseline_at_or_below")
    assert started["value"] == -2.0 and started["cite"] == "lewiecki2021"


def test_expected_total_hip_one_basis() -> None:
    """data.md §1: absolute mean % change from baseline for every regimen."""
    for key, entry in knowledge().table("drugs.regimens").items():
        expected = entry.get("expected_total_hip_percent")
        if expected is not None:
            assert expected["unit"] == "%", key


def test_default_first_line_matches_acp() -> None:
    """ACP 2023 (Qaseem): bisphosphonate first; romosozumab or teriparatide then a
    bisphosphonate only at very high risk; denosumab second line (not first-line)."""
    defaults = knowledge().table("rules.profile_defaults")["first_line"]
    assert defaults["citations"] == ["qaseem2023"]
    assert "denosumab" not in defaults["high"] and "denosumab" not in defaults["very_high"]
    for key in defaults["very_high"]:
        steps = [s["drug"] for s in knowledge().table(f"drugs.regimens.{key}")["steps"]]
        assert steps[-1] in ("alendronate", "risedronate", "zoledronate", "ibandronate")


def test_pth_beyond_limit_is_keyed_by_drug() -> None:
    for name in list_profiles():
        profile = load_profile(name)
        assert profile.get("anabolic.pth_beyond_limit") is None
        assert profile.get("anabolic.teriparatide_beyond_limit") in ("never", "if_high_risk")
        assert profile.get("anabolic.abaloparatide_beyond_limit") == "never"


def test_t2t_romosozumab_rule_documented_any_history() -> None:
    assert load_profile("t2t2024").get("anabolic.romosozumab_cv_rule") == "any_history"
    text = (SRC / "knowledge" / "profiles" / "t2t2024.toml").read_text()
    assert "§9.7" in text
