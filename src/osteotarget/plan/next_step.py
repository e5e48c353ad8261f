"""The next step: the pathway table (``knowledge/rules/pathway.toml``) picks exactly one
primary action from the named facts; the branch modules (``start``, ``escalate``,
``anabolic``, ``antiresorptive``, ``holiday``, ``denosumab``) only fill in its details.

Every recommendation supports a clinician ("consider …"); none prescribes.
"""

from __future__ import annotations

from collections.abc import Callable

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, drug_info, kind_of
from osteotarget.base.population import z_score_words
from osteotarget.model.assessment import Recommendation, Risk, Status
from osteotarget.plan.anabolic import anabolic
from osteotarget.plan.antiresorptive import continue_current, safety_reminders
from osteotarget.plan.common import NextStep, adherence_check, label, rec, why_option
from osteotarget.plan.denosumab import denosumab_plan, leaving_denosumab
from osteotarget.plan.escalate import escalate, failed_bisphosphonate
from osteotarget.plan.pathway import Row, load_pathway
from osteotarget.plan.pathway_facts import PathwayFacts, choose_start, pathway_facts, startable
from osteotarget.plan.response import Response
from osteotarget.plan.start import start
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety, LabState

__all__ = ["NextStep", "next_step"]

# The secondary-cause work-up (Watts 2012, Endocrine Society men; ISCD; AACE 2020).
_WORKUP_TESTS = (
    "calcium, phosphate, PTH, 25(OH)D, renal and liver function with alkaline phosphatase, "
    "TSH, coeliac serology, serum protein electrophoresis with free light chains, 24-hour "
    "urine calcium; in men testosterone and LH"
)


def _below_threshold(ctx: Context, risk: Risk, out: NextStep) -> None:
    key = (
        "monitoring.low_risk_reassess_months"
        if risk.category == "low"
        else "monitoring.dxa_interval_months"
    )
    months = ctx.setting(key).value
    out.recommendations.append(
        rec(
            "reassess",
            f"{risk.category.replace('_', ' ')} risk under profile {ctx.profile.name}: no drug "
            f"indicated now; consider reassessing fracture risk within {months:g} months",
            [ctx.setting(key).cite],
        )
    )


def _dxa_first(ctx: Context, pf: PathwayFacts, row: Row, out: NextStep) -> None:
    course = pf.course
    on_drug = course is not None and pf.values["course"] == "antiresorptive"
    if course is not None and on_drug and pf.values["review"] != "not_due":
        about = f"a bisphosphonate holiday or continuing {course.drug}"
    elif course is not None and on_drug:
        about = f"a change from {course.drug}"
    elif pf.values.get("risk_basis") == "undetermined":
        about = "whether to treat (the risk is not determined before the scan)"
    elif pf.start_choice is not None:
        about = f"starting {label(pf.start_choice)}"
    else:
        about = "the next step"
    out.recommendations.append(
        rec(
            "reassess",
            f"{pf.why['dxa']}: consider a DXA first (now, with vertebral fracture "
            f"assessment), then decide on {about}"
            + (f"; meanwhile continue {course.drug}" if course is not None and on_drug else ""),
            row.citations,
            regimen=course.drug if course is not None and on_drug else None,
            when=ctx.as_of,
        )
    )


def _start_supported(pf: PathwayFacts) -> bool:
    """A start may follow a correct-first or work-up step only where the facts support a drug:
    high or very high risk, and in the Z-score population a fracture or a named cause
    (ISCD 2005/2019: no default drug under 50 or before the menopause)."""
    return (
        pf.start_choice is not None
        and pf.values["course"] in ("untreated", "off_treatment")
        and pf.values["risk"] in ("high", "very_high")
        and pf.values["population"] != "z_without_basis"
    )


def _start_after(out: NextStep, since: int, prefix: str) -> None:
    """The start a correct-first or work-up step leads to: undated and conditional on it."""
    _reword_starts(out, since, prefix, undated=True)


