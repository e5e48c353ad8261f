"""The seam the engine calls: one Option per regimen, from a patient's record.

Baselines come from the latest scan of each projected site (densitometry gives one trend
per site). The projection runs from the date of that scan, not from ``as_of``: a patient
continuing a course follows the drug's curve from the months already taken at the scan,
and the output is re-indexed so that month 0 is ``as_of`` (docs/model.md §8). The
prior-therapy modifier is the patient's most recent drug before the regimen. When the
regimen's first step continues an ongoing course and a scan exists shortly before the
course start (policy ``on_treatment.start_scan_window_months``) and another after it,
the observed change updates the forecast (shrinkage).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache, lru_cache

from osteotarget.dates import whole_months_between
from osteotarget.densitometry import reference_for, t_score_from_bmd
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient, TherapyCourse
from osteotarget.model.assessment import (
    Densitometry,
    Option,
    ProjectedPoint,
    RegimenStep,
    SitePoint,
    SiteTrend,
    Target,
    built,
    projected_point,
)
from osteotarget.model.codes import Drug
from osteotarget.projection.api import (
    Projection,
    TargetSpec,
    assemble,
    check_horizon,
    hip_percent_at_horizon,
    option_numbers,
    project,
)
from osteotarget.projection.forecast import (
    Baseline,
    Observed,
    SiteForecast,
    bmd_for_t,
    forecast_site,
    precision_percent,
    shifted,
)
from osteotarget.projection.quick import QuickPoint, quick_numbers
from osteotarget.projection.response import PROJECTED_SITES, ProjectedSite, max_months
from osteotarget.projection.trajectory import Regimen


@cache
def start_scan_window() -> int:
    """How long before a course start a scan may be and still count as its baseline."""
    return int(knowledge().number("responses.policy.on_treatment.start_scan_window_months"))


def _bmd(point: SitePoint, site: ProjectedSite) -> float | None:
    """BMD (g/cm²) on the scale the T-score conversion uses."""
    ref = reference_for(site)
    if point.bmd is not None and (ref is None or point.manufacturer == ref.scale):
        return point.bmd
    if point.t_score is None:
        return None
    return bmd_for_t(site, point.t_score)


def _precision(trend: SiteTrend, site: ProjectedSite) -> float:
    """%CV of the site's scans: the densitometry trend's own (facility study or ISCD
    default), else the ISCD default."""
    if trend.precision_percent is not None:
        return trend.precision_percent
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
    """The projected sites with at least one scan (densitometry gives one trend per site)."""
    chosen: dict[ProjectedSite, SiteTrend] = {}
    for trend in densitometry.sites:
        site = trend.site
        if site in PROJECTED_SITES and trend.points:
            key: ProjectedSite = site
            chosen[key] = trend
    return chosen


def _courses(patient: Patient, as_of: date) -> list[TherapyCourse]:
    return sorted(
        (c for c in patient.therapies if c.start <= as_of),
        key=lambda c: (c.end or as_of, c.start),
    )


def _context(
    patient: Patient, as_of: date, first: Drug, courses: list[TherapyCourse] | None = None
) -> tuple[Drug | None, TherapyCourse | None]:
    """(previous drug, the ongoing course of *first* or None); *courses*: the patient's
    :func:`_courses`, when found already."""
    if courses is None:
        courses = _courses(patient, as_of)
    ongoing = [c for c in courses if c.drug == first and (c.end is None or c.end >= as_of)]
    if ongoing:
        course = ongoing[-1]
        before = [c for c in courses if c is not course and (c.end or as_of) <= course.start]
        previous = before[-1].drug if before else None
        return previous, course
    previous = courses[-1].drug if courses else None
    return previous, None


def _observed(
    trend: SiteTrend, site: ProjectedSite, course: TherapyCourse, precision: float
) -> tuple[Baseline, Observed] | None:
    """(course-start baseline, observed change) when a scan lies within the start-scan
    window before the course start and a later scan after it; months between the scans."""
    window = start_scan_window()
    before = [
        p
        for p in trend.points
        if p.date <= course.start and whole_months_between(p.date, course.start) <= window
    ]
    after = [p for p in trend.points if p.date > course.start]
    if not before or not after:
        return None
    start, latest = before[-1], after[-1]
    b0, b1 = _bmd(start, site), _bmd(latest, site)
    baseline = _baseline(start, site, precision)
    if b0 is None or b1 is None or baseline is None or b0 <= 0:
        return None
    months = whole_months_between(start.date, latest.date)
    if months <= 0:
        return None
    return baseline, Observed(months=months, percent_change=(b1 / b0 - 1.0) * 100.0)


def _with_assumption(forecast: SiteForecast, text: str) -> SiteForecast:
    return replace(forecast, provenance=forecast.provenance.with_assumption(text))


def _from_scan(
    baseline: Baseline,
    scan: date,
    regimen: Regimen,
    previous: Drug | None,
    course: TherapyCourse | None,
    as_of: date,
    horizon: int,
    explain: bool = True,
) -> SiteForecast | None:
    """Forecast from the scan date, re-indexed so that month 0 is *as_of*.

    Continuing *course* (the regimen's first drug): the path starts at the later of the
    scan and the course start, with the months of the drug already taken by then; the
    first step is lengthened by the months up to *as_of* so it ends when the regimen says.
    Otherwise the scan's BMD is taken as today's (stated when the scan is not recent).
    *explain*: False leaves these assumptions unstated (numbers and citations only).
    """
    site = baseline.site
    if course is None:
        forecast = forecast_site(baseline, regimen, previous, horizon)
        age = whole_months_between(scan, as_of)
        if forecast is not None and age > 0 and explain:
            forecast = _with_assumption(
                forecast,
                f"{site}: latest scan {scan.isoformat()} is {age} months before "
                f"{as_of.isoformat()}; its BMD is taken as today's (no change assumed since).",
            )
        return forecast
    start = max(scan, course.start)
    elapsed = whole_months_between(course.start, scan)
    offset = whole_months_between(start, as_of)
    notes: list[str] = []
    if scan < course.start and whole_months_between(scan, course.start) > 0:
        notes.append(
            f"{site}: BMD assumed unchanged between the scan ({scan.isoformat()}) and the "
            f"{course.drug} course start ({course.start.isoformat()})."
        )
    if offset + horizon > max_months():
        kept = max_months() - horizon
        notes.append(
            f"{site}: the scan is {offset} months old; the path from it is capped at "
            f"{max_months()} months, so the last {offset - kept} months before today are "
            "not projected (taken as no change)."
        )
        offset = kept
    drug, months = regimen[0]
    lengthened: Regimen = ((drug, None if months is None else months + offset), *regimen[1:])
    forecast = forecast_site(baseline, lengthened, previous, horizon + offset, elapsed)
    if forecast is None:
        return None
    if offset > 0:
        notes.append(
            f"{site}: projected from the scan of {scan.isoformat()} ({elapsed} months into "
            f"the {course.drug} course), {offset} months before {as_of.isoformat()}."
        )
    forecast = shifted(forecast, offset, horizon)
    for text in notes if explain else ():
        forecast = _with_assumption(forecast, text)
    return forecast


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


_REGIMENS: dict[int, tuple[tuple[RegimenStep, ...], Regimen]] = {}
_REGIMENS_MAX = 1024  # entries, not clinical


def _regimen_of(steps: Sequence[RegimenStep]) -> Regimen:
    """(drug, months) of every step; kept for an immutable tuple of (frozen) steps, such as
    the catalogue's, which is projected for every patient."""
    hit = _REGIMENS.get(id(steps))
    if hit is not None and hit[0] is steps:
        return hit[1]
    regimen: Regimen = tuple((s.drug, s.months) for s in steps)
    if isinstance(steps, tuple):
        if len(_REGIMENS) >= _REGIMENS_MAX:
            _REGIMENS.clear()
        _REGIMENS[id(steps)] = (steps, regimen)
    return regimen


@dataclass(frozen=True, slots=True)
class ProjectedNumbers:
    """What one regimen's Option shows from the projection, before the Option is built:
    the probability of every target, the (month, site, T, low, high) points (month 0 is
    *as_of*; values of the declared types) and the citations."""

    probability_of_target: float | None
    points: tuple[QuickPoint, ...]
    citations: tuple[str, ...]


_NO_NUMBERS = ProjectedNumbers(None, (), ())


def forecast_options(
    patient: Patient,
    as_of: date,
    densitometry: Densitometry,
    regimens: Sequence[Sequence[RegimenStep]],
    targets: Sequence[Target],
    horizon_months: int,
) -> list[Option]:
    """One Option per regimen (same order) with probability_of_target and projected T-scores.

    Month 0 of every projected point is *as_of*. The engine sets eligible /
    excluded_because / cautions / rank. The numbers come from :func:`forecast_numbers`.
    """
    horizon = min(max(horizon_months, 1), max_months())
    numbers = forecast_numbers(patient, as_of, densitometry, regimens, targets, horizon_months)
    return [
        _option_data(steps, n.probability_of_target, n.points, horizon, n.citations)
        for steps, n in zip(regimens, numbers, strict=True)
    ]


def forecast_numbers(
    patient: Patient,
    as_of: date,
    densitometry: Densitometry,
    regimens: Sequence[Sequence[RegimenStep]],
    targets: Sequence[Target],
    horizon_months: int,
) -> list[ProjectedNumbers]:
    """The numbers of :func:`forecast_options` (same order), without building Options: the
    engine builds each Option once, ranked. A regimen that does not continue an ongoing
    course goes through the vectorised fast path (``quick.quick_many``: the same numbers,
    no Projection object), all such regimens at once; one that continues a course (scan
    dates, on-treatment update) through the per-site forecasts."""
    horizon = min(max(horizon_months, 1), max_months())
    trends = _trends(densitometry)
    specs = _targets(targets)
    latest = _latest_baselines(trends)
    sites = tuple(latest)
    courses = _courses(patient, as_of)
    contexts: dict[Drug, tuple[Drug | None, TherapyCourse | None]] = {}
    data: list[ProjectedNumbers | None] = []
    fresh_at: list[int] = []
    pairs: list[tuple[Regimen, Drug | None]] = []
    for steps in regimens:
        regimen = _regimen_of(steps)
        if not regimen:
            data.append(_NO_NUMBERS)
            continue
        check_horizon(regimen, horizon)
        first = regimen[0][0]
        if first not in contexts:
            contexts[first] = _context(patient, as_of, first, courses)
        previous, course = contexts[first]
        if course is None:
            fresh_at.append(len(data))
            pairs.append((regimen, previous))
            data.append(None)
            continue
        data.append(_course_numbers(trends, regimen, specs, horizon, previous, course, as_of))
    if pairs:
        results = quick_numbers(list(latest.values()), pairs, specs, horizon)
        for i, (regimen, previous), (probability, points) in zip(
            fresh_at, pairs, results, strict=True
        ):
            data[i] = ProjectedNumbers(
                probability, tuple(points), _citations(regimen, previous, horizon, sites)
            )
    numbers = [n for n in data if n is not None]
    if len(numbers) != len(data):
        raise ValueError("a regimen was left without an option")
    return numbers


def _latest_baselines(
    trends: dict[ProjectedSite, SiteTrend],
) -> dict[ProjectedSite, Baseline]:
    """Each site's latest scan as a baseline (sites without a T-score or BMD left out)."""
    out: dict[ProjectedSite, Baseline] = {}
    for site, trend in trends.items():
        baseline = _baseline(trend.points[-1], site, _precision(trend, site))
        if baseline is not None:
            out[site] = baseline
    return out


@lru_cache(maxsize=4096)
def _citations(
    regimen: Regimen, previous: Drug | None, horizon: int, sites: tuple[ProjectedSite, ...]
) -> tuple[str, ...]:
    """The citations of a fresh-start projection: they depend on the regimen, the prior
    drug, the horizon and the measured sites, never on the patient's values."""
    baselines = [Baseline.from_t_score(site, 0.0) for site in sites]
    return project(baselines, regimen, [], horizon, previous).citations


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def _option_data(
    regimen: Sequence[RegimenStep],
    probability: float | None,
    points: Sequence[tuple[int, ProjectedSite, float, float, float]],
    horizon: int,
    citations: tuple[str, ...],
) -> Option:
    """An Option from the projected numbers. They are converted to the declared types here
    (int months, float T-scores, as validation would), so the Option is built without
    validating it again."""
    return built(
        Option,
        regimen=list(regimen),
        probability_of_target=_number(probability),
        horizon_months=int(horizon),
        projected_t_scores=[
            projected_point(int(month), site, float(t), _number(low), _number(high))
            for month, site, t, low, high in points
        ],
        excluded_because=[],
        cautions=[],
        basis="projection",
        citations=list(citations),
    )


def _course_forecasts(
    trends: dict[ProjectedSite, SiteTrend],
    regimen: Regimen,
    horizon: int,
    previous: Drug | None,
    course: TherapyCourse | None,
    as_of: date,
    explain: bool = True,
) -> dict[ProjectedSite, SiteForecast | None]:
    """Per-site forecasts from the scans (ongoing course, on-treatment update), month 0 =
    *as_of* (*explain*: False leaves the scan-date assumptions unstated)."""
    elapsed = whole_months_between(course.start, as_of) if course is not None else 0
    forecasts: dict[ProjectedSite, SiteForecast | None] = {}
    for site, trend in trends.items():
        precision = _precision(trend, site)
        update = _observed(trend, site, course, precision) if course is not None else None
        if update is not None:
            forecasts[site] = forecast_site(
                update[0], regimen, previous, horizon, elapsed, update[1]
            )
            continue
        latest = trend.points[-1]
        baseline = _baseline(latest, site, precision)
        if baseline is not None:
            forecasts[site] = _from_scan(
                baseline, latest.date, regimen, previous, course, as_of, horizon, explain
            )
    return forecasts


def _project_one(
    trends: dict[ProjectedSite, SiteTrend],
    regimen: Regimen,
    specs: Sequence[TargetSpec],
    horizon: int,
    previous: Drug | None,
    course: TherapyCourse | None,
    as_of: date,
) -> Projection:
    """The full projection of one regimen (scan dates, ongoing course, on-treatment update)."""
    elapsed = whole_months_between(course.start, as_of) if course is not None else 0
    return assemble(
        _course_forecasts(trends, regimen, horizon, previous, course, as_of),
        regimen,
        specs,
        horizon,
        hip_percent_at_horizon(regimen, previous, horizon, elapsed),
    )


def _course_numbers(
    trends: dict[ProjectedSite, SiteTrend],
    regimen: Regimen,
    specs: Sequence[TargetSpec],
    horizon: int,
    previous: Drug | None,
    course: TherapyCourse,
    as_of: date,
) -> ProjectedNumbers:
    """The numbers of a regimen that continues *course* (no Projection), converted to the
    declared types (int months, float T-scores) as validation would."""
    elapsed = whole_months_between(course.start, as_of)
    probability, points, citations = option_numbers(
        _course_forecasts(trends, regimen, horizon, previous, course, as_of, explain=False),
        specs,
        horizon,
        hip_percent_at_horizon(regimen, previous, horizon, elapsed),
    )
    return ProjectedNumbers(
        _number(probability),
        tuple(
            (int(month), site, float(t), float(low), float(high))
            for month, site, t, low, high in points
        ),
        citations,
    )


def project_options(
    patient: Patient,
    as_of: date,
    densitometry: Densitometry,
    regimens: Sequence[Sequence[RegimenStep]],
    targets: Sequence[Target],
    horizon: int,
    full_for: Collection[int] | None = None,
) -> list[Projection | None]:
    """The Projection behind each Option (None for an empty regimen), with its assumptions.

    *full_for*: build Projections only for these indices (e.g. the options shown); the
    others are None. Default: every regimen.
    """
    trends = _trends(densitometry)
    specs = _targets(targets)
    contexts: dict[Drug, tuple[Drug | None, TherapyCourse | None]] = {}
    out: list[Projection | None] = []
    for index, steps in enumerate(regimens):
        regimen: Regimen = tuple((s.drug, s.months) for s in steps)
        if not regimen or (full_for is not None and index not in full_for):
            out.append(None)
            continue
        check_horizon(regimen, horizon)
        first = regimen[0][0]
        if first not in contexts:
            contexts[first] = _context(patient, as_of, first)
        previous, course = contexts[first]
        out.append(_project_one(trends, regimen, specs, horizon, previous, course, as_of))
    return out
