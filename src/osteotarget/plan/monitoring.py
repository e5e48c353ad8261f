"""Monitoring dates: next DXA (1-2 years; sooner after a change of therapy), next dose of a
parenteral drug, next bone-turnover-marker check; ``dxa_due`` when a scan is overdue."""

from __future__ import annotations

from datetime import date

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, drug_info, is_bisphosphonate, is_oral, kind_of
from osteotarget.dates import add_months
from osteotarget.model.assessment import Alert, Monitoring, built
from osteotarget.plan.anabolic import course_limit
from osteotarget.plan.common import NextStep
from osteotarget.plan.workup import denosumab_gap

_BTM = "rules.monitoring.btm"


_NEW_REGIMEN = ("start", "resume", "escalate", "switch", "consolidate", "follow_on")


def _interval(ctx: Context, drug: str) -> float | None:
    if "dose_interval_months" not in drug_info(drug):
        return None
    return ctx.number(f"drugs.drugs.{drug}.dose_interval_months")


def _next_dose(ctx: Context, history: History, step: NextStep) -> date | None:
    """The next dose of the current parenteral drug, unless the plan stops, switches,
    escalates or follows on from it: then the first dose of the new regimen (its
    recommendation date) when that is a scheduled parenteral drug, else none. A
    romosozumab dose beyond the 12-month course limit is never scheduled."""
    course = history.current()
    if course is not None and course.drug not in step.stops:
        months = _interval(ctx, course.drug)
        if months is None:
            return None
        last = history.last_dose(course) or course.start
        due = max(add_months(last, months), ctx.as_of)
        if course.drug == "romosozumab":
            limit = ctx.setting("anabolic.romosozumab_max_months").value
            if due >= add_months(course.start, limit):
                return None
        return due
    new = next(
        (r for r in step.recommendations if r.action in _NEW_REGIMEN and r.regimen),
        None,
    )
    if new is None or new.regimen is None or _interval(ctx, new.regimen[0].drug) is None:
        return None
    return new.when


def anabolic_course_end(ctx: Context, history: History, step: NextStep) -> date | None:
    """The end of the current anabolic course the plan continues: a planned end on record,
    else romosozumab one interval after its last monthly dose (12 doses, label), else the PTH
    analogue's remaining lifetime months from today (label limit)."""
    course = history.current()
    if course is None or kind_of(course.drug) != "anabolic" or course.drug in step.stops:
        return None
    if course.end is not None and course.end > ctx.as_of:
        return course.end
    limit = course_limit(ctx, course.drug)
    if course.drug == "romosozumab":
        interval = ctx.number("drugs.drugs.romosozumab.dose_interval_months")
        given = [d for d in course.doses if d <= ctx.as_of]
        if not given:
            return add_months(course.start, limit)
        remaining = max(limit / interval - len(given), 0.0)
        return add_months(max(given), (remaining + 1) * interval)
    used = history.cumulative_months(("teriparatide", "abaloparatide"))
    return add_months(ctx.as_of, max(limit - used, 0.0))


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
    ctx: Context, facts: Facts, history: History, step: NextStep, holiday_review: date | None
) -> tuple[Monitoring, list[Alert]]:
    alerts: list[Alert] = []
    changed_therapy = step.changed_therapy
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
        end = anabolic_course_end(ctx, history, step)
        if end is not None and end < next_dxa:
            # Our reading of Lewiecki 2021 Fig. 3 (BMD every 1-2 years to judge progress; at
            # the end of an anabolic course the target decides the consolidation): a DXA at
            # the end of the course, no new interval (the label course limits date it).
            next_dxa = max(end, ctx.as_of)
            ctx.fired(
                "monitoring.dxa_end_of_anabolic",
                f"a DXA at the end of the anabolic course ({end.isoformat()}), before the "
                "consolidating antiresorptive is chosen",
                ["lewiecki2021"],
            )
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
            # An overdue routine scan is due now, whatever the plan changes (the new
            # regimen's baseline is today's scan).
            next_dxa = ctx.as_of
        elif denosumab_gap(ctx, facts, history, "overdue_after_months") is not None:
            # The last scan precedes a gap in denosumab (bone is lost after stopping, ECTS
            # 2021): it no longer shows where the patient stands; a scan is due now.
            next_dxa = ctx.as_of
            ctx.fired(
                "monitoring.dxa_after_denosumab_gap",
                f"last DXA {last.isoformat()} precedes the gap in denosumab: a DXA now",
                ["tsourdi2021"],
            )
    ctx.fired(
        "monitoring.dxa",
        f"next DXA {next_dxa.isoformat()}",
        [interval.cite],
        interval_months=interval.value,
        changed_therapy=changed_therapy,
    )
    return (
        built(
            Monitoring,
            next_dxa=next_dxa,
            next_dose=_next_dose(ctx, history, step),
            next_btm=_next_btm(ctx, facts, history),
        ),
        alerts,
    )
