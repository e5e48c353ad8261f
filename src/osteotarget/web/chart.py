"""A small server-rendered SVG chart: T-score over time per site, the target band, a
"today" marker and one option's expected path; plus the same data as table rows (the
chart's text alternative)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from osteotarget.dates import add_months
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient
from osteotarget.model.assessment import Assessment, Option

WIDTH, HEIGHT = 680, 290
LEFT, RIGHT, TOP, BOTTOM = 62, 150, 16, 52
TICK = 'class="tick" font-size="11" fill="#333"'
AXIS = 'class="axis-title" font-size="12" font-weight="600" fill="#1b1b1b"'
COLOURS = {
    "total_hip": "#1f77b4",
    "femoral_neck": "#2ca02c",
    "lumbar_spine": "#9467bd",
    "one_third_radius": "#8c564b",
}


@dataclass(frozen=True)
class TargetLine:
    value: float
    label: str
    short: str = ""


def target_line(assessment: Assessment | None) -> TargetLine:
    """The assessment's T-score target; else the WHO osteoporosis threshold (cited)."""
    if assessment is not None:
        for target in assessment.targets:
            if target.metric == "t_score" and target.value is not None:
                where = target.site.replace("_", " ") if target.site else "all sites"
                return TargetLine(
                    target.value,
                    f"target {where} T {target.operator} {target.value:g}",
                    f"target T {target.operator} {target.value:g}",
                )
    value = float(knowledge().get("classification.who.osteoporosis_max_t"))
    return TargetLine(
        value, f"WHO osteoporosis threshold T {value:g} (kanis1994)", f"WHO T {value:g}"
    )


def _series(patient: Patient) -> dict[str, list[tuple[date, float]]]:
    out: dict[str, list[tuple[date, float]]] = {}
    for visit in patient.dxa:
        for m in visit.measurements:
            if m.t_score is not None:
                out.setdefault(m.site, []).append((visit.date, m.t_score))
    return out


@dataclass(frozen=True)
class ExpectedPath:
    """One regimen's expected T-scores by month from ``as_of`` (month, site, T)."""

    label: str
    points: tuple[tuple[int, str, float], ...]


def option_path(option: Option) -> ExpectedPath:
    label = " → ".join(step.drug for step in option.regimen)
    return ExpectedPath(
        label, tuple((p.month, p.site, p.t_score) for p in option.projected_t_scores)
    )


def default_path(assessment: Assessment | None) -> ExpectedPath | None:
    """The first ranked eligible option with a projection (what the page shows unasked)."""
    if assessment is None:
        return None
    for option in assessment.options:
        if option.eligible and option.projected_t_scores:
            return option_path(option)
    return None


def _projected(
    path: ExpectedPath | None, as_of: date, series: dict[str, list[tuple[date, float]]]
) -> dict[str, list[tuple[date, float]]]:
    """The path's expected T-scores, joined to each site's last scan."""
    out: dict[str, list[tuple[date, float]]] = {}
    if path is None:
        return out
    for month, site, t_score in sorted(path.points):
        if site in series:
            out.setdefault(site, [series[site][-1]]).append((add_months(as_of, month), t_score))
    return out


@dataclass(frozen=True)
class ChartRow:
    date: date
    site: str
    t_score: float
    kind: str


def chart_rows(patient: Patient, as_of: date, path: ExpectedPath | None) -> list[ChartRow]:
    """The chart as rows: every measured T-score, then the expected ones (text alternative)."""
    series = _series(patient)
    rows = [
        ChartRow(d, site.replace("_", " "), v, "measured")
        for site, points in series.items()
        for d, v in points
    ]
    for site, points in _projected(path, as_of, series).items():
        rows.extend(
            ChartRow(d, site.replace("_", " "), v, f"expected with {path.label}" if path else "")
            for d, v in points[1:]
        )
    return sorted(rows, key=lambda r: (r.kind != "measured", r.date, r.site))


