"""The named facts the pathway table reads (``knowledge/rules/pathway.toml``), computed from
the record: one value per fact, with the words that explain it. Branch modules compute;
only :mod:`osteotarget.plan.pathway` decides."""

from __future__ import annotations

from dataclasses import dataclass, field

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_bisphosphonate, is_oral, kind_of
from osteotarget.base.population import latest_z, named_basis, uses_z_scores
from osteotarget.dates import add_months
from osteotarget.model.assessment import Recommendation, Risk, Status
from osteotarget.model.record import TherapyCourse
from osteotarget.plan.anabolic import course_limit, course_months
from osteotarget.plan.holiday import HolidayPlan, holiday_decision, holiday_in_progress
from osteotarget.plan.response import Response
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import LabState

_LABS = "rules.labs"


@dataclass
class PathwayFacts:
    values: dict[str, str] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    course: TherapyCourse | None = None
    start_choice: Ranked | None = None
    better: Ranked | None = None
    continuing: Ranked | None = None
    review: Recommendation | None = None
    holiday: HolidayPlan | None = None


def dxa_state(ctx: Context, facts: Facts) -> tuple[str, str]:
    visits = [v.date for v in facts.patient.dxa if v.date <= ctx.as_of]
    if not visits:
        return "none", "no DXA on record"
    interval = ctx.setting("monitoring.dxa_interval_months").value
    last = max(visits)
    if add_months(last, interval) < ctx.as_of:
        return "stale", f"last DXA {last.isoformat()}, older than {interval:g} months"
    return "current", f"last DXA {last.isoformat()}"


def _lab(facts: Facts, test: str) -> float | None:
    lab = facts.latest_lab(test)  # type: ignore[arg-type]
    return lab.canonical_value if lab is not None else None


def _recent(ctx: Context, facts: Facts, test: str) -> float | None:
    lab = facts.latest_lab(test)  # type: ignore[arg-type]
    since = add_months(ctx.as_of, -ctx.number(f"{_LABS}.lab_lookback_months"))
    return lab.canonical_value if lab is not None and lab.date >= since else None


def kidney_bone(ctx: Context, facts: Facts, labs: LabState) -> tuple[str, str]:
    """Advanced CKD (dialysis, or the last eGFR < 30; a CrCl only when no eGFR is on record:
    KDIGO 2012/2017 stage by GFR) with raised PTH or ALP."""
    clearance = labs.kidney_function
    cut = ctx.number(f"{_LABS}.advanced_ckd_below")
    dialysis = facts.has_condition("dialysis")
    if not (dialysis or (clearance is not None and clearance < cut)):
        return "no", ""
    pth, alp = _recent(ctx, facts, "pth"), _recent(ctx, facts, "alkaline_phosphatase")
    raised = []
    if pth is not None and pth > ctx.number(f"{_LABS}.pth_upper"):
        raised.append(f"PTH {pth:.0f} pg/mL")
    if alp is not None and alp > ctx.number(f"{_LABS}.alkaline_phosphatase_upper"):
        raised.append(f"alkaline phosphatase {alp:.0f} U/L")
    kidney = "on dialysis" if dialysis else f"{labs.kidney_test} {clearance:g}"
    if not raised and (pth is None or alp is None):
        missing = " and ".join(
            name for name, v in (("PTH", pth), ("alkaline phosphatase", alp)) if v is None
        )
        return "unmeasured", f"advanced CKD ({kidney}); {missing} not on record"
    if not raised:
        return "no", f"advanced CKD ({kidney}); PTH and ALP not raised on record"
    return "suspected", f"advanced CKD ({kidney}) with raised {' and '.join(raised)}"


