"""Options: every candidate regimen with its eligibility for this patient, ranked by the
profile's first-line policy and by the chance of reaching the target.

The chance comes from :func:`osteotarget.projection.forecast_options`. While the
projection is unavailable the options are ranked by the published expected total-hip
response instead, and each option says so (``basis = "expected_response"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History
from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import Option, Risk, Target, built_whole, projected_points
from osteotarget.model.codes import Site
from osteotarget.projection.options import ProjectedNumbers, forecast_numbers
from osteotarget.therapy.catalogue import Regimen, regimens
from osteotarget.therapy.safety import (
    DrugSafety,
    drug_safety,
    lab_state,
    regimen_course_limits,
)
from osteotarget.therapy.sequencing import SequenceCaution, sequence_cautions


@dataclass(frozen=True, slots=True)
class Ranked:
    regimen: Regimen
    option: Option
    first_line: bool
    avoid: bool
    sequence: tuple[SequenceCaution, ...] = ()
    correctable: bool = False
    """Excluded only for reasons corrected before a start (low calcium, low vitamin D)."""


_CORRECTABLE = ("hypocalcaemia", "vitamin_d_low")
Basis = Literal["projection", "expected_response"]


@cache
def _candidates() -> tuple[Regimen, ...]:
    """The candidate regimens: a pure function of the knowledge base (loaded once per
    process, immutable), so built once; Regimen and its steps are frozen."""
    return tuple(regimens())


@cache
def _safety_drugs() -> tuple[str, ...]:
    """Every drug judged for safety, sorted (a pure function of the knowledge base)."""
    drugs = {d for r in _candidates() for d in r.drugs} | set(knowledge().table("drugs.drugs"))
    return tuple(sorted(drugs))


def safety_by_drug(ctx: Context, facts: Facts, history: History) -> dict[str, DrugSafety]:
    if ctx.kb is not knowledge():
        drugs = sorted({d for r in regimens() for d in r.drugs} | set(ctx.kb.table("drugs.drugs")))
    else:
        drugs = list(_safety_drugs())
    if not drugs:
        return {}
    # The lab state is the same for every drug: judged once, not once per drug.
    labs = lab_state(ctx, facts)
    return {d: drug_safety(ctx, facts, history, d, labs) for d in drugs}


def _projected(
    ctx: Context, candidates: tuple[Regimen, ...], targets: list[Target], horizon: int
) -> list[ProjectedNumbers] | None:
    try:
        projected = forecast_numbers(
            ctx.patient,
            ctx.as_of,
            ctx.densitometry,
            [r.steps for r in candidates],
            targets,
            horizon,
        )
    except NotImplementedError:
        ctx.fired(
            "options.basis",
            "projection model not available: options ranked by published expected total-hip "
            "response (trial durations differ), not by the chance of reaching the target",
            ["cummings2013", "lewiecki2021"],
        )
        return None
    except (ValueError, KeyError, ArithmeticError) as exc:
        ctx.fired(
            "options.basis",
            f"projection failed for this record ({exc}); options ranked by expected response",
            ["cummings2013"],
        )
        return None
    if len(projected) != len(candidates):
        ctx.fired("options.basis", "projection returned a different number of options; ignored")
        return None
    ctx.fired(
        "options.basis",
        "options ranked by the projected chance of reaching the target within the reasonable "
        "period",
        ["cummings2013", "lewiecki2021", "cosman2024"],
        horizon_months=horizon,
    )
    return projected


@dataclass(slots=True)
class _Candidate:
    """One regimen judged for this patient, before it is ranked and its Option built."""

    regimen: Regimen
    numbers: ProjectedNumbers | None
    excluded: list[str]
    cautions: list[str]
    citations: list[str]
    first_line: bool
    avoid: bool
    sequence: tuple[SequenceCaution, ...]
    correctable: bool
    leading: tuple[str, ...] = ()
    """Citations of a profile first-line preference that applied (shown first)."""


def _judged(
    reg: Regimen,
    numbers: ProjectedNumbers | None,
    safety: dict[str, DrugSafety],
    prior: Sequence[str],
    first_line: Sequence[str],
) -> _Candidate:
    """*reg*'s exclusions, cautions and citations from the per-drug safety and the sequence."""
    excluded: list[str] = []
    cautions: list[str] = []
    cites: list[str] = []
    correctable = True
    for drug in dict.fromkeys(reg.drugs):
        s = safety[drug]
        if s.excluded:
            fixable = {t for code in _CORRECTABLE for t in s.by_code.get(code, [])}
            correctable = correctable and all(t in fixable for t in s.excluded)
            excluded += [f"{drug}: {t}" for t in s.excluded]
        cautions += [f"{drug}: {t}" for t in s.cautions]
        cites += s.citations
    for action, text, cite in regimen_course_limits(reg.steps, safety):
        (excluded if action == "exclude" else cautions).append(text)
        correctable = correctable and action != "exclude"
        cites.append(cite)
    seq = sequence_cautions([d for d in prior if d not in reg.drugs[:1]], reg.drugs)
    cautions += [f"sequence: {c.text}" for c in seq]
    cites += [c for s in seq for c in s.citations]
    return _Candidate(
        reg,
        numbers,
        excluded,
        cautions,
        cites,
        reg.key in first_line,
        any(c.severity == "avoid" for c in seq),
        tuple(seq),
        bool(excluded) and correctable,
    )


