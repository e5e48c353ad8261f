"""Engine-level properties of the pathway (issue 8), for generated records under every
profile:

* at the primary target (total hip, or the qualifying site) the primary action is never an
  anabolic (Hoong et al. BMJ 2025: anabolic escalation is for an inadequate response;
  Lewiecki 2021 Fig. 3: continue at target);
* moderate or low risk never gets an anabolic start or escalation;
* poor adherence never leads to an anabolic escalation (IOF 2012: failure is judged on
  adherent treatment);
* no anabolic start without a DXA (Cosman 2024: the target and the monitoring need a
  baseline);
* a better response (a higher latest BMD on the current antiresorptive) never yields a
  stronger failure-driven escalation;
* recommendations[0] is the most urgent: a critical denosumab alert puts the follow-on
  first.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from osteotarget.model.assessment import Assessment

from .test_engine_properties import PROFILES, SETTINGS, records, run

ANABOLICS = {"romosozumab", "teriparatide", "abaloparatide"}
NEW = ("start", "resume", "escalate", "switch")


def anabolic_primary(a: Assessment) -> bool:
    first = a.recommendations[0]
    return first.action in NEW and bool(first.regimen) and first.regimen[0].drug in ANABOLICS  # type: ignore[index]


def pathway_row(a: Assessment) -> str:
    step = next(s for s in a.trace if s.rule == "pathway")
    return step.outcome.split(" ", 1)[0]


def failure_strength(a: Assessment) -> int:
    """2 anabolic escalation, 1 switch, 0 otherwise, for failure-driven rows."""
    row = pathway_row(a)
    if row in ("escalate_failure_high_risk", "fracture_review_very_high"):
        return 2 if anabolic_primary(a) else 1
    if row in ("switch_failure", "inadequate_below_high"):
        return 1
    return 0


@SETTINGS
@given(records(), st.sampled_from(PROFILES))
def test_never_anabolic_at_the_primary_target(data: dict[str, Any], profile: str) -> None:
    # Changed deliberately (R2 of the specialist review; Lewiecki 2021 Fig. 3): the primary
    # target is the total hip unless the hip already met the target at baseline while another
    # site qualified for treatment (T <= -2.5); the target then applies at that site, so "at
    # target" is read at the primary site (status.target_met), not at the total hip alone.
    a = run(data, profile)
    if a.status is not None and a.status.target_met:
        assert not anabolic_primary(a) or pathway_row(a).startswith("anabolic")


@SETTINGS
@given(records(), st.sampled_from(PROFILES))
def test_moderate_or_low_risk_never_anabolic(data: dict[str, Any], profile: str) -> None:
    a = run(data, profile)
    assert a.risk is not None
    if a.risk.category in ("low", "moderate"):
        assert not anabolic_primary(a)


@SETTINGS
@given(records(), st.sampled_from(PROFILES))
def test_poor_adherence_never_anabolic_escalation(data: dict[str, Any], profile: str) -> None:
    poor = copy.deepcopy(data)
    for course in poor["therapies"]:
        course["adherence"] = "poor"
    a = run(poor, profile)
    assert not (a.recommendations[0].action == "escalate" and anabolic_primary(a))


@SETTINGS
@given(records(), st.sampled_from(PROFILES))
def test_no_anabolic_start_without_a_dxa(data: dict[str, Any], profile: str) -> None:
    unscanned = copy.deepcopy(data)
    unscanned["dxa"] = []
    a = run(unscanned, profile)
    assert not anabolic_primary(a)


@SETTINGS
@given(records(), st.floats(0.1, 1.5), st.sampled_from(PROFILES))
def test_better_response_never_stronger_escalation(
    data: dict[str, Any], gain: float, profile: str
) -> None:
    better = copy.deepcopy(data)
    latest = max(better["dxa"], key=lambda v: v["date"])
    for m in latest["measurements"]:
        m["t_score"] = round(min(3.0, m["t_score"] + gain), 1)
    assert failure_strength(run(better, profile)) <= failure_strength(run(data, profile))


@SETTINGS
@given(records(), st.sampled_from(PROFILES))
def test_critical_denosumab_action_comes_first(data: dict[str, Any], profile: str) -> None:
    a = run(data, profile)
    if any(al.code == "denosumab_overdue" for al in a.alerts):
        assert a.recommendations[0].action == "follow_on"
