"""``assess``: densitometry → risk → targets → options → status → next step → monitoring.

Pure: no I/O, no clock (``as_of`` is an argument), no environment.
"""

from __future__ import annotations

from datetime import date
from itertools import chain
from typing import Any

from osteotarget.base.context import Context
from osteotarget.base.history import History
from osteotarget.base.population import uses_z_scores
from osteotarget.base.profile import Profile, load_profile
from osteotarget.dates import add_months
from osteotarget.densitometry import assess_densitometry
from osteotarget.engine import DEFAULT_PROFILE, ENGINE_VERSION
from osteotarget.knowledge import KnowledgeBase
from osteotarget.model import Patient, check_as_of
from osteotarget.model.assessment import (
    Alert,
    Assessment,
    CitationOut,
    Densitometry,
    Option,
    Recommendation,
    Risk,
    Target,
    TraceStep,
)
from osteotarget.plan.monitoring import monitoring
from osteotarget.plan.next_step import next_step
from osteotarget.plan.response import judge_response
from osteotarget.plan.status import judge_status
from osteotarget.plan.steps import distinct_steps
from osteotarget.plan.workup import (
    advanced_kidney,
    denosumab_gap_before_scan,
    lab_alerts,
    lifestyle,
    missing_information,
    missing_workup,
    vertebral_imaging,
)
from osteotarget.risk import facts_of, risk_category
from osteotarget.targets import set_targets, treatment_baseline
from osteotarget.therapy.agreement import agreeing_alerts, agreeing_options
from osteotarget.therapy.alerts import current_sequence_alert, safety_alerts
from osteotarget.therapy.options import rank_options, safety_by_drug
from osteotarget.therapy.safety import lab_state

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}


def _dedupe(recs: list[Recommendation]) -> list[Recommendation]:
    seen: set[tuple[str, str]] = set()
    out: list[Recommendation] = []
    for r in recs:
        key = (r.action, r.rationale)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _cited_keys(
    risk: Risk | None,
    targets: list[Target],
    options: list[Option],
    recommendations: list[Recommendation],
    alerts: list[Alert],
    trace: list[TraceStep],
    dens: Densitometry | None,
) -> list[str]:
    """Every citation key the answer uses, first use first, each once."""
    groups: tuple[list[Any], ...] = (
        risk.reasons if risk else [],
        targets,
        options,
        recommendations,
        alerts,
        trace,
    )
    keys = dict.fromkeys(chain.from_iterable(item.citations for group in groups for item in group))
    if dens:
        keys.update(dict.fromkeys(dens.citations))
    return list(keys)


def assess(patient: Patient, as_of: date, profile: str | None = None) -> Assessment:
    """The complete assessment of *patient* on *as_of* under a guideline *profile*."""
    check_as_of(patient, as_of)
    return _assessed(patient, as_of, load_profile(profile or DEFAULT_PROFILE))


def assess_with_profile(patient: Patient, as_of: date, chosen_profile: Profile) -> Assessment:
    """As :func:`assess`, with a profile object (e.g. a profile with one setting changed)."""
    check_as_of(patient, as_of)
    return _assessed(patient, as_of, chosen_profile)


