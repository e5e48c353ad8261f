"""`osteotarget simulate (FILE|--synth N) --years Y --strategies step,t2t[,...] [--seed S]
--out DIR`: a reproducible microsimulation of treatment strategies over a cohort
(docs/simulation.md)."""

from __future__ import annotations

import argparse
import sys
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from osteotarget.commands._common import iso_date, usage_error


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "simulate", help="simulate treatment strategies over a cohort (research, not care)"
    )
    parser.add_argument("file", nargs="?", type=Path, help="cohort file (.ndjson or .parquet)")
    parser.add_argument("--synth", type=int, default=None, help="a synthetic cohort of N patients")
    parser.add_argument("--registry", default=None, help="read the cohort from the registry URL")
    parser.add_argument("--years", type=int, required=True, help="horizon in years")
    parser.add_argument(
        "--strategies",
        required=True,
        help="comma-separated: step, t2t, t2t:<profile>, or a named variant",
    )
    parser.add_argument(
        "--strategy-file", type=Path, default=None, help="TOML with [strategies.<name>] tables"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    parser.add_argument("--runs", type=int, default=1, help="repeated runs for intervals")
    parser.add_argument(
        "--prices", type=Path, default=None, help="TOML price table (your own prices)"
    )
    parser.add_argument(
        "--adherence", type=float, default=None, help="share adherent to oral drugs (0-1)"
    )
    parser.add_argument(
        "--discontinuation", type=float, default=None, help="share stopping per year (0-1)"
    )
    parser.add_argument("--as-of", type=iso_date, default=None, help="cohort date (default: today)")
    parser.add_argument("--pdf", action="store_true", help="also write report.pdf")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.set_defaults(run=run)


def _check(args: argparse.Namespace) -> str | None:
    sources = sum(x is not None for x in (args.file, args.synth, args.registry))
    if sources != 1:
        return "give exactly one cohort: FILE, --synth N or --registry URL"
    if args.synth is not None and args.synth < 1:
        return f"--synth {args.synth}: must be 1 or more"
    if not 1 <= args.years <= 20:  # noqa: knowledge (projection grid is 240 months)
        return f"--years {args.years}: must be 1 to 20"
    if args.runs < 1:
        return f"--runs {args.runs}: must be 1 or more"
    for name, value in (
        ("--adherence", args.adherence),
        ("--discontinuation", args.discontinuation),
    ):
        if value is not None and not 0.0 <= value <= 1.0:  # noqa: knowledge (a share)
            return f"{name} {value}: must be between 0 and 1"
    return None


def run(args: argparse.Namespace) -> int:
    from osteotarget.simulation.api import simulate, write_outputs
    from osteotarget.simulation.cohort import file_cohort, synth_cohort
    from osteotarget.simulation.model import Options
    from osteotarget.simulation.outcomes import PriceError, load_prices
    from osteotarget.simulation.params import resolve_strategy

    problem = _check(args)
    if problem:
        return usage_error(problem)
    extra = None
    if args.strategy_file is not None:
        try:
            extra = dict(
                tomllib.loads(args.strategy_file.read_text(encoding="utf-8")).get("strategies", {})
            )
        except tomllib.TOMLDecodeError as exc:
            return usage_error(f"--strategy-file '{args.strategy_file}': not TOML ({exc})")
    try:
        strategies = [
            resolve_strategy(s.strip(), extra) for s in args.strategies.split(",") if s.strip()
        ]
    except (ValueError, KeyError) as exc:
        return usage_error(f"--strategies '{args.strategies}': {exc}")
    if not strategies:
        return usage_error("--strategies: give at least one strategy")
    try:
        prices = load_prices(args.prices) if args.prices is not None else None
    except PriceError as exc:
        return usage_error(f"--prices: {exc}")
    as_of = args.as_of or date.today()
    cohort = (
        synth_cohort(args.synth, args.seed, as_of)
        if args.synth is not None
        else file_cohort(args.file, as_of, args.registry)
    )
    if cohort.n == 0:
        return usage_error("cohort: no patient with a total-hip T-score")
    options = Options(
        years=args.years,
        seed=args.seed,
        oral_adherent_share=args.adherence,
        annual_discontinuation=args.discontinuation,
    )
    result = simulate(cohort, strategies, options, runs=args.runs, prices=prices)
    written = write_outputs(result, args.out, pdf=args.pdf)
    print(
        f"osteotarget: simulated {cohort.n} patients; wrote {len(written)} files to {args.out}",
        file=sys.stderr,
    )
    return 0
