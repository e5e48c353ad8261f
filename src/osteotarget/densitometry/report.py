"""The densitometry part of an assessment: per-site trend, classification, findings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from osteotarget.densitometry.classification import who_category, worst
from osteotarget.densitometry.precision import Precision
from osteotarget.densitometry.trend import (
    change_between,
    point_of,
    precision_for,
    primary_series,
    series_of_points,
)
from osteotarget.model.assessment import Densitometry, Finding, SiteTrend, WhoCategory, built
from osteotarget.model.codes import SITES, Site
from osteotarget.model.record import Patient


def assess_densitometry(
    patient: Patient,
    as_of: date,
    precision: Mapping[Site, Precision] | None = None,
) -> Densitometry:
    """Trend, LSC and WHO classification of every DXA site up to *as_of*.

    *precision* maps a site to the facility's own precision (from a precision study);
    sites without one use the ISCD minimum acceptable precision, marked as a default.
    """
    visits = [v for v in patient.dxa if v.date <= as_of]
    fragility_fracture = any(f.fragility and f.date <= as_of for f in patient.fractures)
    findings: list[Finding] = []
    notes: list[str] = []
    seen_findings: set[str] = set()

    def add(finding: Finding | None) -> None:
        if finding is not None and finding.message not in seen_findings:
            seen_findings.add(finding.message)
            findings.append(finding)

    # One point per measurement, computed once (point_of is pure).
    pointed = [
        (i, visit, *point_of(visit, m))
        for i, visit in enumerate(visits)
        for m in visit.measurements
    ]
    for _, _, _, finding in pointed:
        add(finding)

    series = series_of_points((visit, point) for _, visit, point, _ in pointed)
    trends: list[SiteTrend] = []
    for site in SITES:
        chosen = primary_series(series, site)
        if not chosen:
            continue
        prec = precision_for(site, precision)
        since_baseline = since_previous = None
        if len(chosen) >= 2:
            since_baseline, f1 = change_between(chosen[0], chosen[-1], prec)
            since_previous, f2 = change_between(chosen[-2], chosen[-1], prec)
            add(f2)
            add(f1)
        latest = chosen[-1][1]
        trends.append(
            built(
                SiteTrend,
                site=site,
                side=latest.side,
                region=latest.region,
                points=[p for _, p in chosen],
                since_baseline=since_baseline,
                since_previous=since_previous,
                classification=(
                    who_category(latest.t_score, fragility_fracture)
                    if latest.t_score is not None
                    else None
                ),
                lsc_source=prec.source if prec else "none",
                lsc_percent=prec.lsc_percent() if prec else None,
                precision_percent=prec.percent_cv if prec else None,
            )
        )
        if any(p.t_score_source == "reported" and p.t_score_computed is None for _, p in chosen):
            notes.append(
                f"{site}: T-score as reported by the scanner (no verified young-adult reference "
                "for this site or manufacturer)."
            )
        if prec is not None and prec.source == "iscd_minimum_default":
            notes.append(
                f"{site}: LSC from the ISCD minimum acceptable precision ({prec.percent_cv:g}% → "
                f"LSC {prec.lsc_percent():.1f}%), not a facility precision study."
            )

    # Overall classification: the lowest T-score at the latest visit's diagnostic sites.
    overall: WhoCategory | None = None
    lowest_t = lowest_site = None
    if visits:
        candidates = [
            (p.t_score, p.site)
            for i, _, p, _ in pointed
            if i == len(visits) - 1 and p.t_score is not None
        ]
        if candidates:
            lowest_t, lowest_site = min(candidates)
            overall = worst([who_category(t, fragility_fracture) for t, _ in candidates])
    citations = ["watts2013", "iscd_precision", "kanis1994"]
    citations += [c for f in findings for c in f.citations if c not in citations]
    # Every part was built from values of the declared types: not validated again.
    return built(
        Densitometry,
        sites=trends,
        classification=overall,
        lowest_t_score=lowest_t,
        lowest_t_site=lowest_site,
        findings=findings,
        notes=notes,
        citations=citations,
    )