def _reword_starts(
    out: NextStep,
    since: int,
    prefix: str,
    *,
    undated: bool = False,
    cite: Callable[[Recommendation], list[str]] | None = None,
) -> None:
    """Every start/resume added since *since* gets *prefix* (and the citations *cite* adds); the
    start may be followed by a referral, so the last line is not necessarily the start."""
    for i in range(since, len(out.recommendations)):
        r = out.recommendations[i]
        if r.action in ("start", "resume"):
            update: dict[str, object] = {"rationale": prefix + r.rationale}
            if undated:
                update["when"] = None
            if cite is not None:
                update["citations"] = [*r.citations, *cite(r)]
            out.recommendations[i] = r.model_copy(update=update)


def _correct_first(
    ctx: Context,
    pf: PathwayFacts,
    risk: Risk,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    out: NextStep,
) -> None:
    supported = _start_supported(pf)
    then = (
        f"then consider starting {label(pf.start_choice)}"
        if supported and pf.start_choice is not None
        else "then decide on the bone treatment"
    )
    out.recommendations.append(
        rec(
            "investigate",
            f"{pf.why['correct_first']}: consider correcting (calcium, vitamin D repletion) and "
            "investigating the cause (malabsorption, osteomalacia, parathyroid, kidney) first; "
            f"{then} once corrected — not another drug in its place",
            ["leboff2022", "holick2011", "prolia_us", "reclast_us"],
        )
    )
    if supported:
        # The intended start, dated only once the correction is done (no fallback drug).
        since = len(out.recommendations)
        start(ctx, risk, options, safety, out, resume=pf.values["course"] == "off_treatment")
        _start_after(out, since, f"after correcting {pf.why['correct_first']}: ")


def _secondary_workup(
    ctx: Context,
    pf: PathwayFacts,
    row: Row,
    risk: Risk,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    out: NextStep,
) -> None:
    out.recommendations.append(
        rec(
            "investigate",
            f"{pf.why['secondary_cause']}: consider a secondary-cause work-up before a drug "
            f"({_WORKUP_TESTS}); address alcohol and smoking",
            list(row.citations),
            when=ctx.as_of,
        )
    )
    if _start_supported(pf) and pf.values["dxa"] == "current":
        since = len(out.recommendations)
        start(ctx, risk, options, safety, out, resume=pf.values["course"] == "off_treatment")
        _start_after(out, since, "after the work-up: ")
    elif pf.values["dxa"] != "current":
        _dxa_first(ctx, pf, row, out)


def _start_with_workup(
    ctx: Context,
    pf: PathwayFacts,
    row: Row,
    risk: Risk,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    out: NextStep,
) -> None:
    """Imminent risk (Kanis 2020; Johansson 2017): the start keeps today's date and the
    secondary-cause work-up (Watts 2012; ISCD) runs alongside it, not before it."""
    since = len(out.recommendations)
    start(ctx, risk, options, safety, out, resume=row.action == "resume")
    imminent = pf.why["imminent_risk"]
    _reword_starts(out, since, f"imminent risk ({imminent}): not delayed by the work-up; ")
    out.recommendations.append(
        rec(
            "investigate",
            f"{pf.why['secondary_cause']}: consider a secondary-cause work-up alongside the "
            f"start, not before it (imminent risk: {imminent}) ({_WORKUP_TESTS}); review the "
            "plan with its results; address alcohol and smoking",
            list(row.citations),
            when=ctx.as_of,
        )
    )


