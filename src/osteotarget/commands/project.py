"""`osteotarget project`: expected T-scores and the chance of reaching a target.

    osteotarget project --sex female --age 70 --site total_hip --t-score -3.0 \\
        --regimen romosozumab:12,denosumab:24 [--bmd 0.58] [--target -2.5] [--months 36] \\
        [--prior alendronate:60] [--format text|json]

--site/--t-score/--bmd may be repeated (paired by position) to project several sites;
the probability is then for all of them. Both --t-score and --bmd for a site must agree
(within reference.policy.tolerance_t). --prior's last drug, when it is the regimen's first
drug, is a course being continued: its months are the months already taken. Bad input
exits 2 with the argument named.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, cast

from osteotarget.commands._common import usage_error
from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Drug
from osteotarget.model.record import check_range
from osteotarget.projection import (
    PROJECTED_SITES,
    Baseline,
    ProjectedSite,
    Projection,
    RegimenError,
    TargetSpec,
    parse_regimen,
    project,
    regimen_label,
)
from osteotarget.projection.api import band_coverage
from osteotarget.projection.forecast import precision_percent, t_for_bmd
from osteotarget.projection.response import max_months


class _BadInput(ValueError):
    pass


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "project",
        help="expected T-scores of a regimen and the chance of reaching a target",
        description="Project a regimen (drug:months,…) from a baseline T-score or BMD.",
    )
    parser.add_argument("--sex", choices=("female", "male"), required=True)
    parser.add_argument("--age", type=float, required=True, help="age in years")
    parser.add_argument(
        "--site",
        action="append",
        choices=PROJECTED_SITES,
        required=True,
        help="site (repeat for several sites)",
    )
    parser.add_argument("--t-score", dest="t_score", action="append", type=float, default=None)
    parser.add_argument(
        "--bmd", action="append", type=float, default=None, help="baseline BMD, g/cm²"
    )
    parser.add_argument(
        "--regimen", required=True, help="drug:months,drug:months (last months optional)"
    )
    parser.add_argument("--target", type=float, default=None, help="target T-score (T > target)")
    parser.add_argument("--months", type=int, default=None, help="horizon in months")
    parser.add_argument(
        "--prior", default=None, help="prior therapy, drug:months,… (most recent last)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def _check(name: str, limits: str, value: float) -> None:
    """Range check against ``record_limits.<limits>`` (the record's own helper; NaN fails)."""
    try:
        check_range(limits, name, value)
    except ValueError as exc:
        raise _BadInput(str(exc)) from None


def _check_age(age: float) -> None:
    table = knowledge().table("responses.policy.age_years")
    low, high = float(table["min"]), float(table["max"])
    if not low <= age <= high:  # NaN fails too
        raise _BadInput(f"--age {age:g} is outside {low:g}…{high:g} years")


def _baselines(args: argparse.Namespace) -> list[Baseline]:
    sites = cast(list[ProjectedSite], args.site)
    t_scores: list[float] = args.t_score or []
    bmds: list[float] = args.bmd or []
    if len(set(sites)) != len(sites):
        raise _BadInput("--site: each site may be given once")
    if t_scores and len(t_scores) != len(sites):
        raise _BadInput(f"--t-score: {len(t_scores)} value(s) for {len(sites)} --site")
    if bmds and len(bmds) != len(sites):
        raise _BadInput(f"--bmd: {len(bmds)} value(s) for {len(sites)} --site")
    if not t_scores and not bmds:
        raise _BadInput("--t-score: give a baseline T-score (or --bmd) for each --site")
    tolerance = knowledge().number("reference.policy.tolerance_t")
    out: list[Baseline] = []
    for index, site in enumerate(sites):
        t = t_scores[index] if t_scores else None
        bmd = bmds[index] if bmds else None
        if t is not None:
            _check("--t-score", "t_score", t)
        if bmd is not None:
            _check("--bmd", "bmd_g_cm2", bmd)
            implied = t_for_bmd(site, bmd)
            if t is None:
                _check(f"--bmd (T-score {implied:.1f} implied)", "t_score", implied)
                t = implied
            elif abs(t - implied) > tolerance:
                raise _BadInput(
                    f"--t-score {t:g} and --bmd {bmd:g} disagree at {site}: the BMD implies "
                    f"T {implied:+.2f} (tolerance {tolerance:g}); give one or correct either"
                )
        assert t is not None
        if bmd is None:
            out.append(Baseline.from_t_score(site, t))
        else:
            out.append(Baseline(site, t, bmd, precision_percent(site)))
    return out


def _prior(text: str | None, first: Drug) -> tuple[Drug | None, int, list[str]]:
    """(previous drug, months of *first* already taken, assumptions) from ``--prior``.

    When the most recent prior drug is the regimen's first drug, the regimen continues
    that course: its months are the months already taken (``elapsed``) and the drug
    before it, if any, is the prior-therapy modifier.
    """
    if not text:
        return None, 0, []
    try:
        prior = parse_regimen(text)
    except RegimenError as exc:
        raise _BadInput(f"--prior: {exc}") from None
    drug, months = prior[-1]
    if drug != first:
        return drug, 0, [f"Prior therapy: most recent drug taken as {drug}."]
    previous = prior[-2][0] if len(prior) > 1 else None
    if months is None:
        return (
            previous,
            0,
            [f"Prior therapy: continuing {drug}; months already taken not given, counted as 0."],
        )
    notes = [f"Prior therapy: continuing {drug} after {months} months already taken."]
    if previous is not None:
        notes.append(f"Prior therapy: drug before {drug} taken as {previous}.")
    return previous, months, notes


def _text(
    projection: Projection, target: float, age: float, sex: str, assumptions: list[str]
) -> str:
    p = projection.probability_of_target
    band = band_coverage()
    lines = [
        f"Regimen: {regimen_label(projection.regimen)}",
        f"Patient: {sex}, {age:g} years (age and sex do not change the model; see assumptions)",
        f"Target: T-score > {target:g} at every site by month {projection.horizon_months}",
        "Probability of reaching the target: "
        + ("not projectable (no response data)" if p is None else f"{p:.0%}"),
    ]
    for site in projection.sites:
        sp = "n/a" if site.probability is None else f"{site.probability:.0%}"
        lines.append(f"  {site.site}: probability {sp}{'  ' + site.note if site.note else ''}")
        for point in site.points:
            lines.append(
                f"    month {point.month:>3}: T {point.t_score:+.2f} "
                f"({band:.0%} band {point.low:+.2f} to {point.high:+.2f}), "
                f"BMD {point.percent_change:+.1f}%"
            )
    for f in projection.fracture:
        flag = "" if f.within_published_points else " (extrapolated)"
        lines.append(
            f"Expected {f.outcome} fracture risk reduction: {f.relative_risk_reduction:.0%}"
            f"{flag} for total hip {f.total_hip_percent:+.1f}% [FNIH, {f.citation}]"
        )
    if projection.fracture:
        lines.extend(f"  caveat: {c}" for c in projection.fracture[0].caveats)
    lines.append("Assumptions:")
    lines.extend(f"  - {a}" for a in assumptions)
    lines.extend(f"  - {n}" for n in projection.notes)
    if projection.unverified:
        lines.append(f"Unverified inputs used: {len(projection.unverified)} (see --format json)")
    lines.append("Citations: " + ", ".join(projection.citations))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    kb = knowledge()
    target = (
        args.target
        if args.target is not None
        else kb.number("responses.policy.cli_defaults.target_t_score")
    )
    months = (
        args.months
        if args.months is not None
        else int(kb.number("responses.policy.cli_defaults.horizon_months"))
    )
    try:
        _check_age(args.age)
        _check("--target", "t_score", target)
        if not 0 < months <= max_months():
            raise _BadInput(f"--months {months} is outside 1…{max_months()}")
        try:
            regimen = parse_regimen(args.regimen)
        except RegimenError as exc:
            raise _BadInput(f"--regimen: {exc}") from None
        previous, elapsed, prior_notes = _prior(args.prior, regimen[0][0])
        baselines = _baselines(args)
    except _BadInput as exc:
        return usage_error(str(exc))
    projection = project(baselines, regimen, [TargetSpec(value=target)], months, previous, elapsed)
    assumptions = list(projection.assumptions)
    if args.sex == "male":
        assumptions.append(
            "Response data are from trials in postmenopausal women; applied to a man unchanged."
        )
    assumptions.extend(prior_notes)
    if args.format == "json":
        doc = projection.as_dict()
        doc["target"] = {"metric": "t_score", "operator": ">", "value": target}
        doc["patient"] = {"sex": args.sex, "age": args.age}
        doc["assumptions"] = assumptions
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_text(projection, target, args.age, args.sex, assumptions) + "\n")
    return 0