def correct_first(ctx: Context, facts: Facts, labs: LabState) -> tuple[str, str]:
    found: list[str] = []
    if labs.calcium_low:
        found.append(f"serum calcium {labs.calcium:.2f} mmol/L")
    elif facts.has_condition("hypocalcaemia"):
        found.append("hypocalcaemia")
    vd = labs.vitamin_d
    alp = _recent(ctx, facts, "alkaline_phosphatase")
    pth = _recent(ctx, facts, "pth")
    raised_alp = alp is not None and alp > ctx.number(f"{_LABS}.alkaline_phosphatase_upper")
    raised_pth = pth is not None and pth > ctx.number(f"{_LABS}.pth_upper")
    if vd is not None and vd < ctx.number(f"{_LABS}.vitamin_d_severe_deficiency"):
        found.append(f"25(OH)D {vd:.3g} ng/mL (severe deficiency)")
    elif vd is not None and vd < ctx.number(f"{_LABS}.vitamin_d_deficient") and raised_pth:
        found.append(
            f"25(OH)D {vd:.3g} ng/mL with PTH {pth:.0f} pg/mL (secondary hyperparathyroidism)"
        )
    if labs.vitamin_d_low and raised_alp:
        found.append(f"low vitamin D with alkaline phosphatase {alp:.0f} U/L (osteomalacia?)")
    return ("yes" if found else "no"), "; ".join(found)


def secondary_cause(ctx: Context, facts: Facts) -> tuple[str, str]:
    """A secondary-cause signal in an adult (ISCD: Z at or below minus 2; Endocrine Society
    2012: men under 70 with a flagged cause or alcohol at or above the FRAX threshold)."""
    signals: list[str] = []
    zs = latest_z(ctx)
    if zs:
        site, z = min(zs.items(), key=lambda kv: kv[1])
        if z <= ctx.number("rules.population.z_score_below_expected"):
            signals.append(f"Z-score {z:+.1f} at the {site.replace('_', ' ')}")
    patient = facts.patient
    young_man = patient.sex == "male" and facts.age < ctx.number(
        "rules.population.secondary_workup_men_below_age"
    )
    if young_man:
        factors = patient.risk_factors
        if factors.secondary_osteoporosis:
            signals.append("secondary cause flagged")
        alcohol = factors.alcohol_units_per_day
        if alcohol is not None and alcohol >= ctx.number(
            "rules.population.alcohol_units_per_day_at_least"
        ):
            signals.append(f"alcohol {alcohol:g} units/day")
    return ("suspected" if signals else "no"), ", ".join(signals)


def imminent_risk(ctx: Context, facts: Facts) -> tuple[str, str]:
    """A recent fragility fracture at a clinically major site within the profile's
    imminent-risk window (Kanis 2020 IOF-ESCEO algorithm; Johansson 2017): the risk of a
    further fracture is highest now, so a work-up runs alongside a start, not before it."""
    months = ctx.setting("imminent.recent_fracture_months").value
    sites = ctx.profile.get("imminent.sites", [])
    since = add_months(ctx.as_of, -months)
    recent = [f for f in facts.fractures() if f.site in sites and f.date >= since]
    if not recent:
        return "no", ""
    last = max(recent, key=lambda f: f.date)
    where = last.site.replace("_", " ")
    return "yes", f"{where} fracture {last.date.isoformat()}, within {months:g} months"


def dose_labs(
    ctx: Context, facts: Facts, course: TherapyCourse | None, labs: LabState
) -> tuple[str, str]:
    """A current parenteral antiresorptive (one with a dosing interval) needs current renal
    function and calcium before its next dose (Reclast: CrCl >= 35; Prolia: calcium)."""
    if course is None or course.drug not in ("zoledronate", "denosumab"):
        return "current", ""
    since = add_months(ctx.as_of, -ctx.number(f"{_LABS}.lab_lookback_months"))
    calcium = facts.latest_lab("calcium")
    missing = []
    if labs.clearance is None:
        missing.append("renal function")
    if calcium is None or calcium.date < since:
        missing.append("calcium")
    if not missing:
        return "current", ""
    return "stale", f"{' and '.join(missing)} not on record in the lab look-back"


def startable(options: list[Ranked], at_target: bool) -> list[Ranked]:
    """At the BMD target an anabolic is not a start or resume choice (Lewiecki 2021 Fig. 3;
    Hoong 2025: the anabolic step is for patients not reaching their goal)."""
    if not at_target:
        return options
    kept = [r for r in options if kind_of(r.regimen.drugs[0]) != "anabolic"]
    return kept or options


