"""The answer first: what a busy clinician needs on one screen, in plain words.

Pure: an :class:`Assessment` in, an :class:`Answer` out (no I/O, no clock). The patient
page, the printed reports and the letter all read the same answer, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from osteotarget.model.assessment import (
    Alert,
    Assessment,
    Option,
    ProjectedPoint,
    Recommendation,
    RegimenStep,
    Target,
)

BEST_OPTIONS = 3
STANDING_CLASS = {
    "met": "standing-met",
    "on a path": "standing-path",
    "not on a path": "standing-not",
    "not judged": "standing-unknown",
}


PLAIN_ACTIONS = {
    "start": "starting a bone-strengthening treatment",
    "continue": "continuing your current treatment",
    "switch": "switching to a different treatment",
    "escalate": "moving to a stronger treatment",
    "add": "adding a treatment",
    "consolidate": "a follow-on treatment to keep the gains",
    "holiday": "a planned break from treatment",
    "resume": "restarting treatment",
    "stop": "stopping a treatment",
    "follow_on": "the follow-on treatment that protects your bones when the current one ends",
    "reassess": "reviewing your treatment plan",
    "investigate": "some tests (for example blood tests or imaging) to check for other causes",
    "refer": "seeing another specialist",
    "lifestyle": "calcium, vitamin D, exercise and preventing falls",
}


def plain_action(action: str) -> str:
    return PLAIN_ACTIONS.get(action, action.replace("_", " "))


def sentence(text: str) -> str:
    """First letter upper-case, the rest as written, ending with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def words(text: str | None) -> str:
    return (text or "").replace("_", " ")


def plain_regimen(steps: Sequence[RegimenStep]) -> str:
    """``romosozumab 12 mo → denosumab``."""
    return " → ".join(f"{s.drug}{f' {s.months} mo' if s.months else ''}" for s in steps)


def percent(probability: float | None) -> str:
    """A chance as a whole percentage; a small non-zero chance reads "< 1 %", never "0 %"."""
    if probability is None:
        return "—"
    whole = round(probability * 100)
    if whole == 0 and probability > 0:
        return "< 1 %"
    return f"{whole} %"


def signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


@dataclass(frozen=True)
class OptionRow:
    """One ranked option as the clinician reads it (index: its place in ``a.options``)."""

    index: int
    rank: int | None
    regimen: str
    eligible: bool
    first_line: bool
    horizon_months: int
    probability: str
    expected_t: str
    expected_site: str
    note: str


@dataclass(frozen=True)
class Standing:
    label: str
    css: str
    explanation: str


@dataclass(frozen=True)
class Answer:
    critical: list[Alert]
    other_alerts: list[Alert]
    risk: str
    imminent: bool
    risk_reason: str
    target: str
    target_by: str
    standing: Standing
    next_step: Recommendation | None
    next_step_text: str
    best: list[OptionRow]
    options: list[OptionRow]
    probability_basis: str
    monitoring: list[tuple[str, str]]


def _at_horizon(option: Option) -> list[ProjectedPoint]:
    """Each projected site's expected T-score at the option's horizon (or its last month)."""
    last: dict[str, ProjectedPoint] = {}
    for point in option.projected_t_scores:
        if point.month <= option.horizon_months:
            seen = last.get(point.site)
            if seen is None or point.month >= seen.month:
                last[point.site] = point
    return sorted(last.values(), key=lambda p: p.t_score)


def option_row(index: int, option: Option) -> OptionRow:
    points = _at_horizon(option)
    lowest = points[0] if points else None
    notes: list[str] = []
    if not option.eligible:
        notes.append("not eligible: " + "; ".join(option.excluded_because or ["see reasons"]))
    elif option.probability_of_target is None:
        notes.append(
            "chance not computed: no projection for this patient's scans; ranked by expected "
            "response"
            if option.basis == "expected_response"
            else "chance not computed: the target cannot be priced by the projection"
        )
    if lowest is None and option.eligible:
        notes.append("expected T-score not shown: no scan at a projected site")
    notes.extend(option.cautions)
    return OptionRow(
        index=index,
        rank=option.rank,
        regimen=plain_regimen(option.regimen),
        eligible=option.eligible,
        first_line=option.first_line,
        horizon_months=option.horizon_months,
        probability=percent(option.probability_of_target),
        expected_t="—" if lowest is None else f"T {signed(lowest.t_score)}",
        expected_site="" if lowest is None else words(lowest.site),
        note="; ".join(notes),
    )


