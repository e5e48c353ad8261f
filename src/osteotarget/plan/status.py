"""Where the patient stands against the targets: per-site latest T-score, change since
baseline, whether the change exceeds the LSC, and whether the path reaches the target.

Response is not success (Lewiecki 2021, Fig. 1): a patient can respond and still not be
on a path to the target, so the path is judged by extrapolating the on-treatment
T-score slope to the target date, not by the response alone.
"""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, kind_of
from osteotarget.dates import add_months, years_between
from osteotarget.model.assessment import SiteStatus, Status, Target, built, rebuilt
from osteotarget.model.codes import Site
from osteotarget.plan.workup import denosumab_gap


def _met(target: Target, latest: float, baseline: float | None) -> bool | None:
    if target.value is None:
        return None
    if target.metric == "t_score":
        return latest > target.value
    if target.metric == "t_score_change" and baseline is not None:
        return latest - baseline >= target.value
    return None


def judge_status(
    ctx: Context, facts: Facts, history: History, targets: list[Target], baseline: dict[Site, float]
) -> Status:
    bmd_targets = [t for t in targets if t.metric in ("t_score", "t_score_change") and t.site]
    sites: list[SiteStatus] = []
    met_flags: list[bool] = []
    for trend in ctx.densitometry.sites:
        target = next((t for t in bmd_targets if t.site == trend.site), None)
        latest = trend.points[-1]
        change = trend.since_baseline
        met = (
            _met(target, latest.t_score, baseline.get(trend.site))
            if target is not None and latest.t_score is not None
            else None
        )
        if met is not None:
            met_flags.append(met)
        sites.append(
            built(
                SiteStatus,
                site=trend.site,
                latest_t_score=latest.t_score,
                latest_date=latest.date,
                change_since_baseline_t=change.t_units if change else None,
                change_since_baseline_percent=change.percent if change else None,
                exceeds_lsc=change.exceeds_lsc if change else None,
                target_value=target.value if target else None,
                target_met=met,
            )
        )
        for index, t in enumerate(targets):
            if t is target and met is not None:
                update: dict[str, object] = {"met": met}
                if not met and t.by is not None and t.by < ctx.as_of:
                    update["rationale"] = (
                        f"{t.rationale}; target date {t.by.isoformat()} passed, not met"
                    )
                targets[index] = rebuilt(t, **update)
    primary = bmd_targets[0].site if bmd_targets else None
    primary_met = next(
        (st.target_met for st in sites if st.site == primary and st.target_met is not None),
        None,
    )
    # Target status is judged at the primary site (total hip; femoral neck if the hip is
    # missing); other sites are reported beside it and do not drive a change.
    target_met = primary_met if primary is not None else (all(met_flags) if met_flags else None)
    stale = _stale_scan(ctx, facts, history, sites, primary) if target_met else None
    if stale is not None:
        # Attainment is never declared from a scan that no longer shows where the patient
        # stands (older than the monitoring interval, or before a gap in denosumab).
        target_met = None
        sites = [rebuilt(st, target_met=None) if st.target_met else st for st in sites]
        for index, t in enumerate(targets):
            if t.metric in ("t_score", "t_score_change") and t.site and t.met:
                targets[index] = rebuilt(t, met=None, rationale=f"{t.rationale}; {stale}")
        on_track, why = None, stale
    else:
        on_track, why = _path(ctx, facts, history, bmd_targets, target_met)
    if any(t.metric == "no_new_fracture" and t.met is False for t in targets):
        # A fragility fracture since treatment began breaks the basic target whatever the BMD
        # rate (Lewiecki 2021 Fig. 3; IOF 2012): never "on a path".
        if on_track:
            why = why.replace("on a path to the target", "the BMD rate alone would suffice")
        on_track = False
        why += (
            "; but a fragility fracture since treatment began: not on a path (failure assessment)"
        )
    others = [
        f"{st.site.replace('_', ' ')} {st.latest_t_score:+.1f}"
        + (
            ""
            if st.target_met is None
            else (" (at target)" if st.target_met else " (not at target)")
        )
        for st in sites
        if st.site != primary and st.latest_t_score is not None
    ]
    if primary is not None and target_met is not None:
        lead = f"{'at' if target_met else 'not at'} target at the {primary.replace('_', ' ')}"
        why = (
            f"{lead}; "
            + (
                f"other sites (reported, not driving a change): {', '.join(others)}; "
                if others
                else ""
            )
            + why
        )
    ctx.fired(
        "status.path",
        why,
        ["lewiecki2021", "cummings2013"],
        target_met=target_met,
        on_track=on_track,
    )
    # Built from values of the declared types: not validated again.
    return built(Status, target_met=target_met, on_track=on_track, sites=sites, explanation=why)


