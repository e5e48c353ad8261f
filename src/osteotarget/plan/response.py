"""Judging the response to the current treatment: fractures on treatment, significant BMD
loss (beyond the LSC), the BTM adherence check, IOF 2012 treatment failure and the
3-year inadequate-response rule (Hoong et al. BMJ 2025) with its AND/OR setting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, is_bisphosphonate, is_oral, kind_of
from osteotarget.dates import add_months, months_between
from osteotarget.model.assessment import Alert
from osteotarget.model.record import Fracture, TherapyCourse

_BTM = "rules.monitoring.btm"
# `response.adequate_needs`: "hip_and_spine" = an adequate response needs the total-hip AND
# the spine gain (Hoong et al. BMJ 2025), so either shortfall is inadequate; "hip_or_spine" =
# one site's gain is enough (inadequate only when both fall short).
_RULE_WORDS = {
    "hip_and_spine": "an adequate response needs the total-hip AND the spine gain",
    "hip_or_spine": "an adequate response needs the total-hip OR the spine gain",
}


def _needs(ctx: Context) -> str:
    return str(ctx.profile.get("response.adequate_needs", "hip_and_spine"))


@dataclass
class Response:
    fractures_on_treatment: list[Fracture] = field(default_factory=list)
    fractures_counted: list[Fracture] = field(default_factory=list)
    bmd_loss_sites: list[str] = field(default_factory=list)
    btm_suppressed: bool | None = None
    failure: bool = False
    inadequate: bool = False
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _bmd_loss(ctx: Context, since: date | None) -> list[str]:
    """Sites whose latest change is a loss beyond the LSC, measured after *since*."""
    sites = []
    for trend in ctx.densitometry.sites:
        change = trend.since_previous
        if change is None or change.direction != "loss":
            continue
        if since is not None and change.to_date <= since:
            continue
        sites.append(f"{trend.site.replace('_', ' ')} {change.percent or 0:+.1f}%")
    return sites


def _btm_check(ctx: Context, facts: Facts, course: TherapyCourse) -> bool | None:
    """IOF/ECTS: PINP or CTX at baseline and 3 months; a fall beyond the LSC is a response."""
    if not (is_bisphosphonate(course.drug) and is_oral(course.drug)):
        return None
    if not any(lab.test in ("p1np", "ctx") for lab in facts.patient.labs):
        return None
    window = ctx.number(f"{_BTM}.baseline_window_months")
    after = ctx.number(f"{_BTM}.check_after_months")
    for test, lsc_key in (("p1np", "p1np_lsc_percent"), ("ctx", "ctx_lsc_percent")):
        labs = [lab for lab in facts.patient.labs if lab.test == test and lab.date <= ctx.as_of]
        base = [
            lab for lab in labs if add_months(course.start, -window) <= lab.date <= course.start
        ]
        follow = [lab for lab in labs if lab.date >= add_months(course.start, after)]
        if not base or not follow:
            continue
        b, f = base[-1].canonical_value, follow[0].canonical_value
        if b <= 0:
            continue
        fall = 100 * (b - f) / b
        lsc = ctx.number(f"{_BTM}.{lsc_key}")
        responded = fall > lsc
        ctx.fired(
            "response.btm",
            f"{test.upper()} fell {fall:.0f}% ({b:g} → {f:g}); LSC {lsc:g}%: "
            + ("response, adherence likely" if responded else "no response beyond the LSC"),
            ["diezperez2017", "naylor2016"],
        )
        return bool(responded)
    return None


def _three_year(ctx: Context, course: TherapyCourse) -> bool:
    """Hoong et al. BMJ 2025: less than +0.2 T at total hip / +0.5 T at spine over 3 years."""
    months_needed = ctx.setting("response.three_year_months").value
    combine = _needs(ctx)
    shortfalls: list[bool] = []
    details: list[str] = []
    for site, key in (
        ("total_hip", "total_hip_min_gain_t"),
        ("lumbar_spine", "lumbar_spine_min_gain_t"),
    ):
        trend = next((t for t in ctx.densitometry.sites if t.site == site), None)
        if trend is None:
            continue
        before = [p for p in trend.points if p.date <= course.start and p.t_score is not None]
        after = [p for p in trend.points if p.date > course.start and p.t_score is not None]
        if not before or not after:
            continue
        base, last = before[-1], after[-1]
        if months_between(base.date, last.date) < months_needed:
            continue
        need = ctx.setting(f"response.{key}").value
        gain = last.t_score - base.t_score  # type: ignore[operator]
        shortfalls.append(gain < need)
        details.append(f"{site.replace('_', ' ')} {gain:+.1f} T (needs ≥ +{need:g})")
    if not shortfalls:
        return False
    inadequate = all(shortfalls) if combine == "hip_or_spine" else any(shortfalls)
    ctx.fired(
        "response.three_year_rule",
        f"over ≥ {months_needed:g} months of {course.drug}: {'; '.join(details)}; "
        f"{_RULE_WORDS[combine]} (profile {ctx.profile.name}) → "
        + ("inadequate response" if inadequate else "adequate response"),
        ["hoong2025", "cosman2022"],
        adequate_needs=combine,
    )
    return inadequate


def judge_response(ctx: Context, facts: Facts, history: History) -> Response:
    out = Response()
    course = history.current()
    last = history.last()
    since = course.start if course else (history.end_of(last) if last else None)
    out.bmd_loss_sites = _bmd_loss(ctx, since)
    if out.bmd_loss_sites:
        out.alerts.append(
            Alert(
                severity="warning",
                code="significant_bmd_loss",
                message=(
                    "BMD loss beyond the least significant change: "
                    + ", ".join(out.bmd_loss_sites)
                    + (f" on {course.drug}" if course else "")
                    + "; check adherence, secondary causes and the scans"
                ),
                citations=["iscd_precision", "diezperez2012"],
            )
        )
        ctx.fired("response.bmd_loss", ", ".join(out.bmd_loss_sites), ["iscd_precision"])
    if course is None:
        return out
    out.fractures_on_treatment = [f for f in facts.fractures() if f.date >= course.start]
    if out.fractures_on_treatment:
        listed = ", ".join(f"{f.site} {f.date.isoformat()}" for f in out.fractures_on_treatment)
        out.alerts.append(
            Alert(
                severity="warning",
                code="fracture_on_treatment",
                message=(
                    f"fragility fracture on {course.drug} ({listed}): assess for treatment "
                    "failure (adherence, secondary causes, BTM, BMD)"
                ),
                citations=["diezperez2012", "lewiecki2021"],
            )
        )
        ctx.fired("response.fracture_on_treatment", listed, ["diezperez2012"])
    out.btm_suppressed = _btm_check(ctx, facts, course)
    if kind_of(course.drug) == "antiresorptive":
        min_months = ctx.setting("failure.min_treatment_months").value
        counted = [
            f
            for f in out.fractures_on_treatment
            if months_between(course.start, f.date) >= min_months
        ]
        need = ctx.setting("failure.fractures_for_failure").value
        no_btm = out.btm_suppressed is False
        loss = bool(out.bmd_loss_sites)
        out.fractures_counted = counted
        out.failure = (
            len(counted) >= need or (len(counted) >= 1 and (no_btm or loss)) or (no_btm and loss)
        )
        if out.failure:
            out.alerts.append(
                Alert(
                    severity="critical",
                    code="treatment_failure",
                    message=(
                        f"treatment failure on {course.drug} by the IOF criteria: "
                        f"{len(counted)} fracture(s) after ≥ {min_months:g} months, BTM "
                        f"{'not suppressed' if no_btm else 'suppressed or not measured'}, "
                        f"BMD loss {'yes' if loss else 'no'}"
                    ),
                    citations=["diezperez2012"],
                )
            )
            ctx.fired(
                "response.iof_failure",
                "treatment failure (IOF 2012)",
                ["diezperez2012"],
                fractures=len(counted),
                btm_not_suppressed=no_btm,
                bmd_loss=loss,
            )
        if ctx.profile.get("response.rule") == "three_year" and _three_year(ctx, course):
            out.inadequate = True
            out.alerts.append(
                Alert(
                    severity="warning",
                    code="inadequate_response",
                    message=(
                        f"inadequate response to {course.drug}: T-score gain over "
                        f"{ctx.setting('response.three_year_months').value:g} months below "
                        f"+{ctx.setting('response.total_hip_min_gain_t').value:g} at total hip / "
                        f"+{ctx.setting('response.lumbar_spine_min_gain_t').value:g} at spine "
                        f"(profile {ctx.profile.name}: "
                        f"{_RULE_WORDS[_needs(ctx)]})"
                    ),
                    citations=["hoong2025"],
                )
            )
    return out
