"""Shared pieces of the next-step rules: the result holder, one recommendation builder and
the wording helpers every branch uses. Every recommendation supports a clinician
("consider …"); none prescribes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from osteotarget.base.history import drug_info
from osteotarget.model.assessment import Action, Alert, Recommendation, RegimenStep, built
from osteotarget.plan.pathway import Row
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety


@dataclass
class NextStep:
    recommendations: list[Recommendation] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    changed_therapy: bool = False
    chosen: Ranked | None = None
    stops: set[str] = field(default_factory=set)
    """Drugs the plan stops (holiday, course limit, denosumab stopped, a switch or an
    escalation away from the current drug): no next dose of these is scheduled."""
    row: Row | None = None
    """The pathway row that chose the primary action."""
    facts: dict[str, str] = field(default_factory=dict)
    """The pathway facts the row was chosen on."""


def rec(
    action: Action,
    rationale: str,
    citations: Iterable[str],
    *,
    regimen: Sequence[RegimenStep] | Ranked | str | None = None,
    when: date | None = None,
) -> Recommendation:
    """One recommendation: *regimen* may be a ranked option, a drug name or steps."""
    steps: list[RegimenStep] | None
    if isinstance(regimen, Ranked):
        steps = list(regimen.regimen.steps)
    elif isinstance(regimen, str):
        steps = [RegimenStep(drug=regimen)]
    else:
        steps = list(regimen) if regimen is not None else None
    # Built from values of the declared types (the plan's own words, dates and steps): not
    # validated again.
    return built(
        Recommendation,
        action=action,
        regimen=steps,
        when=when,
        rationale=rationale,
        citations=list(dict.fromkeys(citations)),
    )


def label(r: Ranked) -> str:
    return r.regimen.label()


def why_option(r: Ranked) -> str:
    o = r.option
    if o.probability_of_target is not None:
        return (
            f"{o.probability_of_target:.0%} projected chance of reaching the target in "
            f"{o.horizon_months} months"
        )
    e = r.regimen.expected_total_hip
    if e is not None:
        return (
            f"ranked by expected response (mean total-hip +{e.value:g}% at "
            f"{r.regimen.expected_months} months; projection unavailable)"
        )
    return "ranked by expected response (no published total-hip figure on file)"


_CORRECT_FIRST = {
    "hypocalcaemia": "calcium correction",
    "vitamin_d_low": "vitamin D repletion",
}


def correct_first(chosen: Ranked, safety: dict[str, DrugSafety]) -> list[str]:
    """Corrections due before *chosen* can start. Hypocalcaemia over every drug of the
    regimen: a sequence whose follow-on is excluded for low calcium is not eligible as a
    whole either (Prolia/Reclast labels: correct hypocalcaemia first). Low vitamin D only
    for the first drug: a follow-on starts months later, time enough for repletion, so it
    does not delay the start (e.g. romosozumab now, vitamin D replete before denosumab)."""
    found: set[str] = set()
    for index, drug in enumerate(dict.fromkeys(chosen.regimen.drugs)):
        s = safety.get(drug)
        if s is not None:
            codes = _CORRECT_FIRST if index == 0 else ("hypocalcaemia",)
            found.update(code for code in codes if code in s.by_code)
    return [words for code, words in _CORRECT_FIRST.items() if code in found]


def adherence_check(drug: str) -> str:
    """What "check adherence" means for *drug*'s route (knowledge drugs.toml ``route``): how
    an oral drug is taken (dosing technique, absorption); for an infusion or an injection,
    whether the doses were given on schedule."""
    route = str(drug_info(drug).get("route", ""))
    if route == "oral":
        return f"adherence and how {drug} is taken (dosing technique, absorption)"
    if route == "intravenous":
        return f"that the {drug} infusions were given as scheduled"
    if route == "subcutaneous":
        return f"that the {drug} injections were given on schedule"
    return f"adherence to {drug}"
