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
# `response.adequate_needs`: which gain makes a response under the 3-year rule.
# "target_site" = a gain at the primary target site (total hip; the spine only where the hip
# is not measured): the gain the protocol asks for there (Hoong et al. BMJ 2025: +0.2 T) or a
# significant gain beyond the LSC is a response, whatever the other site did (the target is
# judged at the total hip, Thomas 2020; an inadequate response is BMD loss beyond the LSC, a
# fracture on treatment or poor adherence, IOF 2012 / Diez-Perez, not a missing gain at a
# second site). "hip_or_spine" = a gain at either site is enough. "hip_and_spine" = the
# escalation protocol read literally (Hoong 2025: the total-hip AND the spine gain, so either
# shortfall is inadequate), for a profile that adopts it.
_RULE_WORDS = {
    "hip_and_spine": "an adequate response needs the total-hip AND the spine gain",
    "target_site": "a gain at the target site (total hip) is a response",
    "hip_or_spine": "a gain at the total hip OR the spine is a response",
}
_SITES = (("total_hip", "total_hip_min_gain_t"), ("lumbar_spine", "lumbar_spine_min_gain_t"))


def _needs(ctx: Context) -> str:
    return str(ctx.profile.get("response.adequate_needs", "target_site"))


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


@dataclass(frozen=True)
class _SiteGain:
    site: str
    gain_t: float
    need_t: float
    percent: float | None
    lsc_percent: float | None

    @property
    def significant(self) -> bool:
        return (
            self.percent is not None
            and self.lsc_percent is not None
            and self.percent >= self.lsc_percent
        )

    @property
    def loss(self) -> bool:
        return (
            self.percent is not None
            and self.lsc_percent is not None
            and -self.percent >= self.lsc_percent
        )

    @property
    def responded(self) -> bool:
        return not self.loss and (self.gain_t >= self.need_t or self.significant)

    def words(self) -> str:
        pct = (
            f", BMD {self.percent:+.1f}% (LSC {self.lsc_percent:.1f}%)"
            if (self.percent is not None and self.lsc_percent is not None)
            else ""
        )
        return (
            f"{self.site.replace('_', ' ')} {self.gain_t:+.1f} T{pct} (needs ≥ +{self.need_t:g} T)"
        )


def _gain(ctx: Context, course: TherapyCourse, site: str, key: str) -> _SiteGain | None:
    """The gain at *site* from the last scan before *course* to the latest on it, once the
    rule's period has passed; the BMD percentage only between same-manufacturer scans."""
    months_needed = ctx.setting("response.three_year_months").value
    trend = next((t for t in ctx.densitometry.sites if t.site == site), None)
    if trend is None:
        return None
    before = [p for p in trend.points if p.date <= course.start and p.t_score is not None]
    after = [p for p in trend.points if p.date > course.start and p.t_score is not None]
    if not before or not after:
        return None
    base, last = before[-1], after[-1]
    if months_between(base.date, last.date) < months_needed:
        return None
    percent = (
        100.0 * (last.bmd - base.bmd) / base.bmd
        if base.bmd is not None
        and last.bmd is not None
        and base.manufacturer == last.manufacturer
        and base.bmd > 0
        else None
    )
    return _SiteGain(
        site=site,
        gain_t=last.t_score - base.t_score,  # type: ignore[operator]
        need_t=ctx.setting(f"response.{key}").value,
        percent=percent,
        lsc_percent=trend.lsc_percent,
    )


def _loss_at_target(ctx: Context, course: TherapyCourse) -> bool:
    """A loss beyond the LSC at the target site (total hip) on the current course: an
    inadequate response at any time (IOF 2012 / Diez-Perez; Lewiecki 2021: a significant
    decrease in BMD is a poor response)."""
    trend = next((t for t in ctx.densitometry.sites if t.site == "total_hip"), None)
    change = trend.since_previous if trend is not None else None
    if change is None or change.direction != "loss" or change.to_date <= course.start:
        return False
    ctx.fired(
        "response.loss_at_target",
        f"total hip BMD {change.percent or 0:+.1f}% beyond the LSC on {course.drug} → "
        "inadequate response",
        ["diezperez2012", "iscd_precision"],
    )
    return True


def _three_year(ctx: Context, course: TherapyCourse) -> bool:
    """The 3-year rule (Hoong et al. BMJ 2025: +0.2 T at the total hip, +0.5 T at the spine
    over 3 years), judged at the target site: a significant gain there is a response."""
    months_needed = ctx.setting("response.three_year_months").value
    needs = _needs(ctx)
    gains = [g for site, key in _SITES if (g := _gain(ctx, course, site, key)) is not None]
    if not gains:
        return False
    if needs == "hip_or_spine":
        judged = gains
        inadequate = not any(g.responded for g in gains)
    elif needs == "hip_and_spine":
        judged = gains
        inadequate = not all(g.responded for g in gains)
    else:
        judged = gains[:1]  # the total hip when measured, else the spine
        inadequate = not judged[0].responded
    others = [g for g in gains if g not in judged]
    ctx.fired(
        "response.three_year_rule",
        f"over ≥ {months_needed:g} months of {course.drug}: "
        + "; ".join(g.words() for g in judged)
        + (f" (reported, not driving: {'; '.join(g.words() for g in others)})" if others else "")
        + f"; {_RULE_WORDS[needs]} (profile {ctx.profile.name}) → "
        + ("inadequate response" if inadequate else "adequate response"),
        ["hoong2025", "diezperez2012", "thomas2020"],
        adequate_needs=needs,
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
                    + (
                        f" on {course.drug}; check adherence, secondary causes and the scans"
                        if course
                        else " with no osteoporosis treatment running: a treatment decision is"
                        " needed; check for secondary causes (including bone-losing drugs such"
                        " as aromatase inhibitors or glucocorticoids) and the scans"
                    )
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
        if ctx.profile.get("response.rule") == "three_year" and (
            _loss_at_target(ctx, course) or _three_year(ctx, course)
        ):
            out.inadequate = True
            out.alerts.append(
                Alert(
                    severity="warning",
                    code="inadequate_response",
                    message=(
                        f"inadequate response to {course.drug}: no significant gain over "
                        f"{ctx.setting('response.three_year_months').value:g} months at the "
                        "target site (below "
                        f"+{ctx.setting('response.total_hip_min_gain_t').value:g} T at total hip"
                        + (
                            f" / +{ctx.setting('response.lumbar_spine_min_gain_t').value:g} T "
                            "at spine"
                            if _needs(ctx) == "hip_or_spine"
                            else ""
                        )
                        + " and within the LSC, or a loss beyond it) "
                        f"(profile {ctx.profile.name}: {_RULE_WORDS[_needs(ctx)]})"
                    ),
                    citations=["hoong2025", "diezperez2012"],
                )
            )
    return out
