"""`osteotarget simulate` end to end on a small synthetic cohort, and refused input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from osteotarget.cli import main

EXAMPLE_PRICES = Path(__file__).parents[2] / "src/osteotarget/simulation/prices.example.toml"


def test_simulate_writes_report_plots_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    code = main(
        [
            "simulate",
            "--synth",
            "300",
            "--years",
            "3",
            "--strategies",
            "step,t2t,anabolic_first_vhr",
            "--seed",
            "4",
            "--runs",
            "2",
            "--prices",
            str(EXAMPLE_PRICES),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads((out / "simulation.json").read_text())
    assert set(data["outcomes"]) == {"step", "t2t", "anabolic_first_vhr"}
    assert data["comparisons"]["t2t"]["versus"] == "step"
    assert "simulation.fracture.incidence.per_1000_at_50.hip" in data["unverified_inputs"]
    table = pl.read_parquet(out / "patients.parquet")
    assert table.height == 2 * 3 * data["cohort"]["patients"]
    for stem in ("share_at_target", "cumulative_fractures", "cost_vs_fractures_avoided"):
        assert (out / f"{stem}.png").stat().st_size > 0
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    html = (out / "report.html").read_text()
    assert "not a prediction for any patient" in html and "share_at_target.png" in html


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--synth", "10", "--years", "0", "--strategies", "step"], "--years 0"),
        (["--synth", "10", "--years", "2", "--strategies", "nonsense"], "nonsense"),
        (["--synth", "10", "--years", "2", "--strategies", "t2t:nope"], "nope"),
        (["--years", "2", "--strategies", "step"], "exactly one cohort"),
        (
            ["--synth", "10", "--years", "2", "--strategies", "step", "--adherence", "2"],
            "--adherence 2",
        ),
    ],
)
def test_bad_input_is_refused_with_the_value_named(
    args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", *args, "--out", str(tmp_path / "x")])
    assert code == 2
    assert named in capsys.readouterr().err


def test_bad_price_table_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[drug_per_month]\nalendronate = "cheap"\n')
    code = main(
        [
            "simulate",
            "--synth",
            "10",
            "--years",
            "1",
            "--strategies",
            "step",
            "--prices",
            str(prices),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "drug_per_month.alendronate" in capsys.readouterr().err