def _assessed(patient: Patient, as_of: date, chosen_profile: Profile) -> Assessment:
    """The assessment of a record already checked against *as_of*."""
    kb = chosen_profile.kb
    dens = assess_densitometry(patient, as_of)
    ctx = Context(patient=patient, as_of=as_of, profile=chosen_profile, kb=kb, densitometry=dens)
    ctx.fired(
        "profile",
        f"{chosen_profile.name}: {chosen_profile.title}",
        list(chosen_profile.citations),
    )
    if patient.sex == "male" or (
        patient.menopause is not None and patient.menopause.status != "postmenopausal"
    ):
        ctx.fired(
            "population",
            "most rules were derived in postmenopausal women; men and premenopausal women are "
            "outside several sources (drug labels are checked per drug): weigh the answer "
            "accordingly",
            list(chosen_profile.citations),
        )
    facts = facts_of(patient, as_of, dens)
    history = History(patient, as_of)
    z_population = uses_z_scores(ctx, facts)
    if z_population and dens.classification is not None:
        # ISCD: no T-score category for premenopausal women and men under 50, neither for
        # the whole scan nor for any site.
        dens = dens.model_copy(
            update={
                "classification": None,
                "sites": [
                    s.model_copy(update={"classification": None}) if s.classification else s
                    for s in dens.sites
                ],
                "notes": [
                    *dens.notes,
                    "WHO T-score category not applied (premenopausal woman or man under 50): "
                    "judged on Z-scores (ISCD)",
                ],
                "citations": [*dens.citations, "iscd2005"],
            }
        )
        ctx.densitometry = dens
    risk = risk_category(ctx, facts)
    targets = set_targets(ctx, facts, risk, history)
    safety = safety_by_drug(ctx, facts, history)
    gap = denosumab_gap_before_scan(ctx, facts, history)
    options = rank_options(ctx, facts, history, risk, targets, safety, project=gap is None)
    baseline = treatment_baseline(facts, history)
    status = judge_status(ctx, facts, history, targets, baseline)
    response = judge_response(ctx, facts, history)
    labs = lab_state(ctx, facts)

    alerts: list[Alert] = [
        Alert(severity=f.severity, code=f.code, message=f.message, citations=f.citations)
        for f in dens.findings
    ]
    step = next_step(ctx, facts, history, risk, status, response, options, safety, labs)
    options = agreeing_options(options, step.facts)
    lab_al, lab_recs = lab_alerts(ctx, facts, labs)
    # Urgency order: the pathway's primary action first (a critical safety action such as
    # a denosumab follow-on is the table's first rows), then the supporting work-up,
    # imaging and corrections, lifestyle last.
    supporting: list[Recommendation] = []
    if (
        history.untreated()
        or step.changed_therapy
        or step.facts.get("population", "adult") != "adult"
    ):
        supporting += missing_workup(ctx, facts)
    if gap is not None:
        supporting.append(gap)
    supporting += vertebral_imaging(ctx, facts)
    supporting += missing_information(ctx, facts)
    supporting += lab_recs
    advanced_ckd = step.facts.get("kidney_bone") == "suspected" or advanced_kidney(ctx, labs, facts)
    recommendations = [*step.recommendations, *supporting, *lifestyle(ctx, facts, advanced_ckd)]
    recommendations = distinct_steps(_dedupe(recommendations))
    step_codes = {al.code for al in step.alerts}
    alerts += lab_al + agreeing_alerts(response.alerts, step.facts) + step.alerts
    # One alert per code from the plan and the catalogue (e.g. the course limit the plan
    # already acts on is not repeated from the catalogue).
    alerts += [
        al
        for al in safety_alerts(safety, labs, step.chosen, options)
        if al.code not in step_codes or al.code == "sequence_caution"
    ]
    alerts += current_sequence_alert(history)
    holiday_review = next(
        (r.when for r in step.recommendations if r.action == "holiday" and r.when is not None), None
    )
    if holiday_review == as_of:
        holiday_review = add_months(as_of, ctx.setting("holiday.review_after_months").value)
    mon, mon_alerts = monitoring(ctx, facts, history, step, holiday_review)
    alerts += mon_alerts
    alerts.sort(key=lambda al: _SEVERITY[al.severity])
    option_list = [r.option for r in options]
    # Every part was validated when it was built: the whole is assembled without
    # validating it again (the same fields, in the same order, as Assessment(...)).
    return Assessment.model_construct(
        patient_id=patient.id,
        as_of=as_of,
        profile=chosen_profile.name,
        engine_version=ENGINE_VERSION,
        knowledge_version=kb.version,
        risk=risk,
        targets=targets,
        status=status,
        options=option_list,
        recommendations=recommendations,
        alerts=alerts,
        monitoring=mon,
        densitometry=dens,
        trace=ctx.trace,
        citations=_citations_out(
            kb,
            _cited_keys(risk, targets, option_list, recommendations, alerts, ctx.trace, dens),
        ),
        unverified_inputs=ctx.unverified(),
    )


_CITATIONS_OUT: dict[str, CitationOut] = {}
_CITATIONS_KB: list[KnowledgeBase] = []


def _citations_out(kb: KnowledgeBase, keys: list[str]) -> list[CitationOut]:
    """The cited works, built once per key and knowledge base (frozen, so shared)."""
    if not _CITATIONS_KB or _CITATIONS_KB[0] is not kb:
        _CITATIONS_OUT.clear()
        _CITATIONS_KB[:] = [kb]
    out: list[CitationOut] = []
    for k in keys:
        cited = _CITATIONS_OUT.get(k)
        if cited is None:
            if k not in kb.citations:
                continue
            cited = _CITATIONS_OUT[k] = CitationOut(key=k, text=kb.citation(k).short())
        out.append(cited)
    return out