def _after_hip_fracture(
    ctx: Context, facts: Facts, first_line: list[str]
) -> tuple[list[str], str, list[str]]:
    """A profile first-line preference after a recent hip fracture (``first_line.
    after_recent_hip_fracture``: ``prefer`` moves ahead of every regimen in ``ahead_of``
    in the profile's first-line order). HORIZON-RFT (Lyles 2007): zoledronic acid after hip
    fracture reduced new clinical fractures and mortality; NOGG 2022 / five-nations consensus
    (Johansen 2023): consider IV zoledronate after a hip fracture. The window is the
    profile's imminent-risk window."""
    unchanged: tuple[list[str], str, list[str]] = (first_line, "", [])
    rule = ctx.profile.get("first_line.after_recent_hip_fracture")
    if not rule:
        return unchanged
    prefer = str(rule["prefer"])
    if prefer not in first_line:
        return unchanged
    months = ctx.setting("imminent.recent_fracture_months").value
    if not any(f.site == "hip" for f in facts.fractures_since(months)):
        return unchanged
    ahead_of = [first_line.index(k) for k in rule.get("ahead_of", []) if k in first_line]
    at = min(ahead_of, default=first_line.index(prefer))
    if at >= first_line.index(prefer):
        return unchanged
    reordered = [k for k in first_line if k != prefer]
    reordered.insert(at, prefer)
    cites = [str(rule["cite"]), *[str(c) for c in rule.get("citations", [])]]
    ctx.note_evidence(
        f"profiles.{ctx.profile.name}.first_line.after_recent_hip_fracture",
        str(rule.get("evidence", "unverified")),
    )
    ctx.fired(
        "options.after_hip_fracture",
        f"hip fracture within {months:g} months: {prefer} ranked ahead of "
        + ", ".join(k for k in rule.get("ahead_of", []) if k in first_line)
        + f" (profile {ctx.profile.name} first-line preference)",
        cites,
    )
    return reordered, prefer, cites


def _expected_t(
    rows: Sequence[tuple[int, Site, float, float, float]] | tuple[()],
    primary: Site | None,
    horizon: int,
) -> float | None:
    """The primary site's projected T-score at the latest month within the horizon."""
    expected_t: float | None = None
    latest = -1
    for month, site, t_score, _, _ in rows:
        if site == primary and latest < month <= horizon:
            latest, expected_t = month, t_score
    return expected_t


def _nothing_likely(
    ctx: Context, judged: list[_Candidate], primary: Site | None, horizon: int
) -> dict[tuple[bool, bool, bool], tuple[float, float]] | None:
    """Per ranking group (excluded, not first-line, avoid): the best projected probability and
    the change margin, for the groups where no option reaches the profile's
    ``first_line.likely_probability`` (None: the profile sets no such reading)."""
    if "likely_probability" not in (ctx.profile.get("first_line") or {}):
        return None
    likely = ctx.setting("first_line.likely_probability").value
    margin = ctx.setting("change.min_probability_gain").value
    best: dict[tuple[bool, bool, bool], float] = {}
    for c in judged:
        if c.numbers is None or _expected_t(c.numbers.points, primary, horizon) is None:
            continue
        group = (bool(c.excluded), not c.first_line, c.avoid)
        best[group] = max(best.get(group, 0.0), c.numbers.probability_of_target or 0.0)
    return {g: (p, margin) for g, p in best.items() if p < likely}