def _stale_scan(
    ctx: Context,
    facts: Facts,
    history: History,
    sites: list[SiteStatus],
    primary: Site | None,
) -> str | None:
    """Why the scan that meets the target cannot show attainment today, or None: older than
    the monitoring interval (Lewiecki 2021 Fig. 3: BMD every 1 to 2 years), or taken before
    a gap in denosumab beyond the overdue threshold (ECTS 2021, Tsourdi: BMD is lost within
    a year of stopping)."""
    st = next((s for s in sites if s.site == primary and s.latest_date is not None), None)
    if st is None or st.latest_date is None or st.latest_t_score is None:
        return None
    scan = st.latest_date
    met = (
        f"the last DXA ({scan.isoformat()}) met the target at the "
        f"{st.site.replace('_', ' ')} (T {st.latest_t_score:+.1f})"
    )
    after = "target attainment is not declared from it; a DXA is needed before deciding"
    gap = denosumab_gap(ctx, facts, history, "overdue_after_months")
    if gap is not None:
        last_dose = gap[0]
        why = (
            f"{met} but precedes the gap in denosumab (last dose {last_dose.isoformat()}, "
            f"overdue after {ctx.number('rules.monitoring.denosumab.overdue_after_months'):g} "
            "months; bone is lost after stopping)"
        )
        ctx.fired("status.scan_before_denosumab_gap", why, ["tsourdi2021"], last_dxa=scan)
        return f"{why}: {after} (e.g. before a follow-on or resuming denosumab)"
    interval = ctx.setting("monitoring.dxa_interval_months")
    if add_months(scan, interval.value) < ctx.as_of:
        years = years_between(scan, ctx.as_of)
        why = (
            f"{met} but is {years:.1f} years old, beyond the {interval.value:g}-month "
            "monitoring interval (out of date)"
        )
        ctx.fired("status.scan_out_of_date", why, [interval.cite], last_dxa=scan)
        return f"{why}: {after} (e.g. before a bisphosphonate holiday)"
    return None


def _off_treatment(history: History) -> str:
    """No course running today. After a completed anabolic course with no antiresorptive
    since, the patient is not "untreated": the course is complete and consolidation is due
    (Lewiecki 2021 Fig. 3: an anabolic course is followed by an antiresorptive to consolidate
    the gain; Cosman 2017)."""
    last = history.last()
    if (
        last is not None
        and kind_of(last.drug) == "anabolic"
        and history.followed_by(last, "antiresorptive") is None
    ):
        return (
            f"{last.drug} course complete (ended {history.end_of(last).isoformat()}), no "
            "antiresorptive since: consolidation with an antiresorptive is due; the path is "
            "judged once it has started"
        )
    return "not on treatment: the path is judged once treatment has started"


