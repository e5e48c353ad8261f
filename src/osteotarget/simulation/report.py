"""Plots (PNG and SVG, matplotlib Agg) and the HTML report (PDF via WeasyPrint on request)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, select_autoescape

from osteotarget.simulation.params import OUTCOMES

if TYPE_CHECKING:
    from osteotarget.simulation.api import SimulationResult

_PER_1000 = 1000.0  # noqa: knowledge (per 1,000)
_MONTHS_PER_YEAR = 12.0  # noqa: knowledge (calendar)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    for p in paths:
        fig.savefig(p, dpi=110, bbox_inches="tight")
    return paths


def write_plots(res: SimulationResult, out: Path) -> list[Path]:
    plt = _pyplot()
    written: list[Path] = []
    # share at target over time
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, runs in res.results.items():
        series = np.stack([r.at_target for r in runs])
        years = np.arange(series.shape[1]) / _MONTHS_PER_YEAR
        ax.plot(years, series.mean(axis=0) * 100, label=name)
        if len(runs) > 1:
            ax.fill_between(years, series.min(axis=0) * 100, series.max(axis=0) * 100, alpha=0.2)
    ax.set_xlabel("years")
    ax.set_ylabel(f"% with total-hip T > {res.target:g}")
    ax.set_title("Share at target over time")
    ax.legend()
    written += _save(fig, out, "share_at_target")
    plt.close(fig)
    # cumulative fractures per 1,000 patients
    fig, ax = plt.subplots(figsize=(7, 4))
    n = max(res.cohort.n, 1)
    for name, runs in res.results.items():
        total = np.stack([sum(r.cumulative[k] for k in OUTCOMES) for r in runs]).mean(axis=0)
        years = np.arange(total.size) / _MONTHS_PER_YEAR
        ax.plot(years, total * _PER_1000 / n, label=name)
    ax.set_xlabel("years")
    ax.set_ylabel("fractures per 1,000 patients (cumulative)")
    ax.set_title("Cumulative fractures (all)")
    ax.legend()
    written += _save(fig, out, "cumulative_fractures")
    plt.close(fig)
    # cost vs fractures avoided
    fig, ax = plt.subplots(figsize=(6, 4))
    comps = res.summary.comparisons
    if comps and res.prices is not None:
        for name, c in comps.items():
            ax.scatter(c["fractures_avoided"]["mean"], c["extra_cost"]["mean"], label=name)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ref = next(iter(comps.values()))["versus"]
        ax.set_xlabel(f"fractures avoided vs {ref}")
        ax.set_ylabel(f"extra cost vs {ref} ({res.prices.currency})")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no price table given (--prices FILE)", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title("Cost vs fractures avoided")
    written += _save(fig, out, "cost_vs_fractures_avoided")
    plt.close(fig)
    return written


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>osteotarget strategy simulation</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}
th{background:#eee}.note{background:#fff6d5;padding:.5rem}</style></head><body>
<h1>Strategy simulation</h1>
<p class="note">{{ d.disclaimer }}</p>
<p>{{ d.cohort.patients }} patients ({{ d.cohort.excluded_without_total_hip_t }} left out:
no total-hip T-score), {{ d.years }} years, seed {{ d.seed }}, {{ d.runs }} run(s).
Target: total-hip T-score &gt; {{ d.target.value }}.
Intervals: 2.5th-97.5th percentiles over runs.</p>
<h2>Strategies</h2><ul>{% for s in d.strategies %}
<li><b>{{ s.name }}</b>: {{ s.label }}</li>{% endfor %}</ul>
<h2>Outcomes</h2>
<table><tr><th>strategy</th><th>at target, year {{ d.years }}</th>
<th>fractures /1,000 PY (all)</th><th>hip</th><th>vertebral</th><th>DXA scans</th>
<th>injections (daily ones counted each day)</th><th>infusions</th>
<th>below target at baseline: reached it</th>
<th>median months to target</th>
{% if d.prices %}<th>cost per patient</th>{% endif %}</tr>
{% for name, o in d.outcomes.items() %}<tr><td>{{ name }}</td>
<td>{{ pct(o.at_target_by_year[-1]) }}</td>
<td>{{ iv(o.fractures_per_1000_py.all) }}</td>
<td>{{ iv(o.fractures_per_1000_py.hip) }}</td>
<td>{{ iv(o.fractures_per_1000_py.vertebral) }}</td>
<td>{{ num(o.dxa_scans.mean) }}</td>
<td>{{ num(o.injections.mean) }}</td><td>{{ num(o.infusions.mean) }}</td>
<td>{{ pct(o.share_below_target_reaching_it) }}</td>
<td>{{ num(o.median_months_to_target.mean) }}</td>
{% if d.prices %}<td>{{ iv(o.cost_per_patient) }}</td>{% endif %}</tr>{% endfor %}</table>
<h3>Drug-years by class</h3>
<table><tr><th>strategy</th><th>class</th><th>drug-years</th></tr>
{% for name, o in d.outcomes.items() %}{% for cls, v in o.drug_years_by_class.items() %}
<tr><td>{{ name }}</td><td>{{ cls }}</td><td>{{ num(v.mean) }}</td></tr>
{% endfor %}{% endfor %}</table>
<h2>Plots</h2>
<img src="share_at_target.png" alt="share at target over time per strategy" width="640">
<img src="cumulative_fractures.png" alt="cumulative fractures per strategy" width="640">
<img src="cost_vs_fractures_avoided.png" alt="cost versus fractures avoided" width="520">
<h2>Subgroups</h2>
<table><tr><th>strategy</th><th>subgroup</th><th>value</th><th>patients</th>
<th>fractures /1,000 PY</th><th>at target at end</th></tr>
{% for r in d.subgroups %}<tr><td>{{ r.strategy }}</td><td>{{ r.subgroup }}</td>
<td>{{ r.value }}</td><td>{{ num(r.n) }}</td><td>{{ num(r.fractures_per_1000_py) }}</td>
<td>{{ pct(r.at_target_end) }}</td></tr>{% endfor %}</table>
<h2>Unverified inputs</h2><p>{{ d.unverified_inputs | join(", ") }}</p>
</body></html>
"""


def write_html(
    res: SimulationResult, data: dict[str, Any], out: Path, pdf: bool = False
) -> list[Path]:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)

    def num(v: Any) -> str:
        return "–" if v is None else f"{float(v):,.1f}"

    def pct(v: Any) -> str:
        if isinstance(v, dict):
            v = v.get("mean")
        return "–" if v is None else f"{float(v) * 100:.1f}%"

    def iv(v: Any) -> str:
        if not isinstance(v, dict) or v.get("mean") is None:
            return "–"
        if data["runs"] > 1:
            return f"{v['mean']:,.2f} ({v['low']:,.2f}–{v['high']:,.2f})"
        return f"{v['mean']:,.2f}"

    html = template.render(d=data, num=num, pct=pct, iv=iv)
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    written = [path]
    if pdf:
        from weasyprint import HTML

        pdf_path = out / "report.pdf"
        HTML(string=html, base_url=str(out)).write_pdf(pdf_path)
        written.append(pdf_path)
    return written