def _imminent_no_dxa(
    ctx: Context,
    pf: PathwayFacts,
    row: Row,
    risk: Risk,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    out: NextStep,
) -> None:
    """Imminent risk without a current DXA (Kanis 2020; Johansson 2017): an antiresorptive
    starts now (HORIZON Recurrent Fracture Trial, Lyles 2007: zoledronic acid within 90 days
    of a hip fracture), the DXA is requested alongside to decide about an anabolic. The
    start keeps the eligibility and safety checks of ``start`` (renal function, calcium)."""
    anabolic_choice = pf.values["start_choice"] == "anabolic"
    pool = (
        [r for r in options if kind_of(r.regimen.drugs[0]) != "anabolic"]
        if anabolic_choice
        else options
    )
    if choose_start(ctx, pool) is None:
        _dxa_first(ctx, pf, row, out)
        return
    since = len(out.recommendations)
    start(ctx, risk, pool, safety, out, resume=row.action == "resume")
    prefix = (
        f"imminent risk ({pf.why['imminent_risk']}), {pf.why['dxa']}: an antiresorptive now, "
        "not delayed by the scan; "
    )
    _reword_starts(
        out,
        since,
        prefix,
        cite=lambda r: (
            ["lyles2007"] if any(s.drug == "zoledronate" for s in r.regimen or []) else []
        ),
    )
    about = (
        f"deciding about an anabolic ({label(pf.start_choice)} is the profile's choice "
        "with a baseline)"
        if anabolic_choice and pf.start_choice is not None
        else "the BMD target and the monitoring (a baseline)"
    )
    out.recommendations.append(
        rec(
            "reassess",
            f"{pf.why['dxa']}: consider a DXA (with vertebral fracture assessment) alongside "
            f"the start, not before it, for {about}",
            list(row.citations),
            when=ctx.as_of,
        )
    )


def _ckd_mbd(ctx: Context, pf: PathwayFacts, out: NextStep) -> None:
    out.recommendations.append(
        rec(
            "refer",
            f"{pf.why['kidney_bone']}: consider assessing kidney bone disease (CKD-MBD: "
            "phosphate, calcium, PTH and ALP together, bone biopsy where it changes treatment) "
            "with nephrology before any antiresorptive (KDIGO 2017); denosumab label: risk of "
            "severe hypocalcaemia with eGFR < 30 or dialysis, worse with CKD-MBD; calcium and "
            "vitamin D supplements only as nephrology advises",
            ["kdigo2017", "prolia_us"],
        )
    )


def _z_workup(ctx: Context, pf: PathwayFacts, out: NextStep) -> None:
    basis = pf.why.get("population", "")
    then = (
        f"; with {basis}, treatment may be considered by a specialist after the work-up "
        "(most drugs are not labelled before the menopause)"
        if basis
        else "; no drug start without a fragility fracture or a named cause"
    )
    out.recommendations.append(
        rec(
            "investigate",
            f"{z_score_words(ctx)}; premenopausal woman or man under 50: consider a "
            "secondary-cause work-up (calcium, PTH, 25(OH)D, renal and liver function with "
            "alkaline phosphatase, coeliac serology, thyroid, gonadal status, medications) and "
            "specialist review" + then,
            ["iscd2005", "camacho2020"],
        )
    )


def _adherence(
    ctx: Context, pf: PathwayFacts, response: Response, options: list[Ranked], out: NextStep
) -> None:
    """Poor adherence (recorded, or turnover markers not falling): failure is judged only on
    adherent treatment (IOF 2012). On an oral bisphosphonate a parenteral antiresorptive is
    the route change to consider (IOF 2012 / Lewiecki 2021: an oral drug replaced by an
    injected one); on an infusion or injection, the missed doses are the check."""
    course = pf.course
    assert course is not None
    why = (
        "adherence recorded as poor"
        if course.adherence == "poor"
        else "bone turnover markers did not fall beyond their LSC"
    )
    oral = str(drug_info(course.drug).get("route", "")) == "oral"
    out.recommendations.append(
        rec(
            "investigate",
            f"{course.drug}: {why}; failure or inadequate response is judged only on adherent "
            f"treatment (IOF 2012): consider reviewing {adherence_check(course.drug)}"
            + (
                "; if oral dosing cannot be made reliable, a parenteral antiresorptive (below)"
                if oral
                else "; missed or late doses lose the effect: consider restoring the schedule"
            )
            + " — not an anabolic on this basis",
            ["diezperez2012", "diezperez2017"],
            regimen=course.drug,
            when=ctx.as_of,
        )
    )
    if not oral:
        return
    parenteral = [
        r
        for r in options
        if r.option.eligible
        and not r.avoid
        and len(r.regimen.drugs) == 1
        and kind_of(r.regimen.drugs[0]) == "antiresorptive"
        and str(drug_info(r.regimen.drugs[0]).get("route", "")) in ("intravenous", "subcutaneous")
    ]
    if not parenteral:
        return
    chosen = parenteral[0]
    others = [label(r) for r in parenteral[1:2]]
    out.chosen = chosen
    out.changed_therapy = True
    out.recommendations.append(
        rec(
            "switch",
            f"{course.drug}: {why}: consider switching to a parenteral antiresorptive: "
            f"{label(chosen)}"
            + (f" (or {others[0]})" if others else "")
            + f" ({why_option(chosen)}); the route removes the oral dosing problem (IOF 2012)",
            ["diezperez2012", "lewiecki2021", *chosen.option.citations[:2]],
            regimen=chosen,
            when=ctx.as_of,
        )
    )
    ctx.fired(
        "plan.adherence_route",
        f"poor adherence to oral {course.drug}: a parenteral antiresorptive ({label(chosen)})",
        ["diezperez2012", "lewiecki2021"],
    )


