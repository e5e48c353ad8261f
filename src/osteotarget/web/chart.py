"""A small server-rendered SVG chart: T-score over time per site, with the target line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from osteotarget.dates import add_months
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient
from osteotarget.model.assessment import Assessment

WIDTH, HEIGHT = 680, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 16, 36
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


def target_line(assessment: Assessment | None) -> TargetLine:
    """The assessment's T-score target; else the WHO osteoporosis threshold (cited)."""
    if assessment is not None:
        for target in assessment.targets:
            if target.metric == "t_score" and target.value is not None:
                where = target.site.replace("_", " ") if target.site else "all sites"
                return TargetLine(
                    target.value, f"target {where} T {target.operator} {target.value:g}"
                )
    value = float(knowledge().get("classification.who.osteoporosis_max_t"))
    return TargetLine(value, f"WHO osteoporosis threshold T {value:g} (kanis1994)")


def _series(patient: Patient) -> dict[str, list[tuple[date, float]]]:
    out: dict[str, list[tuple[date, float]]] = {}
    for visit in patient.dxa:
        for m in visit.measurements:
            if m.t_score is not None:
                out.setdefault(m.site, []).append((visit.date, m.t_score))
    return out


def _projected(
    assessment: Assessment | None, as_of: date, series: dict[str, list[tuple[date, float]]]
) -> tuple[str, dict[str, list[tuple[date, float]]]]:
    """The first ranked eligible option's expected T-scores, from each site's last scan."""
    if assessment is None:
        return "", {}
    for option in assessment.options:
        if option.eligible and option.projected_t_scores:
            out: dict[str, list[tuple[date, float]]] = {}
            for point in option.projected_t_scores:
                if point.site in series:
                    out.setdefault(point.site, [series[point.site][-1]]).append(
                        (add_months(as_of, point.month), point.t_score)
                    )
            label = " → ".join(step.drug for step in option.regimen)
            return label, out
    return "", {}


def tscore_chart(patient: Patient, assessment: Assessment | None, as_of: date) -> str:
    series = _series(patient)
    line = target_line(assessment)
    projected_label, projected = _projected(assessment, as_of, series)
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
        f'<svg id="tscore-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        "<title>T-score over time with the target line</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    tick = float(int(high))
    while tick >= low:
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" class="tick" '
            f'text-anchor="end">{tick:g}</text>'
        )
        tick -= 1.0
    for year in range(start.year, end.year + 1):
        d = date(year, 1, 1)
        if start <= d <= end:
            parts.append(
                f'<text x="{x(d):.1f}" y="{HEIGHT - 14}" class="tick" '
                f'text-anchor="middle">{year}</text>'
            )
    parts.append(
        f'<line id="target-line" class="target-line" x1="{LEFT}" x2="{LEFT + plot_w}" '
        f'y1="{y(line.value):.1f}" y2="{y(line.value):.1f}" data-value="{line.value:g}"/>'
        f'<text x="{LEFT + plot_w + 6}" y="{y(line.value) + 4:.1f}" class="target-label">'
        f"{escape(line.label)}</text>"
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
                f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 3">'
                f"<title>expected with {escape(projected_label)}</title></polyline>"
            )
        parts.append("</g>")
        ly = TOP + 20 + 18 * index
        parts.append(
            f'<g class="legend" data-site="{site}" tabindex="0" role="button">'
            f'<rect x="{LEFT + plot_w + 6}" y="{ly + 20}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + plot_w + 20}" y="{ly + 29}" class="tick">'
            f"{site.replace('_', ' ')}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
