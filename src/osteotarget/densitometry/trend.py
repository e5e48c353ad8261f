"""Per-site series of scans and the changes between them.

A change is compared on BMD (same manufacturer), on standardised BMD (different
manufacturers, flagged ``device_changed``) or on T-score alone (no BMD), and judged
against the least significant change of that site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from osteotarget.dates import years_between
from osteotarget.densitometry.precision import Precision, default_precision
from osteotarget.densitometry.reference import t_score_from_bmd, t_score_tolerance
from osteotarget.densitometry.standardise import sbmd_mg_cm2, standardisation_citation
from osteotarget.model.assessment import Change, Finding, SitePoint, TScoreSource, built
from osteotarget.model.codes import Site
from osteotarget.model.record import DxaVisit, Measurement

SeriesKey = tuple[Site, str | None, str | None]


def point_of(visit: DxaVisit, m: Measurement) -> tuple[SitePoint, Finding | None]:
    """The point the software uses for one measurement, and a data_quality finding if any."""
    maker = visit.device.manufacturer
    computed = t_score_from_bmd(m.site, m.bmd, maker) if m.bmd is not None else None
    finding: Finding | None = None
    t: float | None
    source: TScoreSource
    if m.t_score is not None and computed is not None:
        t = m.t_score
        if abs(m.t_score - computed) > t_score_tolerance():
            source = "reported_differs"
            finding = Finding(
                code="data_quality",
                site=m.site,
                message=(
                    f"{visit.date.isoformat()} {m.site}: reported T-score {m.t_score:+.1f} differs "
                    f"from {computed:+.2f} computed from BMD {m.bmd:.3f} g/cm² against the "
                    "NHANES III reference; the reported value is kept. Check the scanner's "
                    "reference database and the record."
                ),
                citations=["watts2013", "looker1998"],
            )
        else:
            source = "reported"
    elif m.t_score is not None:
        t, source = m.t_score, "reported"
    else:
        t, source = computed, "computed"
    sbmd = sbmd_mg_cm2(m.site, maker, m.bmd) if m.bmd is not None else None
    # Values of the declared types (a validated record, float arithmetic): not validated
    # again.
    point = built(
        SitePoint,
        date=visit.date,
        site=m.site,
        side=m.side,
        region=m.region,
        manufacturer=maker,
        bmd=m.bmd,
        sbmd_mg_cm2=sbmd,
        t_score=t,
        t_score_reported=m.t_score,
        t_score_computed=computed,
        t_score_source=source,
        z_score=m.z_score,
    )
    return point, finding


def series_by_site(visits: Sequence[DxaVisit]) -> dict[SeriesKey, list[tuple[DxaVisit, SitePoint]]]:
    return series_of_points(
        (visit, point_of(visit, m)[0]) for visit in visits for m in visit.measurements
    )


def series_of_points(
    points: Iterable[tuple[DxaVisit, SitePoint]],
) -> dict[SeriesKey, list[tuple[DxaVisit, SitePoint]]]:
    """:func:`series_by_site` from points already computed (one point_of per measurement)."""
    series: dict[SeriesKey, list[tuple[DxaVisit, SitePoint]]] = {}
    for visit, point in points:
        series.setdefault((point.site, point.side, point.region), []).append((visit, point))
    return series


def primary_series(
    series: Mapping[SeriesKey, list[tuple[DxaVisit, SitePoint]]], site: Site
) -> list[tuple[DxaVisit, SitePoint]]:
    """The series to monitor at *site*: most scans, then most recent, then lowest T-score."""
    candidates = [s for key, s in series.items() if key[0] == site]
    if not candidates:
        return []
    return max(
        candidates,
        key=lambda s: (len(s), s[-1][1].date, -(s[-1][1].t_score or 0.0)),
    )


def change_between(
    before: tuple[DxaVisit, SitePoint],
    after: tuple[DxaVisit, SitePoint],
    precision: Precision | None,
) -> tuple[Change, Finding | None]:
    (v0, p0), (v1, p1) = before, after
    finding: Finding | None = None
    t_units = p1.t_score - p0.t_score if p1.t_score is not None and p0.t_score is not None else None
    same_maker = v0.device.manufacturer == v1.device.manufacturer
    bmd_delta: float | None = None
    percent: float | None = None
    compared_on: Literal["bmd", "sbmd", "t_score"] = "t_score"
    if same_maker and p0.bmd is not None and p1.bmd is not None:
        bmd_delta = p1.bmd - p0.bmd
        percent = 100.0 * bmd_delta / p0.bmd
        compared_on = "bmd"
    elif p0.sbmd_mg_cm2 is not None and p1.sbmd_mg_cm2 is not None:
        percent = 100.0 * (p1.sbmd_mg_cm2 - p0.sbmd_mg_cm2) / p0.sbmd_mg_cm2
        compared_on = "sbmd"
    if v0.device.key() != v1.device.key():
        how = "standardised BMD (sBMD)" if compared_on == "sbmd" else compared_on.replace("_", "-")
        finding = Finding(
            code="device_changed",
            site=p1.site,
            message=(
                f"{p1.site}: scans of {v0.date.isoformat()} and {v1.date.isoformat()} come from "
                f"different devices ({v0.device.manufacturer} {v0.device.model or ''} → "
                f"{v1.device.manufacturer} {v1.device.model or ''}); compared on {how}. "
                "The LSC of one scanner does not carry to another: treat the change with caution."
            ),
            citations=["iscd_precision", *_standardisation_cites(p1.site, compared_on)],
        )
    lsc_percent = precision.lsc_percent() if precision else None
    lsc_g = precision.lsc_g_cm2(p0.bmd) if precision and compared_on == "bmd" else None
    # Only a same-manufacturer BMD change can be judged against an LSC: sBMD carries an
    # individual conversion error of its own (≈3.5%, Hui 1997), so a cross-manufacturer
    # change is reported but never called significant.
    exceeds: bool | None = None
    if compared_on == "bmd" and bmd_delta is not None and lsc_g is not None:
        exceeds = abs(bmd_delta) >= lsc_g
    sign = bmd_delta if bmd_delta is not None else (percent if percent is not None else t_units)
    direction: Literal["gain", "loss", "stable", "unknown"]
    if exceeds is None or sign is None:
        direction = "unknown"
    elif not exceeds:
        direction = "stable"
    else:
        direction = "gain" if sign > 0 else "loss"
    years = years_between(p0.date, p1.date)
    change = built(
        Change,
        from_date=p0.date,
        to_date=p1.date,
        bmd_g_cm2=bmd_delta,
        percent=percent,
        t_units=t_units,
        lsc_g_cm2=lsc_g,
        lsc_percent=lsc_percent,
        exceeds_lsc=exceeds,
        direction=direction,
        compared_on=compared_on,
        annualised_percent=percent / years if percent is not None and years > 0 else None,
        annualised_t_units=t_units / years if t_units is not None and years > 0 else None,
    )
    return change, finding


def _standardisation_cites(site: Site, compared_on: str) -> list[str]:
    cite = standardisation_citation(site) if compared_on == "sbmd" else None
    return [cite] if cite else []


def precision_for(site: Site, overrides: Mapping[Site, Precision] | None) -> Precision | None:
    if overrides and site in overrides:
        return overrides[site]
    return default_precision(site)