def rank_options(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    targets: list[Target],
    safety: dict[str, DrugSafety],
    *,
    project: bool = True,
) -> list[Ranked]:
    """*project*: False when the record cannot be projected (e.g. the last scan precedes a
    long denosumab gap): options are then ranked by expected response and say so.

    Each regimen is judged and ranked on its numbers first; its Option (with the projected
    points) is built once, with its rank."""
    candidates = _candidates()
    horizon = int(ctx.setting("targets.reasonable_period_months").value)
    first_line, preferred, preferred_cites = _after_hip_fracture(
        ctx, facts, list(ctx.profile.get(f"first_line.{risk.category}", []))
    )
    projected = _projected(ctx, candidates, targets, horizon) if project else None
    if not project:
        ctx.fired(
            "options.basis",
            "not projected: the last DXA precedes a long gap in denosumab (bone loss after "
            "stopping is not modelled); options ranked by expected response; a DXA is needed",
            ["tsourdi2021", "lewiecki2021"],
        )
    prior = history.drugs_taken()
    judged = [
        _judged(reg, projected[i] if projected is not None else None, safety, prior, first_line)
        for i, reg in enumerate(candidates)
    ]
    by_preference = ctx.profile.get("first_line.order") == "preference"
    primary = next((t.site for t in targets if t.site is not None), None)
    unlikely = _nothing_likely(ctx, judged, primary, horizon) if not by_preference else None

    def key(c: _Candidate) -> tuple[bool, bool, bool, int, bool, float, float, float]:
        order = first_line.index(c.regimen.key) if c.first_line and by_preference else 0
        p = c.numbers.probability_of_target if c.numbers is not None else None
        expected = c.regimen.expected_total_hip
        response = -expected.value if expected is not None else 0.0
        # Nothing likely to reach the target: probabilities within the change margin of the
        # group's best are not materially different; the option closest to the target
        # (expected T at the horizon) leads among them, so the recommendation is the option
        # the text calls closest.
        group = (bool(c.excluded), not c.first_line, c.avoid)
        tier, closeness = False, 0.0
        if unlikely is not None and group in unlikely:
            tier = (p or 0.0) < unlikely[group][0] - unlikely[group][1]
            t = _expected_t(c.numbers.points, primary, horizon) if c.numbers else None
            closeness = -t if t is not None else float("inf")
        return (*group, order, tier, closeness, -(p or 0.0), response)

    out: list[Ranked] = []
    for rank, c in enumerate(sorted(judged, key=key), 1):
        if preferred and c.regimen.key == preferred:
            c.leading = tuple(preferred_cites)
        out.append(
            Ranked(
                c.regimen,
                _option(ctx, c, rank, primary, horizon),
                c.first_line,
                c.avoid,
                c.sequence,
                c.correctable,
            )
        )
    return out


def _option(ctx: Context, c: _Candidate, rank: int, primary: Site | None, horizon: int) -> Option:
    """The Option of a judged regimen at its *rank*, built once from values of the declared
    types (the projected numbers are converted already): not validated again."""
    reg, cites = c.regimen, c.citations
    if c.numbers is not None:
        probability = c.numbers.probability_of_target
        rows = c.numbers.points
        basis: Basis = "projection"
        cites = [*c.leading, *c.numbers.citations, *cites]
    else:
        probability, rows, basis = None, (), "expected_response"
        cites = [*c.leading, *cites]
        if reg.expected_total_hip is not None:
            cites.insert(len(c.leading), reg.expected_total_hip.cite)
            ctx.note_evidence(
                f"drugs.regimens.{reg.key}.expected_total_hip_percent",
                reg.expected_total_hip.evidence,
            )
    expected_t = _expected_t(rows, primary, horizon)
    return built_whole(
        Option,
        {
            "regimen": list(reg.steps),
            "probability_of_target": probability,
            "horizon_months": horizon,
            "projected_t_scores": projected_points(rows),
            "eligible": not c.excluded,
            "excluded_because": c.excluded,
            "cautions": c.cautions,
            "rank": rank,
            "first_line": c.first_line,
            "basis": basis,
            "citations": list(dict.fromkeys(cites)),
            "expected_t_at_horizon": expected_t,
            "expected_t_site": primary if expected_t is not None else None,
        },
    )
