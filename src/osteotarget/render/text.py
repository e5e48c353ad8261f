"""Plain-text rendering of an assessment for the terminal, with the explanation trace."""

from __future__ import annotations

from osteotarget.model.assessment import Assessment, Change, Densitometry, Risk, Target


def _fmt(value: float | None, spec: str = "+.2f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def _words(text: str | None) -> str:
    return (text or "").replace("_", " ")


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
        f"Densitometry: {_words(d.classification) or 'unclassified'}"
        + (
            f" (lowest T {d.lowest_t_score:+.1f} at {_words(d.lowest_t_site)})"
            if d.lowest_t_score is not None
            else ""
        )
    ]
    for s in d.sites:
        latest = s.points[-1]
        side = f" {s.side}" if s.side else ""
        lines.append(
            f"  {_words(s.site)}{side}: latest {latest.date} T {_fmt(latest.t_score, '+.1f')}"
            f" [{latest.t_score_source}] BMD {_fmt(latest.bmd, '.3f', ' g/cm²')}"
            + (
                f" — {_words(s.classification)}"
                if s.classification
                else (f" — Z {latest.z_score:+.1f}" if latest.z_score is not None else "")
            )
        )
        lines.append(_change("since baseline", s.since_baseline))
        lines.append(_change("since previous", s.since_previous))
    lines.extend(f"  note: {n}" for n in d.notes)
    return lines


def render_risk(r: Risk) -> list[str]:
    lines = [f"Risk: {r.headline}" + (" (imminent)" if r.imminent else "")]
    lines.extend(f"  - {reason.text} [{', '.join(reason.citations)}]" for reason in r.reasons)
    for f in r.frax:
        label = "MOF" if f.outcome == "mof" else "hip"
        adjusted = "" if f.adjusted is None else f" → adjusted {f.adjusted:.1f}%"
        lines.append(f"  FRAX {label} ({f.date}): entered {f.entered:g}%{adjusted}")
        lines.extend(f"      · {a.text}" for a in f.adjustments)
    return lines


def _target(t: Target) -> str:
    if t.metric == "no_new_fracture":
        what = "no new fracture"
    elif t.metric == "function":
        what = f"function ≥ {t.value:g}" if t.value is not None else "function"
    else:
        value = "" if t.value is None else f" {t.value:+.1f}"
        what = f"{_words(t.site)} {_words(t.metric)} {t.operator}{value}"
    by = f" by {t.by}" if t.by else ""
    met = {True: " [met]", False: " [not met]", None: ""}[t.met]
    return f"  - {what}{by}{met}: {t.rationale} [{', '.join(t.citations)}]"


def render_assessment(a: Assessment) -> str:
    lines = [
        f"osteotarget assessment — patient {a.patient_id}, as of {a.as_of}, profile {a.profile}",
        f"(engine {a.engine_version}, knowledge {a.knowledge_version})",
        "",
    ]
    critical = [al for al in a.alerts if al.severity == "critical"]
    if critical:
        lines.append("CRITICAL:")
        lines.extend(f"  !! {al.code}: {al.message}" for al in critical)
        lines.append("")
    if a.risk is not None:
        lines.extend(render_risk(a.risk))
        lines.append("")
    if a.targets:
        lines.append("Targets:")
        lines.extend(_target(t) for t in a.targets)
        lines.append("")
    s = a.status
    if s.explanation or s.target_met is not None:
        met = {True: "met", False: "not met", None: "not judged"}[s.target_met]
        track = {True: "on track", False: "not on track", None: "path not judged"}[s.on_track]
        lines.append(f"Status: target {met}; {track}. {s.explanation}")
        lines.append("")
    if a.densitometry is not None:
        lines.extend(render_densitometry(a.densitometry))
        lines.append("")
    if a.options:
        basis = a.options[0].basis
        lines.append(
            "Options (ranked"
            + (
                ": eligible first, the profile's first-line choices next, then by expected "
                "response — projection unavailable"
                if basis == "expected_response"
                else ": eligible first, the profile's first-line choices next, then by chance "
                "of reaching the target"
            )
            + "):"
        )
        for o in a.options:
            regimen = " → ".join(
                f"{st.drug}{f' {st.months} mo' if st.months else ''}" for st in o.regimen
            )
            p = "—" if o.probability_of_target is None else f"{o.probability_of_target:.0%}"
            expected = (
                f", expected T {o.expected_t_at_horizon:+.1f} "
                f"({(o.expected_t_site or '').replace('_', ' ')})"
                if o.expected_t_at_horizon is not None
                else ""
            )
            flag = "" if o.eligible else f" [not eligible: {'; '.join(o.excluded_because)}]"
            flag = (" [first-line]" if o.first_line else "") + flag
            lines.append(
                f"  {o.rank or '-'}. {regimen}: P(target in {o.horizon_months} mo) {p}"
                f"{expected}{flag}"
            )
            lines.extend(f"       caution: {c}" for c in o.cautions)
        if any(o.probability_of_target is None for o in a.options):
            lines.append("  (— = not projected: no projection for this regimen or record; see Why)")
        lines.append("")
    if a.recommendations:
        lines.append("Next steps (most urgent first, for the clinician to weigh):")
        for r in a.recommendations:
            when = f" ({r.when})" if r.when else ""
            regimen = f" [{' → '.join(st.drug for st in r.regimen)}]" if r.regimen else ""
            lines.append(
                f"  - {r.action.upper()}{regimen}{when}: {r.rationale} [{', '.join(r.citations)}]"
            )
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
        lines.append("Why (rules that fired, in order):")
        for i, step in enumerate(a.trace, 1):
            cites = f" [{', '.join(step.citations)}]" if step.citations else ""
            lines.append(f"  {i}. {step.rule}: {step.outcome}{cites}")
            if step.inputs:
                shown = ", ".join(f"{k}={v}" for k, v in step.inputs.items())
                lines.append(f"       inputs: {shown}")
        lines.append("")
    if a.unverified_inputs:
        lines.append("Unverified knowledge used (check before relying on it):")
        lines.extend(f"  - {p}" for p in a.unverified_inputs)
        lines.append("")
    if a.citations:
        lines.append("Sources:")
        lines.extend(f"  [{c.key}] {c.text}" for c in a.citations)
        lines.append("")
    lines.append(a.disclaimer)
    return "\n".join(lines)