def choose_start(ctx: Context, options: list[Ranked]) -> Ranked | None:
    """The regimen the profile would start: first-line first, then by rank; an option
    excluded only for a correctable reason (low calcium, low vitamin D) counts, so a
    correction is never replaced by a fallback drug."""
    usable = [r for r in options if r.option.eligible or r.correctable]
    first = [r for r in usable if r.first_line]
    pool = first or usable
    return pool[0] if pool else None


def _course_state(ctx: Context, history: History) -> tuple[str, TherapyCourse | None]:
    if history.untreated():
        return "untreated", None
    course = history.current()
    if course is not None:
        if kind_of(course.drug) == "anabolic":
            months = course_months(ctx, history, course)
            limit = course_limit(ctx, course.drug)
            return ("anabolic_ongoing" if months < limit else "anabolic_complete"), course
        return "antiresorptive", course
    last = history.last()
    assert last is not None
    if kind_of(last.drug) == "anabolic" and history.followed_by(last, "antiresorptive") is None:
        return "anabolic_complete", last
    if is_bisphosphonate(last.drug) and _was_holiday(ctx, history, last):
        return "holiday", last
    return "off_treatment", last


def _was_holiday(ctx: Context, history: History, course: TherapyCourse) -> bool:
    """A bisphosphonate stopped for a holiday: said so, or stopped at its review point."""
    if "holiday" in (course.stop_reason or "").lower():
        return True
    route = "oral" if is_oral(course.drug) else "intravenous"
    return history.years_on(course) >= ctx.setting(f"holiday.{route}_review_years").value


def _response(ctx: Context, response: Response) -> str:
    if response.fractures_on_treatment and not response.fractures_counted:
        ctx.fired(
            "plan.fracture_early",
            "fracture early in treatment: too soon to judge failure (IOF 2012); continue and "
            "reassess",
            ["diezperez2012"],
        )
    if response.failure:
        return "failure"
    if response.inadequate:
        # A fracture with an inadequate response (the profile's rule) is at least an
        # inadequate response: the fracture never weakens it.
        return "inadequate"
    if response.fractures_counted:
        # IOF 2012 (Diez-Perez): one incident fracture is failure only with a significant BMD
        # decrease or unsuppressed turnover markers; without them it is a fracture on
        # treatment to review, not failure.
        btm = {True: "suppressed", False: "not suppressed", None: "not measured"}[
            response.btm_suppressed
        ]
        ctx.fired(
            "plan.fracture_not_failure",
            f"{len(response.fractures_counted)} fragility fracture(s) after the IOF minimum "
            f"time, no BMD loss beyond the LSC, turnover markers {btm}: not treatment failure "
            "by the IOF criteria (≥ 2 fractures, or 1 with a significant BMD decrease or "
            "unsuppressed turnover markers); a fracture on treatment to review",
            ["diezperez2012"],
        )
        return "fracture"
    return "adequate"


def _path(
    ctx: Context, status: Status, course: TherapyCourse, options: list[Ranked], out: PathwayFacts
) -> str:
    """On a path, or not: then whether an eligible option is projected to do materially
    better than continuing (the margin is a profile setting)."""
    if status.target_met or status.on_track:
        return "on_path"
    if status.on_track is None or not ctx.profile.get("response.judge_path", False):
        return "unknown"
    continuing = next(
        (r for r in options if r.regimen.drugs == (course.drug,)),
        None,
    )
    out.continuing = continuing
    base = continuing.option.probability_of_target if continuing else None
    margin = ctx.setting("change.min_probability_gain").value
    better = [
        r
        for r in options
        if r.option.eligible
        and not r.avoid
        and r.regimen.drugs[0] != course.drug
        and r.option.probability_of_target is not None
        and base is not None
        and r.option.probability_of_target - base >= margin
    ]
    better.sort(key=lambda r: -(r.option.probability_of_target or 0.0))
    resorptive = [r for r in better if kind_of(r.regimen.drugs[0]) == "antiresorptive"]
    if resorptive:
        out.better = resorptive[0]
        return "better_antiresorptive"
    if better:
        out.better = better[0]
        return "better_anabolic_only"
    alternatives = [
        r
        for r in options
        if r.option.eligible and not r.avoid and r.regimen.drugs[0] != course.drug
    ]
    out.better = max(
        alternatives,
        key=lambda r: (
            r.option.probability_of_target or 0,
            r.option.expected_t_at_horizon is not None,
            r.option.expected_t_at_horizon or 0,
        ),
        default=None,
    )
    return "no_better"


