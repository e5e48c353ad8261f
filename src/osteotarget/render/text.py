"""Plain-text rendering of an assessment for the terminal."""

from __future__ import annotations

from osteotarget.model.assessment import Assessment, Change, Densitometry


def _fmt(value: float | None, spec: str = "+.2f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def _change(label: str, c: Change | None) -> str:
    if c is None:
        return f"    {label}: —"
    lsc = {True: "exceeds LSC", False: "within LSC", None: "LSC not judged"}[c.exceeds_lsc]
    return (
        f"    {label} ({c.from_date} → {c.to_date}, on {c.compared_on}): "
        f"{_fmt(c.bmd_g_cm2, '+.3f', ' g/cm²')}, {_fmt(c.percent, '+.1f', '%')}, "
        f"{_fmt(c.t_units, '+.2f', ' T')}; {lsc} → {c.direction}; "
        f"{_fmt(c.annualised_percent, '+.1f', '%/yr')}"
    )


def render_densitometry(d: Densitometry) -> list[str]:
    lines = [
        f"Densitometry: {(d.classification or 'unclassified').replace('_', ' ')}"
        + (f" (lowest T {d.lowest_t_score:+.1f} at {d.lowest_t_site})" if d.lowest_t_score else "")
    ]
    for s in d.sites:
        latest = s.points[-1]
        side = f" {s.side}" if s.side else ""
        lines.append(
            f"  {s.site}{side}: latest {latest.date} T {_fmt(latest.t_score, '+.1f')}"
            f" [{latest.t_score_source}] BMD {_fmt(latest.bmd, '.3f', ' g/cm²')}"
            f" — {(s.classification or '—').replace('_', ' ')}"
        )
        lines.append(_change("since baseline", s.since_baseline))
        lines.append(_change("since previous", s.since_previous))
    lines.extend(f"  note: {n}" for n in d.notes)
    return lines


def render_assessment(a: Assessment) -> str:
    lines = [
        f"osteotarget assessment — patient {a.patient_id}, as of {a.as_of}, profile {a.profile}",
        f"(engine {a.engine_version}, knowledge {a.knowledge_version})",
        "",
    ]
    if a.risk is not None:
        lines.append(f"Risk: {a.risk.category.replace('_', ' ')}")
        lines.extend(f"  - {r.text}" for r in a.risk.reasons)
        lines.append("")
    if a.targets:
        lines.append("Targets:")
        for t in a.targets:
            value = "" if t.value is None else f" {t.value:+.1f}"
            by = f" by {t.by}" if t.by else ""
            lines.append(f"  - {t.site or ''} {t.metric} {t.operator}{value}{by}: {t.rationale}")
        lines.append("")
    if a.densitometry is not None:
        lines.extend(render_densitometry(a.densitometry))
        lines.append("")
    if a.options:
        lines.append("Options (ranked):")
        for o in a.options:
            regimen = " → ".join(
                f"{s.drug}{f' {s.months} mo' if s.months else ''}" for s in o.regimen
            )
            p = "—" if o.probability_of_target is None else f"{o.probability_of_target:.0%}"
            flag = "" if o.eligible else f" [not eligible: {'; '.join(o.excluded_because)}]"
            lines.append(
                f"  {o.rank or '-'}. {regimen}: P(target in {o.horizon_months} mo) {p}{flag}"
            )
        lines.append("")
    if a.recommendations:
        lines.append("Next steps:")
        for r in a.recommendations:
            when = f" ({r.when})" if r.when else ""
            lines.append(f"  - {r.action.upper()}{when}: {r.rationale} [{', '.join(r.citations)}]")
        lines.append("")
    if a.alerts:
        lines.append("Alerts:")
        lines.extend(f"  [{al.severity}] {al.code}: {al.message}" for al in a.alerts)
        lines.append("")
    m = a.monitoring
    if m.next_dxa or m.next_dose or m.next_btm:
        lines.append(
            f"Monitoring: next DXA {m.next_dxa or '—'}, next dose {m.next_dose or '—'}, "
            f"next BTM {m.next_btm or '—'}"
        )
        lines.append("")
    if a.trace:
        lines.append("Why (rules that fired):")
        for i, step in enumerate(a.trace, 1):
            lines.append(f"  {i}. {step.rule}: {step.outcome} [{', '.join(step.citations)}]")
        lines.append("")
    lines.append(a.disclaimer)
    return "\n".join(lines)