def _path(
    ctx: Context,
    facts: Facts,
    history: History,
    targets: list[Target],
    target_met: bool | None,
) -> tuple[bool | None, str]:
    if target_met:
        return True, "the primary site meets its target"
    if not targets:
        if not facts.latest_t:
            return None, "no DXA on record: the BMD target is set after the scan"
        return (
            None,
            "no BMD target set (profile, Z-score population, or untreated below the "
            "treatment threshold)",
        )
    course = history.current()
    if course is None:
        return None, _off_treatment(history)
    primary = targets[0]
    trend = next((s for s in ctx.densitometry.sites if s.site == primary.site), None)
    if trend is None:
        return None, f"no {primary.site} measurement to judge the path"
    start = course.start
    before = [p for p in trend.points if p.date <= start and p.t_score is not None]
    after = [p for p in trend.points if p.date > start and p.t_score is not None]
    if not before or not after:
        return None, "needs a scan before and a scan on treatment to judge the path"
    base, last = before[-1], after[-1]
    years = years_between(base.date, last.date)
    if years <= 0 or primary.by is None or base.t_score is None or last.t_score is None:
        return None, "scans too close together to judge the path"
    slope = (last.t_score - base.t_score) / years
    period = ctx.setting("targets.reasonable_period_months").value
    deadline = max(primary.by, add_months(course.start, period))
    remaining = max(0.0, years_between(last.date, deadline))
    projected = last.t_score + slope * remaining
    goal = primary.value if primary.metric == "t_score" else base.t_score + (primary.value or 0)
    if goal is None:
        return None, "target value open"
    trend_word = "responding" if slope > 0 else "not responding"
    where = trend.site.replace("_", " ")
    # R6 (Lewiecki 2021 Fig. 3: the target in a reasonable period): a responder whose rate
    # reaches the target within the profile's reasonable period from now is on a path, even
    # when the first target date has passed or will pass.
    reach = (
        (goal - last.t_score) / slope - years_between(last.date, ctx.as_of)
        if slope > 0 and last.t_score < goal
        else None
    )
    window = years_between(ctx.as_of, add_months(ctx.as_of, period))
    if reach is not None and 0 < reach <= window and not projected > goal:
        return True, (
            f"responding ({slope:+.2f} T/year at {where}; T {last.t_score:+.1f} at the last "
            f"DXA {last.date.isoformat()} vs target {goal:+.1f}): at this rate the target is "
            f"expected in about {reach:.1f} years from now, within the reasonable period "
            f"({period:g} months): on a path to the target"
        )
    if deadline < ctx.as_of:
        # The target date has passed without the target: say so, and project from now
        # rather than "by" a date already gone.
        if last.t_score >= goal:
            return None, (
                f"target date {deadline.isoformat()} passed; {where} T {last.t_score:+.1f} at "
                f"the target's threshold ({goal:+.1f}) but not above it: path not judged, "
                "the next DXA will show"
            )
        elif slope > 0 and (goal - last.t_score) / slope <= years_between(last.date, ctx.as_of):
            return None, (
                f"target date {deadline.isoformat()} passed (T {last.t_score:+.1f} at the last "
                f"DXA {last.date.isoformat()} vs target {goal:+.1f}); at its rate ({slope:+.2f} "
                f"T/year at {where}) the target may have been reached since: a DXA will show"
            )
        elif slope > 0:
            from_now = (goal - last.t_score) / slope - years_between(last.date, ctx.as_of)
            ahead = (
                f"at this rate ({slope:+.2f} T/year at {where}) the target would be reached in "
                f"about {from_now:.1f} years from now (projection), after the reasonable period"
            )
        else:
            ahead = f"{trend_word} ({slope:+.2f} T/year at {where}): not reached at this rate"
        return False, (
            f"target date {deadline.isoformat()} passed, not met (T {last.t_score:+.1f} vs "
            f"target {goal:+.1f}); {ahead}: not on a path to the target"
        )
    on_track = projected > goal if primary.metric == "t_score" else projected >= goal
    return on_track, (
        f"{trend_word} ({slope:+.2f} T/year at {where}); at this rate T "
        f"{projected:+.1f} by {deadline.isoformat()} vs target {goal:+.1f}: "
        + ("on a path to the target" if on_track else "not on a path to the target")
    )
