"""The per-patient engine as the oracle of the population kernel.

Compared assessment fields (see docs/population.md, "Oracle"):

* alert ``dxa_due`` present  ⇔ kernel ``dxa_overdue``
* ``monitoring.next_dxa`` = kernel ``next_dxa`` when the scan is overdue, or when the
  assessment recommends no change of regimen (no ``start``, ``resume``, ``escalate``,
  ``switch``, ``consolidate``, ``follow_on``, ``holiday``) and raises no denosumab alert,
  and the engine did not bring the scan forward to the end of an ongoing anabolic course
  (rule ``monitoring.dxa_end_of_anabolic``, Lewiecki 2021 Fig. 3: not yet in the kernel)
* alert ``denosumab_overdue`` ⇔ kernel ``denosumab_overdue``
* alert ``denosumab_stopped_without_follow_on`` ⇔ kernel ``denosumab_stopped``; its
  severity ``critical`` ⇔ kernel ``denosumab_stopped_critical``
* ``monitoring.next_dose`` = kernel ``next_dose`` for a patient on a current course when
  the assessment recommends no ``switch``, ``escalate``, ``stop``, ``consolidate`` or
  ``holiday`` (the plan then stops the drug; off treatment the date is the new regimen's
  first dose)
* alert ``holiday_review_due`` ⇒ kernel ``holiday_review_due``; kernel ⇒ that alert or a
  ``resume`` recommendation (the engine resumes at high risk or after BMD loss)
* untreated patients: an ``investigate`` recommendation about the work-up ⇔ kernel
  ``workup_missing``
* kernel ``below_minimum_target`` ⇒ ``status.target_met`` is false
* on a PTH analogue (teriparatide, abaloparatide): the pathway's course state
  ``anabolic_complete`` (lifetime limit reached, counted as the label of the profile's region
  counts it) ⇔ kernel ``anabolic_course_end`` on or before ``as_of``; and at the limit, the
  plan's recommendation for the drug is a conditional ``continue`` (US teriparatide label,
  profile allowing it) ⇔ kernel ``anabolic_beyond_if_high_risk``, a ``stop`` otherwise
"""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.model.assessment import Assessment

PTH_ANALOGUES = ("teriparatide", "abaloparatide")
NEW_REGIMEN = {"start", "resume", "escalate", "switch", "consolidate", "follow_on", "holiday"}
STOPS_DRUG = {"switch", "escalate", "stop", "consolidate", "holiday"}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def disagreements(a: Assessment, fact: dict[str, Any]) -> list[str]:
    """Each way the kernel's facts for one patient differ from its assessment."""
    out: list[str] = []
    codes = {al.code: al for al in a.alerts}
    actions = {r.action for r in a.recommendations}

    def check(name: str, engine: Any, kernel: Any) -> None:
        if engine != kernel:
            out.append(f"{a.patient_id}: {name}: engine {engine!r} kernel {kernel!r}")

    check("dxa_due alert", "dxa_due" in codes, fact["dxa_overdue"])
    dmab_alert = "denosumab_overdue" in codes or "denosumab_stopped_without_follow_on" in codes
    end_of_anabolic = any(s.rule == "monitoring.dxa_end_of_anabolic" for s in a.trace)
    if fact["dxa_overdue"] or not (actions & NEW_REGIMEN or dmab_alert or end_of_anabolic):
        check("monitoring.next_dxa", _iso(a.monitoring.next_dxa), _iso(fact["next_dxa"]))
    check("denosumab_overdue alert", "denosumab_overdue" in codes, fact["denosumab_overdue"])
    stopped = codes.get("denosumab_stopped_without_follow_on")
    check(
        "denosumab_stopped_without_follow_on alert", stopped is not None, fact["denosumab_stopped"]
    )
    if stopped is not None:
        check(
            "denosumab_stopped_without_follow_on severity",
            stopped.severity == "critical",
            fact["denosumab_stopped_critical"],
        )
    if fact["current_drug"] is not None and not actions & STOPS_DRUG:
        check("monitoring.next_dose", _iso(a.monitoring.next_dose), _iso(fact["next_dose"]))
    holiday_alert = "holiday_review_due" in codes
    if holiday_alert and not fact["holiday_review_due"]:
        out.append(f"{a.patient_id}: holiday_review_due alert without the kernel fact")
    if fact["holiday_review_due"] and not (holiday_alert or "resume" in actions):
        out.append(f"{a.patient_id}: kernel holiday review due, engine neither alerts nor resumes")
    if fact["untreated"]:
        workup = any(
            r.action == "investigate" and "work-up" in r.rationale for r in a.recommendations
        )
        check("work-up recommendation (untreated)", workup, fact["workup_missing"])
    if fact["below_minimum_target"] and a.status is not None and a.status.target_met:
        out.append(f"{a.patient_id}: kernel below the minimum target, engine says target met")
    if fact["current_drug"] in PTH_ANALOGUES:
        out += _pth_limit(a, fact, check)
    return out


def pth_limit_reached(a: Assessment) -> bool | None:
    """The engine's pathway course state on a PTH analogue: lifetime limit reached (None: the
    pathway did not judge an anabolic course)."""
    state = next((t.inputs.get("course") for t in a.trace if t.rule == "pathway"), None)
    if state not in ("anabolic_ongoing", "anabolic_complete"):
        return None
    return bool(state == "anabolic_complete")


def _pth_limit(a: Assessment, fact: dict[str, Any], check: Any) -> list[str]:
    reached = pth_limit_reached(a)
    if reached is None:
        return [f"{a.patient_id}: on {fact['current_drug']}, no anabolic course state"]
    end = fact["anabolic_course_end"]
    check("PTH-analogue lifetime limit reached", reached, end is not None and end <= a.as_of)
    at_limit = {
        r.action
        for r in a.recommendations
        if r.action in ("continue", "stop")
        and r.regimen
        and r.regimen[0].drug == fact["current_drug"]
        and "limit" in r.rationale
    }
    if reached and at_limit:
        check(
            "beyond the limit only if fracture risk remains high",
            "continue" in at_limit,
            bool(fact["anabolic_beyond_if_high_risk"]),
        )
    return []
