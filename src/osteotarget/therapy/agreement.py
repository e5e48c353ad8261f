"""Options and alerts that agree with the pathway's decision (R7/R8 of the specialist review).

The options list is ranked before the pathway decides; once the pathway facts are known, an
anabolic is not ranked first (nor marked first-line) for a patient at the target, on or due a
bisphosphonate holiday, or below high risk (Hoong et al. BMJ 2025: the anabolic step is for
high-risk patients; Lewiecki 2021 Fig. 3: continue at target), or right after a completed
anabolic course (consolidation with an antiresorptive comes first: Cosman 2017); while a
correct-first state holds, the options are ranked as they would be after the correction and
each says so. The ``inadequate_response`` alert is kept only for adherent, high-risk
treatment (IOF 2012, Diez-Perez: response judged on adherent treatment; Hoong 2025: the rule
applies at high risk).
"""

from __future__ import annotations

from collections.abc import Mapping

from osteotarget.base.history import kind_of
from osteotarget.model.assessment import Alert
from osteotarget.therapy.options import Ranked

_HIGH = ("high", "very_high")


def anabolic_not_indicated(facts: Mapping[str, str]) -> str:
    """Why an anabolic is not a first choice now ("" if it may be)."""
    if facts.get("risk") not in _HIGH:
        return f"{facts.get('risk', '').replace('_', ' ')} risk: an anabolic is for high risk"
    if facts.get("course") == "holiday" or facts.get("review") == "holiday":
        return "bisphosphonate holiday: no anabolic while the holiday criteria hold"
    if facts.get("target") == "met":
        return "at the target: an anabolic is not indicated"
    if facts.get("course") == "anabolic_complete":
        # Lewiecki 2021 Fig. 3 / Cosman 2017 / Evenity and teriparatide labels: an anabolic
        # course is followed by an antiresorptive that consolidates the gain; another
        # anabolic course is not the next option.
        return "anabolic course complete: an antiresorptive consolidates the gain first"
    return ""


def agreeing_options(options: list[Ranked], facts: Mapping[str, str]) -> list[Ranked]:
    why = anabolic_not_indicated(facts)
    correct_first = facts.get("correct_first") == "yes"
    if not why and not correct_first:
        return options

    def usable(r: Ranked) -> bool:
        return r.option.eligible or (correct_first and r.correctable)

    def demoted(r: Ranked) -> bool:
        return bool(why) and kind_of(r.regimen.drugs[0]) == "anabolic"

    order = sorted(
        enumerate(options),
        key=lambda ir: (not usable(ir[1]), demoted(ir[1]), not ir[1].first_line, ir[0]),
    )
    out: list[Ranked] = []
    for rank, (_, r) in enumerate(order, 1):
        cautions = list(r.option.cautions)
        first_line = r.first_line
        if demoted(r):
            cautions.append(f"ranked lower: {why}")
            first_line = False
        if correct_first and usable(r):
            cautions.insert(0, "after correction (calcium, vitamin D) only")
        out.append(
            Ranked(
                r.regimen,
                r.option.model_copy(
                    update={"rank": rank, "first_line": first_line, "cautions": cautions}
                ),
                first_line,
                r.avoid,
                r.sequence,
                r.correctable,
            )
        )
    return out


def agreeing_alerts(alerts: list[Alert], facts: Mapping[str, str]) -> list[Alert]:
    """Drop ``inadequate_response`` on poor adherence or below high risk."""
    if facts.get("adherence") != "poor" and facts.get("risk") in _HIGH:
        return alerts
    return [al for al in alerts if al.code != "inadequate_response"]