def _fracture_review_line(ctx: Context, drug: str, response: Response, out: NextStep) -> None:
    """The review of one fracture on treatment that is not IOF failure (Diez-Perez 2012)."""
    listed = ", ".join(f"{f.site} {f.date.isoformat()}" for f in response.fractures_counted)
    complete = (
        "; bone turnover markers (CTX or PINP) to complete the assessment"
        if response.btm_suppressed is None
        else ""
    )
    out.recommendations.append(
        rec(
            "investigate",
            f"fragility fracture on {drug} ({listed}) without a BMD loss beyond the LSC "
            "or unsuppressed turnover markers: not treatment failure by the IOF criteria "
            "(≥ 2 fractures, or 1 with a significant BMD decrease or unsuppressed turnover "
            f"markers); consider reviewing {adherence_check(drug)}, calcium/vitamin D "
            f"and secondary causes{complete}",
            ["diezperez2012", "lewiecki2021"],
            regimen=drug,
            when=ctx.as_of,
        )
    )


def _fracture_review(
    ctx: Context,
    history: History,
    pf: PathwayFacts,
    row: Row,
    risk: Risk,
    response: Response,
    options: list[Ranked],
    out: NextStep,
) -> None:
    """One fragility fracture on treatment without a BMD loss beyond the LSC or unsuppressed
    turnover markers: not treatment failure by the IOF criteria (Diez-Perez 2012): a review
    (adherence, calcium/vitamin D, secondary causes; the missing parts of the assessment),
    then continuing, or at very high risk with the target not met an escalation to consider
    (IOF 2012 / Lewiecki 2021: also for a patient responding yet at high risk)."""
    course = pf.course
    assert course is not None
    _fracture_review_line(ctx, course.drug, response, out)
    if row.detail == "fracture_escalate":
        why = (
            f"fragility fracture on {course.drug} at very high risk, target not met (a fracture "
            "on treatment, not IOF failure)"
        )
        escalate(ctx, history, risk, course, why, options, out)
        return
    out.recommendations.append(
        rec(
            "continue",
            f"{course.drug}: consider continuing; judge the response at the next DXA (a further "
            "fracture, or a BMD loss beyond the LSC or unsuppressed turnover markers with this "
            "one, would be treatment failure)",
            ["diezperez2012", "lewiecki2021"],
            regimen=course.drug,
            when=ctx.as_of,
        )
    )


def _continue_unlikely(ctx: Context, pf: PathwayFacts, status: Status, out: NextStep) -> None:
    course = pf.course
    assert course is not None
    margin = ctx.setting("change.min_probability_gain").value
    closest = pf.better
    alt = (
        f"; closest alternative: {label(closest)} ({why_option(closest)}"
        + (
            f", expected T {closest.option.expected_t_at_horizon:+.1f} at the horizon"
            if closest.option.expected_t_at_horizon is not None
            else ""
        )
        + ")"
        if closest is not None
        else ""
    )
    path = pf.values["path"]
    if path == "better_anabolic_only":
        reason = (
            "only an anabolic is projected to do materially better, and an anabolic is for "
            "very high risk or after an inadequate response or failure"
        )
    elif path == "better_antiresorptive":
        reason = (
            f"{pf.values['risk'].replace('_', ' ')} risk: a change of drug for a projected gain "
            "is proposed only at high or very high risk"
        )
    else:
        reason = (
            "no eligible option is projected to do materially better than continuing "
            f"(margin {margin:.0%})"
        )
    out.recommendations.append(
        rec(
            "continue",
            f"{course.drug}: responding but the target is unlikely within the period "
            f"({status.explanation}); {reason}: consider continuing{alt}",
            ["lewiecki2021", "lewiecki2019"],
            regimen=course.drug,
            when=ctx.as_of,
        )
    )


