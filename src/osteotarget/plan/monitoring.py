"""Monitoring dates: next DXA (1-2 years; sooner after a change of therapy), next dose of a
parenteral drug, next bone-turnover-marker check; ``dxa_due`` when a scan is overdue."""

from __future__ import annotations

from datetime import date

from osteotarget.engine.context import Context
from osteotarget.engine.dates import add_months
from osteotarget.model.assessment import Alert, Monitoring
from osteotarget.risk.facts import Facts
from osteotarget.therapy.history import History, drug_info, is_bisphosphonate, is_oral

_BTM = "rules.monitoring.btm"


def _next_dose(ctx: Context, history: History) -> date | None:
    course = history.current()
    if course is None or "dose_interval_months" not in drug_info(course.drug):
        return None
    last = history.last_dose(course) or course.start
    months = ctx.number(f"drugs.drugs.{course.drug}.dose_interval_months")
    return max(add_months(last, months), ctx.as_of)


def _next_btm(ctx: Context, facts: Facts, history: History) -> date | None:
    course = history.current()
    if course is None or not (is_bisphosphonate(course.drug) and is_oral(course.drug)):
        return None
    markers = [
        lab for lab in facts.patient.labs if lab.test in ("p1np", "ctx") and lab.date <= ctx.as_of
    ]
    if not markers:
        return None
    check = add_months(course.start, ctx.number(f"{_BTM}.check_after_months"))
    window = add_months(course.start, -ctx.number(f"{_BTM}.baseline_window_months"))
    has_baseline = any(window <= lab.date <= course.start for lab in markers)
    followed = any(lab.date >= check for lab in markers)
    if has_baseline and not followed:
        return check
    return None


def monitoring(
    ctx: Context, facts: Facts, history: History, changed_therapy: bool, holiday_review: date | None
) -> tuple[Monitoring, list[Alert]]:
    alerts: list[Alert] = []
    visits = [v for v in facts.patient.dxa if v.date <= ctx.as_of]
    key = (
        "monitoring.dxa_interval_after_change_months"
        if changed_therapy
        else "monitoring.dxa_interval_months"
    )
    interval = ctx.setting(key)
    next_dxa: date
    if not visits:
        next_dxa = ctx.as_of
        alerts.append(
            Alert(
                severity="warning",
                code="dxa_due",
                message="no DXA on record: BMD measurement needed",
                citations=["cosman2024"],
            )
        )
    else:
        last = visits[-1].date
        due = add_months(last, interval.value)
        if changed_therapy:
            next_dxa = add_months(ctx.as_of, interval.value)
            routine = add_months(last, ctx.setting("monitoring.dxa_interval_months").value)
            overdue = routine < ctx.as_of
        else:
            next_dxa, routine, overdue = due, due, due < ctx.as_of
        if holiday_review is not None:
            next_dxa = max(holiday_review, ctx.as_of)
        if overdue:
            alerts.append(
                Alert(
                    severity="info",
                    code="dxa_due",
                    message=(
                        f"last DXA {last.isoformat()}: a scan was due by {routine.isoformat()} "
                        f"(every {ctx.setting('monitoring.dxa_interval_months').value:g} months)"
                    ),
                    citations=[interval.cite],
                )
            )
            if not changed_therapy:
                next_dxa = ctx.as_of
    ctx.fired(
        "monitoring.dxa",
        f"next DXA {next_dxa.isoformat()}",
        [interval.cite],
        interval_months=interval.value,
        changed_therapy=changed_therapy,
    )
    return (
        Monitoring(
            next_dxa=next_dxa,
            next_dose=_next_dose(ctx, history),
            next_btm=_next_btm(ctx, facts, history),
        ),
        alerts,
    )