def _review(
    ctx: Context, facts: Facts, history: History, risk: Risk, status: Status, course: TherapyCourse
) -> tuple[str, Recommendation | None]:
    if not is_bisphosphonate(course.drug):
        return "not_due", None
    years = history.years_on(course)
    decision = holiday_decision(ctx, facts, risk, status, course, years)
    if decision is None:
        return "not_due", None
    route = "oral" if is_oral(course.drug) else "intravenous"
    if decision.action == "holiday" or (
        decision.action == "reassess" and "holiday criteria are met" in decision.rationale
    ):
        return "holiday", decision
    if years >= ctx.setting(f"holiday.{route}_max_years").value:
        return "beyond_max", decision
    return "continue", decision


def pathway_facts(
    ctx: Context,
    facts: Facts,
    history: History,
    risk: Risk,
    status: Status,
    response: Response,
    options: list[Ranked],
    labs: LabState,
    denosumab: str,
) -> PathwayFacts:
    out = PathwayFacts()
    v = out.values
    v["denosumab"] = denosumab
    v["kidney_bone"], out.why["kidney_bone"] = kidney_bone(ctx, facts, labs)
    v["correct_first"], out.why["correct_first"] = correct_first(ctx, facts, labs)
    if uses_z_scores(ctx, facts):
        basis = named_basis(facts)
        v["population"] = "z_with_basis" if basis else "z_without_basis"
        out.why["population"] = ", ".join(basis)
    else:
        v["population"] = "adult"
    v["secondary_cause"], out.why["secondary_cause"] = secondary_cause(ctx, facts)
    v["imminent_risk"], out.why["imminent_risk"] = imminent_risk(ctx, facts)
    v["risk"] = risk.category
    v["risk_basis"] = (
        "undetermined"
        if any(r.code.startswith("undetermined:") for r in risk.reasons)
        else "determined"
    )
    v["course"], out.course = _course_state(ctx, history)
    v["dxa"], out.why["dxa"] = dxa_state(ctx, facts)
    out.start_choice = choose_start(ctx, startable(options, status.target_met is True))
    v["start_choice"] = (
        "none" if out.start_choice is None else str(kind_of(out.start_choice.regimen.drugs[0]))
    )
    current = history.current() if v["course"] == "antiresorptive" else None
    v["dose_labs"], out.why["dose_labs"] = dose_labs(ctx, facts, current, labs)
    poor = current is not None and (current.adherence == "poor" or response.btm_suppressed is False)
    v["adherence"] = "poor" if poor else "good"
    v["response"] = _response(ctx, response) if current is not None else "adequate"
    v["target"] = (
        "none" if status.target_met is None else ("met" if status.target_met else "not_met")
    )
    v["path"] = _path(ctx, status, current, options, out) if current is not None else "unknown"
    v["review"], out.review = (
        _review(ctx, facts, history, risk, status, current)
        if current is not None
        else ("not_due", None)
    )
    if v["course"] == "holiday" and out.course is not None:
        plan = holiday_in_progress(ctx, facts, history, risk, out.course, response.bmd_loss_sites)
        out.holiday = plan
        first = plan.recommendations[0].action if plan.recommendations else "holiday"
        v["holiday"] = {"resume": "resume", "reassess": "review_due"}.get(first, "ongoing")
    else:
        v["holiday"] = "ongoing"
    return out