def tscore_chart(
    patient: Patient,
    assessment: Assessment | None,
    as_of: date,
    path: ExpectedPath | None = None,
    today_label: str = "today",
) -> str:
    series = _series(patient)
    line = target_line(assessment)
    path = path if path is not None else default_path(assessment)
    projected_label = path.label if path else ""
    projected = _projected(path, as_of, series)
    dates = [d for points in series.values() for d, _ in points] or [as_of]
    dates += [d for points in projected.values() for d, _ in points]
    values = [v for points in series.values() for _, v in points] + [line.value]
    values += [v for points in projected.values() for _, v in points]
    start, end = min(dates), max(max(dates), as_of)
    span = max((end - start).days, 1)
    low, high = min(min(values) - 0.5, -3.0), max(max(values) + 0.5, 0.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: date) -> float:
        return LEFT + plot_w * (d - start).days / span

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    parts = [
        f'<svg id="tscore-chart" role="group" aria-labelledby="chart-title" '
        'aria-describedby="chart-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">T-score over time with the target band</title>',
        f'<desc id="chart-desc">Measured T-scores by site, {escape(line.label)}'
        + (f", and the expected path with {escape(projected_label)}" if projected else "")
        + ". The same data is in the table below the chart.</desc>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot" '
        'fill="#fff" stroke="#8a8a8a"/>',
    ]
    band_top = TOP if line.value <= high else y(line.value)
    parts.append(
        f'<rect id="target-band" class="target-band" fill="#2e7d32" fill-opacity="0.1" '
        f'x="{LEFT}" y="{band_top:.1f}" '
        f'width="{plot_w}" height="{max(y(line.value) - band_top, 0):.1f}"/>'
    )
    tick = float(int(high))
    while tick >= low:
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid" stroke="#e3e3e3"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" {TICK} '
            f'text-anchor="end">{tick:g}</text>'
        )
        tick -= 1.0
    step = 1 + (end.year - start.year) // 8
    for year in range(start.year, end.year + 1, step):
        d = date(year, 1, 1)
        if start <= d <= end:
            parts.append(
                f'<text x="{x(d):.1f}" y="{TOP + plot_h + 16}" {TICK} '
                f'text-anchor="middle">{year}</text>'
            )
    parts.append(
        f'<text {AXIS} x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" '
        'text-anchor="middle">Date (year)</text>'
        f'<text {AXIS} x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">T-score</text>'
    )
    parts.append(
        f'<line id="target-line" class="target-line" stroke="#b00020" stroke-width="2" '
        f'stroke-dasharray="6 4" x1="{LEFT}" x2="{LEFT + plot_w}" '
        f'y1="{y(line.value):.1f}" y2="{y(line.value):.1f}" data-value="{line.value:g}"/>'
        f'<text x="{LEFT + plot_w + 6}" y="{y(line.value) + 4:.1f}" class="target-label" '
        f'font-size="11" fill="#b00020">{escape(line.short)}</text>'
    )
    parts.append(
        f'<line id="today-line" class="today-line" stroke="#333" stroke-width="1.5" '
        f'x1="{x(as_of):.1f}" x2="{x(as_of):.1f}" '
        f'y1="{TOP}" y2="{TOP + plot_h}" data-date="{as_of.isoformat()}"/>'
        f'<text x="{x(as_of) + 3:.1f}" y="{TOP + 12}" class="today-label" font-size="11" '
        'fill="#1b1b1b">'
        f"{escape(today_label)}</text>"
    )
    for index, (site, points) in enumerate(sorted(series.items())):
        colour = COLOURS.get(site, "#333")
        coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
        parts.append(f'<g class="series" data-site="{site}">')
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for d, v in points:
            parts.append(
                f'<circle class="point" cx="{x(d):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                f"<title>{site.replace('_', ' ')} {d.isoformat()}: T {v:g}</title></circle>"
            )
        if site in projected:
            coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in projected[site])
            parts.append(
                f'<polyline class="projection" points="{coords}" fill="none" '
                f'stroke="{colour}" stroke-width="2" stroke-dasharray="3 3">'
                f"<title>expected with {escape(projected_label)}</title></polyline>"
            )
        parts.append("</g>")
        ly = TOP + 20 + 18 * index
        parts.append(
            f'<g class="legend" data-site="{site}" tabindex="0" role="button" '
            f'aria-pressed="false" aria-label="show or hide {site.replace("_", " ")}">'
            f'<rect x="{LEFT + plot_w + 6}" y="{ly + 20}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + plot_w + 20}" y="{ly + 29}" {TICK}>'
            f"{site.replace('_', ' ')}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
