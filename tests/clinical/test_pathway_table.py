"""The pathway decision table (knowledge/rules/pathway.toml): every combination of its
facts gives exactly one primary action, the safety invariants of issue 8 hold over the whole
input space, docs/pathway.md is the table the engine runs, and profile overrides work.

Sources of the invariants: Hoong et al. BMJ 2025 (anabolic escalation only at high risk
after an inadequate response on a first-line antiresorptive); IOF 2012 (Diez-Perez: failure
judged only on adherent treatment); Lewiecki 2021 Fig. 3 (continue on a path; change only
when another option does materially better); ECTS 2021 (denosumab never stopped without a
follow-on); Cosman 2024 (a DXA baseline before an anabolic start)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from osteotarget.base.profile import load_profile
from osteotarget.knowledge import knowledge
from osteotarget.knowledge.docgen import render_pathway
from osteotarget.plan.pathway import Pathway, Row, load_pathway

DOCS = Path(__file__).parents[2] / "docs" / "pathway.md"
CHANGE = {"escalate": 2, "switch": 1}
# Changed deliberately (review r3-30; IOF 2012, Diez-Perez: one fracture without a BMD loss
# or unsuppressed turnover markers is not failure): a fracture on treatment is reviewed, so it
# ranks below an inadequate response (which the profile's rule escalates at high risk).
RESPONSE_ORDER = ("adequate", "fracture", "inadequate", "failure")
DETAILS = {
    "denosumab", "ckd_mbd", "ckd_mbd_labs", "correct_first", "z_score_workup",
    "anabolic_course", "consolidate",
    "below_threshold", "dxa_first", "start", "holiday", "adherence", "escalate", "switch",
    "escalate_for_gain", "switch_for_gain", "continue_unlikely", "review", "continue",
    "reassess_indication", "labs_before_dose", "secondary_workup", "start_with_workup",
    "imminent_no_dxa", "fracture_review", "fracture_escalate",
}  # fmt: skip


def table(profile: str = "t2t2024") -> Pathway:
    return load_pathway(knowledge(), load_profile(profile))


def reachable(p: Pathway) -> Iterator[dict[str, str]]:
    """The whole input space, per treatment state: every combination of every fact that a
    row able to match that state reads. A fact no such row names cannot change the first
    match (rows are conjunctions), so it is held at its first value; the test checks that
    claim for every fact it holds."""
    for course in p.fact_values("course"):
        rows = [r for r in p.rows if course in r.when.get("course", (course,))]
        read = {name for r in rows for name in r.when}
        fixed = {name: p.fact_values(name)[0] for name in p.facts if name not in read}
        fixed["course"] = course
        for name in fixed:
            if name != "course":
                assert all(name not in r.when for r in rows)
        yield from p.space(fixed)


def strength(row: Row) -> int:
    return CHANGE.get(row.action, 0)


@pytest.mark.parametrize("profile", ["t2t2024", "aace2020", "nogg2022"])
def test_every_combination_gives_exactly_one_primary_action(profile: str) -> None:
    p = table(profile)
    assert p.rows[-1].when == {}, "the table must end with a catch-all row"
    seen = 0
    for facts in reachable(p):
        matches = [r for r in p.rows if r.matches(facts)]
        assert matches, facts
        assert p.decide(facts) is matches[0]  # first match: exactly one primary action
        assert matches[0].detail in DETAILS
        seen += 1
    assert seen > 10_000


def test_invariants_over_the_whole_input_space() -> None:
    p = table()
    for f in reachable(p):
        row = p.decide(f)
        where = f"{row.id}: {f}"
        if f["denosumab"] != "none":
            assert row.action == "follow_on" and row.urgency == "critical", where
        if row.action == "escalate":
            # Anabolic escalation: high or very high risk, adherent, not at the total-hip
            # target, on a current DXA (Hoong 2025; IOF 2012; Lewiecki 2021).
            assert f["risk"] in ("high", "very_high"), where
            assert f["target"] != "met", where
            assert f["adherence"] == "good", where
            assert f["dxa"] == "current", where
            if f["response"] == "adequate":
                assert f["risk"] == "very_high", where  # a change for gain only
        if row.action in ("switch", "escalate"):
            assert f["dxa"] == "current", where  # no change on a stale DXA
        if row.action in ("start", "resume") and f["start_choice"] == "anabolic":
            # No anabolic start without a DXA. Changed (review r2-28; Lyles 2007 HORIZON
            # Recurrent Fracture Trial; Kanis 2020): at imminent risk the row starts an
            # antiresorptive now (detail imminent_no_dxa), with the DXA alongside it.
            assert f["dxa"] == "current" or (
                row.detail == "imminent_no_dxa" and f["imminent_risk"] == "yes"
            ), where
            assert f["risk"] in ("high", "very_high"), where
        if f["risk"] in ("low", "moderate"):
            assert row.action != "escalate", where
            assert row.action not in ("start", "resume") or f["course"] == "holiday", where
        if f["population"] == "z_without_basis" and f["course"] == "untreated":
            assert row.action not in ("start", "resume"), where
        if f["secondary_cause"] == "suspected" and f["course"] in ("untreated", "off_treatment"):
            # R1 (Endocrine Society 2012; ISCD): the work-up comes before a drug start —
            # except at very high risk with an imminent-risk fracture (changed deliberately:
            # Kanis 2020 IOF-ESCEO / Johansson 2017, the risk is highest in the months after
            # a major fracture): there the work-up runs alongside and the start is not delayed.
            imminent = f["imminent_risk"] == "yes" and f["risk"] == "very_high"
            if row.detail == "start_with_workup":
                assert imminent and f["dxa"] == "current", where
            else:
                assert row.action not in ("start", "resume"), where
        if f["risk_basis"] == "undetermined" and f["course"] in ("untreated", "off_treatment"):
            # R4 (NOGG 2022): an undetermined risk is never read as low: no "reassess later".
            assert row.detail != "below_threshold", where
        if f["correct_first"] == "yes" and f["course"] in ("untreated", "off_treatment"):
            assert row.action not in ("start", "resume"), where  # correct first, no fallback


def test_worse_response_never_weaker_and_target_met_never_stronger() -> None:
    """A better response never yields a stronger change; meeting the total-hip target never
    yields a stronger change than missing it (every other fact held)."""
    p = table()
    for f in reachable(p):
        if f["course"] != "antiresorptive" or f["response"] != "adequate":
            continue
        strengths = [strength(p.decide({**f, "response": r})) for r in RESPONSE_ORDER]
        assert strengths == sorted(strengths), f
        for r in RESPONSE_ORDER:
            met = strength(p.decide({**f, "response": r, "target": "met"}))
            not_met = strength(p.decide({**f, "response": r, "target": "not_met"}))
            assert met <= not_met, (r, f)


def test_docs_pathway_matches_the_table() -> None:
    """docs/pathway.md is generated (`make docs`) from the table the engine runs."""
    assert DOCS.read_text() == render_pathway(knowledge())


def test_profile_override_replaces_a_row_in_place() -> None:
    base = load_profile("t2t2024")
    data = {
        **base.data,
        "pathway": {"overrides": [{"id": "inadequate_at_target", "action": "switch"}]},
    }
    p = load_pathway(knowledge(), dataclasses.replace(base, data=data))
    row = next(r for r in p.rows if r.id == "inadequate_at_target")
    assert row.action == "switch" and row.overridden_by == "t2t2024"
    assert [r.id for r in p.rows] == [r.id for r in table().rows]
    bad = {**base.data, "pathway": {"overrides": [{"id": "nope", "action": "switch"}]}}
    with pytest.raises(KeyError, match="nope"):
        load_pathway(knowledge(), dataclasses.replace(base, data=bad))


def test_unknown_fact_value_is_refused() -> None:
    p = table()
    facts = next(iter(p.space()))
    with pytest.raises(KeyError, match="risk"):
        p.decide({**facts, "risk": "extreme"})
