"""Each next step once by meaning (R13 of the specialist review: no repeated corrections or
work-ups). A supporting step (investigate, add) is left out when an earlier supporting step
already asks for everything it asks for: the same correction (calcium, vitamin D repletion) or the
secondary-cause work-up. A step that names a drug, a date or a change is never left out."""

from __future__ import annotations

from osteotarget.model.assessment import Recommendation

# What a step asks for, read from the words the plan modules write (plan/next_step.py,
# plan/workup.py): a topic is asked for when one of its phrases appears.
_TOPICS: dict[str, tuple[str, ...]] = {
    "correct_calcium": ("correcting (calcium", "correcting hypocalcaemia"),
    "replete_vitamin_d": ("vitamin d repletion",),
    "secondary_cause_workup": ("secondary-cause work-up", "work-up for secondary causes"),
}
_SUPPORTING = ("investigate", "add")


def topics(rec: Recommendation) -> set[str]:
    text = rec.rationale.lower()
    return {topic for topic, phrases in _TOPICS.items() if any(p in text for p in phrases)}


def distinct_steps(recs: list[Recommendation]) -> list[Recommendation]:
    covered: set[str] = set()
    out: list[Recommendation] = []
    for r in recs:
        asked = topics(r)
        repeat = (
            r.action in _SUPPORTING
            and not r.regimen
            and r.when is None
            and bool(asked)
            and asked <= covered
        )
        if repeat:
            continue
        if r.action in _SUPPORTING:
            # Only a step whose action is the correction or work-up covers it (a start that
            # says "after vitamin D repletion" leaves the repletion step in place).
            covered |= asked
        out.append(r)
    return out
