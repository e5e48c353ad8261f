"""The seam the engine calls: one Option per regimen, from a patient's record.

Baselines come from the latest scan of each projected site (the lowest T-score where both
sides were scanned). The prior-therapy modifier is the patient's most recent drug before
the regimen. When the regimen's first step continues an ongoing course and a scan exists
at or before the course start, the observed change updates the forecast (shrinkage).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from osteotarget.densitometry import bmd_from_t_score, reference_for, t_score_from_bmd
from osteotarget.densitometry.precision import lsc_multiplier
from osteotarget.model import Patient, TherapyCourse
from osteotarget.model.assessment import (
    Densitometry,
    Option,
    ProjectedPoint,
    RegimenStep,
    SitePoint,
    SiteTrend,
    Target,
)
from osteotarget.model.codes import Drug
from osteotarget.projection.api import Projection, TargetSpec, project
from osteotarget.projection.forecast import Baseline, Observed, precision_percent, site_reference
from osteotarget.projection.response import PROJECTED_SITES, ProjectedSite, max_months
from osteotarget.projection.trajectory import Regimen


def months_between(start: date, end: date) -> int:
    """Whole months from *start* to *end* (never negative)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def _bmd(point: SitePoint, site: ProjectedSite) -> float | None:
    """BMD (g/cm²) on the scale the T-score conversion uses."""
    ref = reference_for(site)
    if point.bmd is not None and (ref is None or point.manufacturer == ref.scale):
        return point.bmd
    if point.t_score is None:
        return None
    bmd = bmd_from_t_score(site, point.t_score)
    if bmd is None:
        spine = site_reference(site)
        bmd = spine.mean + point.t_score * spine.sd
    return bmd


def _precision(trend: SiteTrend, site: ProjectedSite) -> float:
    if trend.lsc_source == "facility" and trend.lsc_percent is not None:
        return trend.lsc_percent / lsc_multiplier()
    return precision_percent(site)


def _baseline(point: SitePoint, site: ProjectedSite, precision: float) -> Baseline | None:
    bmd = _bmd(point, site)
    t_score = point.t_score
    if t_score is None and point.bmd is not None:
        t_score = t_score_from_bmd(site, point.bmd, point.manufacturer)
    if t_score is None or bmd is None:
        return None
    return Baseline(site, t_score, bmd, precision)


def _trends(densitometry: Densitometry) -> dict[ProjectedSite, SiteTrend]:
    chosen: dict[ProjectedSite, SiteTrend] = {}
    for trend in densitometry.sites:
        site = trend.site
        if site not in PROJECTED_SITES or not trend.points:
            continue
        key: ProjectedSite = site
        latest = trend.points[-1].t_score
        current = chosen.get(key)
        if current is None or (
            latest is not None
            and (current.points[-1].t_score is None or latest < current.points[-1].t_score)
        ):
            chosen[key] = trend
    return chosen


def _courses(patient: Patient, as_of: date) -> list[TherapyCourse]:
    return sorted(
        (c for c in patient.therapies if c.start <= as_of),
        key=lambda c: (c.end or as_of, c.start),
    )


def _context(
    patient: Patient, as_of: date, first: Drug
) -> tuple[Drug | None, int, TherapyCourse | None]:
    """(previous drug, months of *first* already taken, the ongoing course of *first*)."""
    courses = _courses(patient, as_of)
    ongoing = [c for c in courses if c.drug == first and (c.end is None or c.end >= as_of)]
    if ongoing:
        course = ongoing[-1]
        before = [c for c in courses if c is not course and (c.end or as_of) <= course.start]
        previous = before[-1].drug if before else None
        return previous, months_between(course.start, as_of), course
    previous = courses[-1].drug if courses else None
    return previous, 0, None


def _observed(
    trend: SiteTrend, site: ProjectedSite, course: TherapyCourse, precision: float
) -> tuple[Baseline, Observed] | None:
    before = [p for p in trend.points if p.date <= course.start]
    after = [p for p in trend.points if p.date > course.start]
    if not before or not after:
        return None
    start, latest = before[-1], after[-1]
    b0, b1 = _bmd(start, site), _bmd(latest, site)
    baseline = _baseline(start, site, precision)
    if b0 is None or b1 is None or baseline is None or b0 <= 0:
        return None
    months = months_between(course.start, latest.date)
    if months <= 0:
        return None
    return baseline, Observed(months=months, percent_change=(b1 / b0 - 1.0) * 100.0)


def _targets(targets: Sequence[Target]) -> list[TargetSpec]:
    specs: list[TargetSpec] = []
    for target in targets:
        if target.value is None or target.operator == "==":
            continue
        site = target.site if target.site in PROJECTED_SITES else None
        if target.site is not None and site is None:
            continue
        specs.append(
            TargetSpec(
                value=target.value,
                metric=target.metric,
                operator=target.operator,
                site=site,
            )
        )
    return specs


def _option(regimen: Sequence[RegimenStep], projection: Projection) -> Option:
    points = [
        ProjectedPoint(month=p.month, site=p.site, t_score=p.t_score, low=p.low, high=p.high)
        for site in projection.sites
        for p in site.points
    ]
    return Option(
        regimen=list(regimen),
        probability_of_target=projection.probability_of_target,
        horizon_months=projection.horizon_months,
        projected_t_scores=points,
        basis="projection",
        citations=list(projection.citations),
    )


def forecast_options(
    patient: Patient,
    as_of: date,
    densitometry: Densitometry,
    regimens: Sequence[Sequence[RegimenStep]],
    targets: Sequence[Target],
    horizon_months: int,
) -> list[Option]:
    """One Option per regimen (same order) with probability_of_target and projected T-scores.

    The engine sets eligible / excluded_because / cautions / rank.
    """
    horizon = min(max(horizon_months, 1), max_months())
    trends = _trends(densitometry)
    specs = _targets(targets)
    options: list[Option] = []
    for steps in regimens:
        regimen: Regimen = tuple((s.drug, s.months) for s in steps)
        if not regimen:
            options.append(Option(regimen=[], horizon_months=horizon, basis="projection"))
            continue
        previous, elapsed, course = _context(patient, as_of, regimen[0][0])
        baselines: list[Baseline] = []
        observed: dict[ProjectedSite, Observed] = {}
        for site, trend in trends.items():
            precision = _precision(trend, site)
            update = _observed(trend, site, course, precision) if course is not None else None
            if update is not None:
                baselines.append(update[0])
                observed[site] = update[1]
                continue
            baseline = _baseline(trend.points[-1], site, precision)
            if baseline is not None:
                baselines.append(baseline)
        # Without a scan at the course start a continuing course is projected from the
        # latest scan, following its curve on from the months already taken.
        projection = project(baselines, regimen, specs, horizon, previous, elapsed, observed)
        options.append(_option(steps, projection))
    return options