def _target_text(targets: Sequence[Target]) -> tuple[str, str]:
    t_scores = [t for t in targets if t.metric == "t_score" and t.value is not None]
    parts: list[str] = []
    if t_scores:
        value = t_scores[0].value
        same = all(t.value == value and t.operator == t_scores[0].operator for t in t_scores)
        if same and value is not None:
            sites = ", ".join(words(t.site) or "all sites" for t in t_scores)
            parts.append(f"T-score {t_scores[0].operator} {signed(value)} at {sites}")
        else:
            parts.extend(
                f"{words(t.site)} T-score {t.operator} {signed(t.value)}"
                for t in t_scores
                if t.value is not None
            )
    for t in targets:
        if t.metric == "no_new_fracture":
            parts.append("no new fracture")
        elif t.metric != "t_score":
            shown = "" if t.value is None else f" {t.value:g}"
            parts.append(f"{words(t.site)} {words(t.metric)} {t.operator}{shown}".strip())
    dates = sorted({t.by for t in targets if t.by is not None})
    by = dates[0].isoformat() if dates else ""
    return ("; ".join(parts) or "no target set by this engine version"), by


def _standing(a: Assessment) -> Standing:
    s = a.status
    if s.target_met is True:
        label = "met"
    elif s.on_track is True:
        label = "on a path"
    elif s.on_track is False or s.target_met is False:
        label = "not on a path" if s.on_track is False else "not judged"
    else:
        label = "not judged"
    if label == "not judged" and s.target_met is False:
        explanation = "target not met yet; " + (s.explanation or "the path is not judged")
    else:
        explanation = s.explanation
    return Standing(label, STANDING_CLASS[label], explanation)


def _step_text(r: Recommendation) -> str:
    regimen = f" {plain_regimen(r.regimen)}" if r.regimen else ""
    when = f" (by {r.when.isoformat()})" if r.when else ""
    return f"{words(r.action).capitalize()}{regimen}{when}: {r.rationale}"


def answer_first(a: Assessment) -> Answer:
    rows = [option_row(i, o) for i, o in enumerate(a.options)]
    best = [r for r in rows if r.eligible][:BEST_OPTIONS]
    target, by = _target_text(a.targets)
    next_step = a.recommendations[0] if a.recommendations else None
    basis = a.options[0].basis if a.options else "projection"
    m = a.monitoring
    monitoring = [
        (label, value.isoformat())
        for label, value in (
            ("next DXA", m.next_dxa),
            ("next dose", m.next_dose),
            ("next bone turnover markers", m.next_btm),
        )
        if value is not None
    ]
    return Answer(
        critical=[al for al in a.alerts if al.severity == "critical"],
        other_alerts=[al for al in a.alerts if al.severity != "critical"],
        risk=a.risk.headline if a.risk else "not determined",
        imminent=bool(a.risk and a.risk.imminent),
        risk_reason=a.risk.reasons[0].text if a.risk and a.risk.reasons else "",
        target=target,
        target_by=by,
        standing=_standing(a),
        next_step=next_step,
        next_step_text=_step_text(next_step) if next_step else "no step suggested",
        best=best,
        options=rows,
        probability_basis=(
            "ranked by expected response: the projection was not available"
            if basis == "expected_response"
            else "chance of reaching the target by the horizon, from the projection model"
        ),
        monitoring=monitoring,
    )


def cited_in_summary(a: Assessment) -> set[str]:
    """Citation keys behind what a short report shows: risk, targets, steps and alerts."""
    keys: set[str] = set()
    if a.risk is not None:
        for reason in a.risk.reasons:
            keys.update(reason.citations)
    for group in (a.targets, a.recommendations, a.alerts):
        for item in group:
            keys.update(item.citations)
    return keys
