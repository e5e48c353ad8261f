"""Generate ``docs/knowledge.md`` from the knowledge files: every rule and every number with
its source and evidence tag.

    python -m osteotarget.knowledge.docgen > docs/knowledge.md
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from osteotarget.knowledge.loader import KnowledgeBase, knowledge

_DEFAULTS = "rules.profile_defaults"


def _rule_text(rule: Mapping[str, Any]) -> str:
    criterion = str(rule.get("criterion", ""))
    if criterion in ("all_of", "any_of"):
        joiner = " AND " if criterion == "all_of" else " OR "
        return "(" + joiner.join(_rule_text(r) for r in rule.get("rules", [])) + ")"
    parts = [criterion]
    for key in ("sites", "op", "value", "outcome", "within_months", "min_count", "min_mg"):
        if key in rule:
            value = rule[key]
            shown = "/".join(value) if isinstance(value, list) else value
            parts.append(f"{key}={shown}")
    if rule.get("injurious"):
        parts.append("injurious")
    return " ".join(str(p) for p in parts)


def _cites(entry: Mapping[str, Any]) -> str:
    keys = [str(entry["cite"])] if "cite" in entry else []
    keys += [str(c) for c in entry.get("citations", [])]
    return ", ".join(dict.fromkeys(keys))


def _profile(kb: KnowledgeBase, name: str, raw: Mapping[str, Any]) -> Iterator[str]:
    yield f"### Profile `{name}` — {raw.get('title', name)}"
    yield ""
    yield str(raw.get("description", ""))
    yield ""
    yield f"Sources: {', '.join(raw.get('citations', []))}"
    yield ""
    yield "| category | criterion | label | source | evidence |"
    yield "|---|---|---|---|---|"
    for rule in raw.get("risk", {}).get("rules", []):
        yield (
            f"| {rule['category']} | {_rule_text(rule)} | {rule.get('label', '')} | "
            f"{_cites(rule)} | {rule.get('evidence', '')} |"
        )
    yield ""
    first = raw.get("first_line", {})
    if first:
        yield f"First line ({first.get('order', 'preference')} order): {first.get('policy', '')}"
        for level in ("very_high", "high", "moderate", "low"):
            if level in first:
                yield f"- {level}: {', '.join(first[level]) or 'no drug'}"
        yield ""
    prefix = f"profiles.{name}."
    own = [q for p, q in kb.quantities.items() if p.startswith(prefix) and ".risk.rules" not in p]
    if own:
        yield "Settings this profile overrides (others come from the defaults):"
        yield ""
        yield "| setting | value | unit | source | evidence |"
        yield "|---|---|---|---|---|"
        for q in own:
            yield (
                f"| {q.path.removeprefix(prefix)} | {q.value:g} | {q.unit} | {q.cite} | "
                f"{q.evidence} |"
            )
        yield ""
    for key in ("targets", "response", "anabolic", "holiday", "risk"):
        table = raw.get(key, {})
        words = {k: v for k, v in table.items() if isinstance(v, str | bool)}
        if words:
            yield f"- {key}: " + "; ".join(f"{k} = {v}" for k, v in words.items())
    yield ""


def _drugs(kb: KnowledgeBase) -> Iterator[str]:
    yield "## Therapy catalogue (`drugs.toml`)"
    yield ""
    yield "| drug | class | route | interval | renal limit | contraindications / cautions |"
    yield "|---|---|---|---|---|---|"
    for drug, info in kb.table("drugs.drugs").items():
        renal = info.get("renal")
        renal_text = ""
        if renal:
            q = kb.quantity(f"drugs.drugs.{drug}.renal.min_clearance")
            renal_text = f"{renal['action']} below {q.value:g} {q.unit} ({q.cite}, {q.evidence})"
        contra = "; ".join(
            f"{c['action']}: {c['condition']} ({c['cite']}, {c['evidence']})"
            for c in info.get("contraindications", [])
        )
        yield (
            f"| {drug} | {info['class']} | {info['route']} | {info['interval']} | "
            f"{renal_text} | {contra} |"
        )
    yield ""
    yield "### Candidate regimens and expected total-hip response (fallback ranking)"
    yield ""
    yield "| regimen | steps | expected TH change | source | evidence |"
    yield "|---|---|---|---|---|"
    for key, entry in kb.table("drugs.regimens").items():
        steps = " → ".join(
            f"{s['drug']}{' ' + str(s['months']) + ' mo' if 'months' in s else ''}"
            for s in entry["steps"]
        )
        e = entry.get("expected_total_hip_percent")
        if e:
            yield (
                f"| {key} | {steps} | +{e['value']:g}% at {e['months']} mo ({e['unit']}) | "
                f"{e['cite']} | {e['evidence']} |"
            )
        else:
            yield f"| {key} | {steps} | not on file | | |"
    yield ""


def _rules(kb: KnowledgeBase) -> Iterator[str]:
    yield "## Rules without numbers (sequences, work-up, follow-on, lifestyle)"
    yield ""
    yield "| rule | what it says | source |"
    yield "|---|---|---|"
    for c in kb.get("rules.sequencing.cautions"):
        yield (
            f"| sequence {'/'.join(c['after'])} → {'/'.join(c['before'])} ({c['severity']}) | "
            f"{c['text']} | {', '.join(c['citations'])} ({c.get('evidence', '')}) |"
        )
    workup = kb.table("rules.labs.workup")
    yield (
        f"| secondary-cause work-up | tests: {', '.join(workup['tests'])} | "
        f"{', '.join(workup['citations'])} |"
    )
    follow = kb.table("rules.monitoring.follow_on")
    yield (
        f"| after denosumab | follow-on order: {', '.join(follow['drugs'])} | "
        f"{', '.join(follow['citations'])} |"
    )
    for key in ("exercise", "falls"):
        entry = kb.table(f"rules.lifestyle.{key}")
        yield f"| lifestyle: {key} | {entry['text']} | {', '.join(entry['citations'])} |"
    yield ""


def render(kb: KnowledgeBase) -> str:
    lines = [
        "# Knowledge: every rule and number, with its source and evidence tag",
        "",
        "Generated by `python -m osteotarget.knowledge.docgen` from `src/osteotarget/knowledge/`",
        f"(knowledge version {kb.version}). Do not edit by hand.",
        "",
        "Evidence tags: **verified** (seen in retrieved primary text), **secondary** (seen only",
        "in a secondary source), **unverified** (recalled or not found; configurable, and listed",
        "in an assessment's `unverified_inputs` whenever it is used).",
        "",
        "## Guideline profiles",
        "",
        "Each profile is `knowledge/profiles/NAME.toml` merged over",
        "`knowledge/rules/profile_defaults.toml`. The default profile is `t2t2024`.",
        "",
    ]
    for name, raw in sorted(kb.table("profiles").items()):
        lines.extend(_profile(kb, name, raw))
    lines.extend(_drugs(kb))
    lines.extend(_rules(kb))
    lines.append("## Every cited number")
    lines.append("")
    lines.append("| knowledge path | value | unit | source | evidence | note |")
    lines.append("|---|---|---|---|---|---|")
    for path in sorted(kb.quantities):
        q = kb.quantities[path]
        note = q.note.replace("|", "/")
        lines.append(f"| {path} | {q.value:g} | {q.unit} | {q.cite} | {q.evidence} | {note} |")
    lines.append("")
    counts = {tag: 0 for tag in ("verified", "secondary", "unverified")}
    for q in kb.quantities.values():
        counts[q.evidence] += 1
    lines.append("Totals: " + ", ".join(f"{n} {tag}" for tag, n in counts.items()) + " numbers.")
    lines.append("")
    lines.append("## Sources")
    lines.append("")
    for key in sorted(kb.citations):
        c = kb.citations[key]
        note = f" — {c.note}" if c.note else ""
        lines.append(f"- **{key}**: {c.authors}. {c.title}. {c.short()}{note}")
    lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def render_pathway(kb: KnowledgeBase) -> str:
    """``docs/pathway.md``: the decision table the engine runs, row by row."""
    table = kb.table("rules.pathway")
    facts: Mapping[str, Any] = table["facts"]
    lines = [
        "# The treat-to-target pathway: one decision table",
        "",
        "Generated by `python -m osteotarget.knowledge.docgen pathway` from",
        "`src/osteotarget/knowledge/rules/pathway.toml` and the profiles.",
        "Do not edit by hand: `make docs` regenerates it, and a test checks it matches.",
        "",
        "The engine computes the named facts below for the patient, then takes the **first**",
        "row whose conditions all hold (a fact a row does not name matches any value). The last",
        "row matches everything, so every combination of facts gives exactly one primary",
        "action; the tests walk the whole input space. Branch modules only fill in the",
        "details (which drug, which dates, the words). `recommendations[0]` of an assessment is",
        "this primary action: the most urgent step (critical safety first).",
        "",
        "## Facts",
        "",
        "| fact | meaning | values |",
        "|---|---|---|",
    ]
    for name, fact in facts.items():
        values = "; ".join(f"`{v}`: {_cell(str(t))}" for v, t in fact["values"].items())
        lines.append(f"| `{name}` | {_cell(str(fact['text']))} | {values} |")
    lines += [
        "",
        "## Rows (first match wins)",
        "",
        "| # | row | when | primary action | urgency | reason | sources |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(table["rows"], 1):
        when = dict(row.get("when", {}))
        cond = (
            " AND ".join(f"{k} ∈ {{{', '.join(v)}}}" for k, v in when.items())
            if when
            else "anything (catch-all)"
        )
        lines.append(
            f"| {index} | `{row['id']}` | {cond} | **{row['action']}** ({row['detail']}) | "
            f"{row.get('urgency', 'routine')} | {_cell(str(row['reason']))} | "
            f"{', '.join(row.get('citations', []))} |"
        )
    lines += ["", "## Profile overrides", ""]
    any_override = False
    for name, raw in sorted(kb.table("profiles").items()):
        for over in raw.get("pathway", {}).get("overrides", []):
            any_override = True
            changed = ", ".join(f"{k} = {v}" for k, v in over.items() if k != "id")
            lines.append(f"- **{name}**: row `{over['id']}` → {_cell(changed)}")
    if not any_override:
        lines.append(
            "None: every profile runs the table above; profiles differ through their settings "
            "(risk rules, targets, first-line lists, escalation policy, response rule, labels)."
        )
    lines += [
        "",
        "## Profile settings the rows depend on",
        "",
        "| profile | response rule | adequate response needs | escalation | judge path | "
        "labels region / outside | change margin |",
        "|---|---|---|---|---|---|---|",
    ]
    defaults = kb.table(_DEFAULTS)
    for name, raw in sorted(kb.table("profiles").items()):

        def get(section: str, key: str, raw: Mapping[str, Any] = raw) -> str:
            value = raw.get(section, {}).get(key, defaults.get(section, {}).get(key, ""))
            if isinstance(value, Mapping) and "value" in value:
                return f"{value['value']:g} ({value['evidence']})"
            return str(value)

        lines.append(
            f"| {name} | {get('response', 'rule')} | {get('response', 'adequate_needs')} | "
            f"{get('response', 'escalation')} | {get('response', 'judge_path')} | "
            f"{get('labels', 'region') or 'either'} / {get('labels', 'outside') or 'exclude'} | "
            f"{get('change', 'min_probability_gain')} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "pathway":
        print(render_pathway(knowledge()), end="")
        return
    print(render(knowledge()), end="")


if __name__ == "__main__":
    main()