def _change_for_gain(
    ctx: Context,
    history: History,
    pf: PathwayFacts,
    risk: Risk,
    response: Response,
    options: list[Ranked],
    out: NextStep,
) -> None:
    course, chosen = pf.course, pf.better
    assert course is not None and chosen is not None
    base = pf.continuing.option.probability_of_target if pf.continuing else None
    anabolic_choice = kind_of(chosen.regimen.drugs[0]) == "anabolic"
    out.chosen = chosen
    out.changed_therapy = True
    if response.fractures_counted and pf.values["response"] == "fracture":
        _fracture_review_line(ctx, course.drug, response, out)
    leaving = leaving_denosumab(ctx, history, course, chosen.regimen.drugs)
    if chosen.regimen.drugs[0] != course.drug:
        out.stops.add(course.drug)  # no further dose of the drug the plan leaves
    out.recommendations.append(
        rec(
            "escalate" if anabolic_choice else "switch",
            f"{course.drug}: responding but not on a path to the target; {label(chosen)} is "
            f"projected to do materially better ({why_option(chosen)}"
            + (f" vs {base:.0%} continuing" if base is not None else "")
            + f"): consider changing to it ({risk.category.replace('_', ' ')} risk)"
            + (f"; {leaving.words}" if leaving else ""),
            [
                "lewiecki2021",
                "lewiecki2019",
                *chosen.option.citations[:2],
                *(leaving.citations if leaving else ()),
            ],
            regimen=chosen,
            when=leaving.when if leaving else ctx.as_of,
        )
    )


