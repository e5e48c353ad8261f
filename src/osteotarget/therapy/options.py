"""Options: every candidate regimen with its eligibility for this patient, ranked by the
profile's first-line policy and by the chance of reaching the target.

The chance comes from :func:`osteotarget.projection.forecast_options`. While the
projection is unavailable the options are ranked by the published expected total-hip
response instead, and each option says so (``basis = "expected_response"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History
from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import Option, Risk, Target, built, rebuilt
from osteotarget.projection import forecast_options
from osteotarget.therapy.catalogue import Regimen, regimens
from osteotarget.therapy.safety import DrugSafety, drug_safety, lab_state
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
    ctx: Context, candidates: list[Regimen], targets: list[Target], horizon: int
) -> list[Option] | None:
    try:
        projected = forecast_options(
            ctx.patient,
            ctx.as_of,
            ctx.densitometry,
            [list(r.steps) for r in candidates],
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
    long denosumab gap): options are then ranked by expected response and say so."""
    candidates = list(_candidates())
    horizon = int(ctx.setting("targets.reasonable_period_months").value)
    first_line: list[str] = list(ctx.profile.get(f"first_line.{risk.category}", []))
    projected = _projected(ctx, candidates, targets, horizon) if project else None
    if not project:
        ctx.fired(
            "options.basis",
            "not projected: the last DXA precedes a long gap in denosumab (bone loss after "
            "stopping is not modelled); options ranked by expected response; a DXA is needed",
            ["tsourdi2021", "lewiecki2021"],
        )
    primary = next((t.site for t in targets if t.site is not None), None)
    prior = history.drugs_taken()
    ranked: list[Ranked] = []
    for index, reg in enumerate(candidates):
        excluded: list[str] = []
        cautions: list[str] = []
        cites: list[str] = []
        correctable = True
        for drug in dict.fromkeys(reg.drugs):
            s = safety[drug]
            fixable = {t for code in _CORRECTABLE for t in s.by_code.get(code, [])}
            correctable = correctable and all(t in fixable for t in s.excluded)
            excluded += [f"{drug}: {t}" for t in s.excluded]
            cautions += [f"{drug}: {t}" for t in s.cautions]
            cites += s.citations
        seq = sequence_cautions([d for d in prior if d not in reg.drugs[:1]], reg.drugs)
        avoid = any(c.severity == "avoid" for c in seq)
        cautions += [f"sequence: {c.text}" for c in seq]
        cites += [c for s in seq for c in s.citations]
        if projected is not None:
            base = projected[index]
            probability = base.probability_of_target
            points = list(base.projected_t_scores)
            basis: Basis = "projection"
            cites = [*base.citations, *cites]
        else:
            probability, points, basis = None, [], "expected_response"
            if reg.expected_total_hip is not None:
                cites.insert(0, reg.expected_total_hip.cite)
                ctx.note_evidence(
                    f"drugs.regimens.{reg.key}.expected_total_hip_percent",
                    reg.expected_total_hip.evidence,
                )
        at_horizon = [p for p in points if p.site == primary and p.month <= horizon]
        expected_t = max(at_horizon, key=lambda p: p.month).t_score if at_horizon else None
        # Built from values of the declared types (the projected points are validated
        # already): not validated again.
        option = built(
            Option,
            expected_t_at_horizon=expected_t,
            expected_t_site=primary if expected_t is not None else None,
            regimen=list(reg.steps),
            probability_of_target=probability,
            horizon_months=horizon,
            projected_t_scores=points,
            eligible=not excluded,
            excluded_because=excluded,
            cautions=cautions,
            basis=basis,
            citations=list(dict.fromkeys(cites)),
        )
        ranked.append(
            Ranked(
                reg,
                option,
                reg.key in first_line,
                avoid,
                tuple(seq),
                bool(excluded) and correctable,
            )
        )

    by_preference = ctx.profile.get("first_line.order") == "preference"

    def key(r: Ranked) -> tuple[bool, bool, bool, int, float, float]:
        order = first_line.index(r.regimen.key) if r.first_line and by_preference else 0
        probability = -(r.option.probability_of_target or 0.0)
        expected = r.regimen.expected_total_hip
        response = -expected.value if expected is not None else 0.0
        return (not r.option.eligible, not r.first_line, r.avoid, order, probability, response)

    ranked.sort(key=key)
    out: list[Ranked] = []
    for rank, r in enumerate(ranked, 1):
        out.append(
            Ranked(
                r.regimen,
                rebuilt(r.option, rank=rank, first_line=r.first_line),
                r.first_line,
                r.avoid,
                r.sequence,
                r.correctable,
            )
        )
    return out