def next_step(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    status: Status,
    response: Response,
    options: list[Ranked],
    safety: dict[str, DrugSafety],
    labs: LabState,
) -> NextStep:
    out = NextStep()
    dmab = denosumab_plan(ctx, history, safety)
    out.alerts += dmab.alerts
    state = "none"
    if dmab.handled:
        state = "stopped" if dmab.stopping else "overdue"
    pf = pathway_facts(ctx, facts, history, risk, status, response, options, labs, state)
    row = load_pathway(ctx.kb, ctx.profile).decide(pf.values)
    out.row = row
    out.facts = pf.values
    ctx.fired(
        "pathway",
        f"{row.id} → {row.action}: {row.reason}"
        + (f" (row overridden by profile {row.overridden_by})" if row.overridden_by else ""),
        list(row.citations),
        **pf.values,
    )
    course = pf.course
    detail = row.detail
    start_options = startable(options, status.target_met is True)
    if detail == "denosumab":
        out.recommendations += dmab.recommendations
        out.changed_therapy = True
        if dmab.stopping:
            out.stops.add("denosumab")
        if status.target_met is False:
            out.recommendations.append(
                rec(
                    "reassess",
                    "target not met: once the follow-on is in place, consider reassessing the "
                    "regimen with a DXA",
                    ["lewiecki2021"],
                )
            )
    elif detail == "ckd_mbd":
        _ckd_mbd(ctx, pf, out)
    elif detail == "ckd_mbd_labs":
        out.recommendations.append(
            rec(
                "investigate",
                f"{pf.why['kidney_bone']}: consider checking calcium, phosphate, PTH and "
                "alkaline phosphatase (CKD-MBD, KDIGO 2017) before any antiresorptive; "
                "denosumab label: risk of severe hypocalcaemia with eGFR < 30 or dialysis",
                ["kdigo2017", "prolia_us"],
            )
        )
    elif detail == "correct_first":
        _correct_first(ctx, pf, risk, start_options, safety, out)
    elif detail == "secondary_workup":
        _secondary_workup(ctx, pf, row, risk, start_options, safety, out)
    elif detail == "start_with_workup":
        _start_with_workup(ctx, pf, row, risk, start_options, safety, out)
    elif detail == "imminent_no_dxa":
        _imminent_no_dxa(ctx, pf, row, risk, start_options, safety, out)
    elif detail == "z_score_workup":
        _z_workup(ctx, pf, out)
    elif detail in ("anabolic_course", "consolidate"):
        assert course is not None
        anabolic(
            ctx,
            history,
            course,
            options,
            out,
            no_bisphosphonate=failed_bisphosphonate(history),
        )
    elif detail == "reassess_indication":
        assert course is not None
        out.recommendations.append(
            rec(
                "reassess",
                f"{course.drug}: gain below the response rule at "
                f"{risk.category.replace('_', ' ')} risk: the escalation protocol (Hoong et al. "
                "BMJ 2025) applies to high-risk patients; consider reassessing the indication: "
                "continue to the review point, then a holiday, or stop with a DXA — no stronger "
                "drug on this basis",
                row.citations,
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
    elif detail == "labs_before_dose":
        assert course is not None
        out.recommendations.append(
            rec(
                "investigate",
                f"{course.drug}: {pf.why['dose_labs']}: consider checking renal function "
                "(creatinine clearance) and calcium (and 25(OH)D) before the next dose, then "
                "give it if they allow",
                row.citations,
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
    elif detail == "below_threshold":
        _below_threshold(ctx, risk, out)
    elif detail == "dxa_first":
        _dxa_first(ctx, pf, row, out)
    elif detail == "start":
        start(ctx, risk, start_options, safety, out, resume=row.action == "resume")
    elif detail == "holiday":
        assert pf.holiday is not None
        out.alerts += pf.holiday.alerts
        out.recommendations += pf.holiday.recommendations
    elif detail == "adherence":
        _adherence(ctx, pf, response, options, out)
    elif detail in ("escalate", "switch"):
        assert course is not None
        why = {
            "failure": "treatment failure (IOF criteria)",
            "fracture": f"fragility fracture on {course.drug} after the IOF minimum time",
            "inadequate": f"inadequate response to {course.drug} by the profile's response rule",
        }.get(pf.values["response"], "not on a path to the target")
        # IOF 2012 (Diez-Perez): failure presupposes adherent treatment and excluded
        # secondary causes: the check is listed before the change.
        out.recommendations.append(
            rec(
                "investigate",
                f"{why}: consider first confirming {adherence_check(course.drug)}, "
                "calcium/vitamin D and secondary causes",
                ["diezperez2012"],
                regimen=course.drug,
                when=ctx.as_of,
            )
        )
        escalate(ctx, history, risk, course, why, options, out, allow_anabolic=detail == "escalate")
    elif detail in ("fracture_review", "fracture_escalate"):
        _fracture_review(ctx, history, pf, row, risk, response, options, out)
    elif detail in ("escalate_for_gain", "switch_for_gain"):
        _change_for_gain(ctx, history, pf, risk, response, options, out)
    elif detail == "continue_unlikely":
        _continue_unlikely(ctx, pf, status, out)
    elif detail == "review" or (detail == "continue" and pf.review is not None):
        assert pf.review is not None
        if pf.review.action == "holiday" and course is not None:
            out.stops.add(course.drug)
        out.recommendations.append(pf.review)
    elif detail == "continue":
        assert course is not None
        out.recommendations.append(continue_current(ctx, course, status, pf.values["response"]))
    else:  # pragma: no cover - the table's details are checked by the tests
        raise KeyError(f"pathway row {row.id}: unknown detail '{detail}'")
    if detail != "holiday" and pf.holiday is not None:
        # A due holiday review is a fact to surface whatever comes first (e.g. correct a low
        # calcium first): the alert stays, the primary action is the row's.
        out.alerts += pf.holiday.alerts
    current = history.current()
    if current is not None:
        out.recommendations += safety_reminders(ctx, history, current)
    return out
