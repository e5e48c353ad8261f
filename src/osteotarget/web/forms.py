"""Data-entry forms for the clinician's pages: which fields each record item has, how a
submitted form becomes a record item, and how a record problem maps back to the form field
that caused it (so every error is shown next to the field it names).

Pure: form values in, record dicts and :class:`Problem` lists out. Validation itself is the
record model's (the same checks as the API and the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from osteotarget.model import Problem
from osteotarget.model.codes import (
    CONDITION_CODES,
    DRUGS,
    FRACTURE_SITES,
    LAB_TESTS,
    SITES,
)

MANUFACTURERS = ("hologic", "ge_lunar", "norland", "other")
FRACTURE_SOURCES = ("clinical", "morphometric", "self_report")
ADHERENCE = ("unknown", "good", "poor")
FUNCTION_CONTEXTS = ("current", "pre_fracture")
SEXES = ("female", "male")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | date | number | select | checkbox | dates
    choices: tuple[str, ...] = ()
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Section:
    """One list of the record (``key``) as a form."""

    key: str
    title: str
    singular: str
    fields: tuple[FormField, ...]
    summary: Callable[[Mapping[str, Any]], str]
    to_item: Callable[[Mapping[str, str]], tuple[dict[str, Any], list[Problem]]] | None = None
    from_item: Callable[[Mapping[str, Any]], dict[str, str]] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _parse_fields(
    fields: tuple[FormField, ...], form: Mapping[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Form strings to record values: numbers parsed, empties left out, dates left to the
    model (its message names the field)."""
    item: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in fields:
        raw = (form.get(f.name) or "").strip()
        if f.kind == "checkbox":
            item[f.name] = raw in ("on", "true", "yes", "1")
            continue
        if not raw:
            if f.required:
                problems.append(Problem(f.name, "is required"))
            continue
        if f.kind == "number":
            try:
                item[f.name] = float(raw)
            except ValueError:
                problems.append(Problem(f.name, "is not a number", raw))
        elif f.kind == "dates":
            item[f.name] = [d for d in re.split(r"[\s,;]+", raw) if d]
        elif f.kind == "select" and raw not in f.choices:
            problems.append(Problem(f.name, f"is not one of {', '.join(f.choices)}", raw))
        else:
            item[f.name] = raw
    return item, problems


def _values(fields: tuple[FormField, ...], item: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields:
        value = item.get(f.name)
        if value is None:
            out[f.name] = ""
        elif f.kind == "checkbox":
            out[f.name] = "on" if value else ""
        elif f.kind == "dates":
            out[f.name] = ", ".join(str(v) for v in value)
        elif f.kind == "number":
            out[f.name] = f"{value:g}" if isinstance(value, float) else str(value)
        else:
            out[f.name] = str(value)
    return out


# ---- DXA: one visit, a measurement row per site ---------------------------------------

DXA_FIELDS = (
    FormField("date", "Scan date", "date", required=True),
    FormField("manufacturer", "Scanner manufacturer", "select", MANUFACTURERS, required=True),
    FormField("model", "Scanner model", "text"),
    *(
        f
        for site in SITES
        for f in (
            FormField(f"{site}_t", f"{_words(site)} T-score", "number"),
            FormField(f"{site}_bmd", f"{_words(site)} BMD (g/cm²)", "number"),
        )
    ),
)


def dxa_to_item(form: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    values, problems = _parse_fields(DXA_FIELDS, form)
    measurements = []
    for site in SITES:
        m: dict[str, Any] = {"site": site}
        if f"{site}_t" in values:
            m["t_score"] = values[f"{site}_t"]
        if f"{site}_bmd" in values:
            m["bmd"] = values[f"{site}_bmd"]
        if len(m) > 1:
            measurements.append(m)
    if not measurements and not problems:
        problems.append(Problem(f"{SITES[0]}_t", "at least one site needs a T-score or a BMD", ""))
    device = {"manufacturer": values.get("manufacturer", "")}
    if values.get("model"):
        device["model"] = values["model"]
    item = {"date": values.get("date", ""), "device": device, "measurements": measurements}
    return item, problems


def dxa_from_item(item: Mapping[str, Any]) -> dict[str, str]:
    out = {f.name: "" for f in DXA_FIELDS}
    out["date"] = str(item.get("date", ""))
    device = item.get("device") or {}
    out["manufacturer"] = str(device.get("manufacturer", ""))
    out["model"] = str(device.get("model") or "")
    for m in item.get("measurements", []):
        site = m.get("site")
        if m.get("t_score") is not None:
            out[f"{site}_t"] = f"{m['t_score']:g}"
        if m.get("bmd") is not None:
            out[f"{site}_bmd"] = f"{m['bmd']:g}"
    return out


def dxa_field(path: str, item: Mapping[str, Any]) -> str:
    """``measurements[1].t_score`` → the form field of that site's T-score."""
    found = re.match(r"measurements\[(\d+)\]\.?(\w*)", path)
    if not found:
        return {"device.manufacturer": "manufacturer", "device.model": "model"}.get(path, path)
    index, attribute = int(found.group(1)), found.group(2)
    measurements = item.get("measurements", [])
    if index >= len(measurements):
        return path
    site = measurements[index]["site"]
    return f"{site}_bmd" if attribute == "bmd" else f"{site}_t"


def _dxa_summary(item: Mapping[str, Any]) -> str:
    parts = [
        f"{_words(m.get('site'))} T {m['t_score']:+.1f}"
        if m.get("t_score") is not None
        else f"{_words(m.get('site'))} BMD {m.get('bmd')}"
        for m in item.get("measurements", [])
    ]
    device = (item.get("device") or {}).get("manufacturer", "")
    return f"{item.get('date')} · {_words(device)} · " + ", ".join(parts)


def _therapy_summary(t: Mapping[str, Any]) -> str:
    text = f"{_words(t.get('drug'))} from {t.get('start')}"
    text += f" to {t['end']}" if t.get("end") else " (ongoing)"
    doses = t.get("doses") or []
    return text + (f" · {len(doses)} dose(s), last {doses[-1]}" if doses else "")


def _generic(fields: tuple[FormField, ...]) -> dict[str, Any]:
    return {
        "to_item": lambda form: _parse_fields(fields, form),
        "from_item": lambda item: _values(fields, item),
    }


THERAPY_FIELDS = (
    FormField("drug", "Drug", "select", DRUGS, required=True),
    FormField("start", "Start date", "date", required=True),
    FormField("end", "End date", "date", help="leave empty while the course is ongoing"),
    FormField(
        "doses",
        "Dose dates",
        "dates",
        help="for injections and infusions: dates YYYY-MM-DD separated by commas",
    ),
    FormField("adherence", "Adherence", "select", ADHERENCE),
    FormField("stop_reason", "Why stopped", "text"),
)
FRACTURE_FIELDS = (
    FormField("date", "Date", "date", required=True),
    FormField("site", "Site", "select", FRACTURE_SITES, required=True),
    FormField("fragility", "Fragility fracture (low trauma)", "checkbox"),
    FormField("source", "How it was found", "select", FRACTURE_SOURCES),
)
FALL_FIELDS = (
    FormField("date", "Date", "date", required=True),
    FormField("injurious", "Caused an injury", "checkbox"),
)
LAB_FIELDS = (
    FormField("date", "Date", "date", required=True),
    FormField("test", "Test", "select", LAB_TESTS, required=True),
    FormField("value", "Value", "number", required=True),
    FormField("unit", "Unit", "text", required=True, help="as reported, e.g. mmol/L, nmol/L"),
)
CONDITION_FIELDS = (
    FormField("code", "Condition", "select", CONDITION_CODES, required=True),
    FormField("onset", "Onset", "date"),
    FormField("resolved", "Resolved", "date"),
)
FUNCTION_FIELDS = (
    FormField("date", "Date", "date", required=True),
    FormField("instrument", "Instrument", "text", required=True, help="e.g. barthel"),
    FormField("score", "Score", "number", required=True),
    FormField("context", "When", "select", FUNCTION_CONTEXTS),
)

SECTIONS: dict[str, Section] = {
    "dxa": Section(
        "dxa",
        "DXA scans",
        "DXA scan",
        DXA_FIELDS,
        _dxa_summary,
        dxa_to_item,
        dxa_from_item,
    ),
    "therapies": Section(
        "therapies",
        "Therapy courses and doses",
        "therapy course",
        THERAPY_FIELDS,
        lambda t: (
            f"{_words(t.get('drug'))} from {t.get('start')}"
            + (f" to {t['end']}" if t.get("end") else " (ongoing)")
            + (
                f" · {len(t.get('doses', []))} dose(s), last {t['doses'][-1]}"
                if t.get("doses")
                else ""
            )
        ),
        **_generic(THERAPY_FIELDS),
    ),
    "fractures": Section(
        "fractures",
        "Fractures",
        "fracture",
        FRACTURE_FIELDS,
        lambda f: (
            f"{f.get('date')} · {_words(f.get('site'))}"
            + (" (fragility)" if f.get("fragility", True) else "")
        ),
        **_generic(FRACTURE_FIELDS),
    ),
    "falls": Section(
        "falls",
        "Falls",
        "fall",
        FALL_FIELDS,
        lambda f: f"{f.get('date')}" + (" · injurious" if f.get("injurious") else ""),
        **_generic(FALL_FIELDS),
    ),
    "labs": Section(
        "labs",
        "Laboratory results",
        "lab result",
        LAB_FIELDS,
        lambda lab: (
            f"{lab.get('date')} · {_words(lab.get('test'))} {lab.get('value')} {lab.get('unit')}"
        ),
        **_generic(LAB_FIELDS),
    ),
    "conditions": Section(
        "conditions",
        "Conditions",
        "condition",
        CONDITION_FIELDS,
        lambda c: (
            _words(c.get("code"))
            + (f" since {c['onset']}" if c.get("onset") else "")
            + (f", resolved {c['resolved']}" if c.get("resolved") else "")
        ),
        **_generic(CONDITION_FIELDS),
    ),
    "function": Section(
        "function",
        "Functional status",
        "functional score",
        FUNCTION_FIELDS,
        lambda f: (
            f"{f.get('date')} · {f.get('instrument')} {f.get('score')} "
            f"({_words(f.get('context', 'current'))})"
        ),
        **_generic(FUNCTION_FIELDS),
    ),
}

PATIENT_FIELDS = (
    FormField("id", "Patient identifier", "text", required=True, help="letters, digits, - or _"),
    FormField("sex", "Sex", "select", SEXES, required=True),
    FormField("birth_date", "Date of birth", "date", required=True),
    FormField("height_cm", "Height (cm)", "number"),
    FormField("weight_kg", "Weight (kg)", "number"),
)


def new_patient_record(form: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    return _parse_fields(PATIENT_FIELDS, form)


ITEM_PATH = re.compile(r"^(\w+)\[(\d+)\]\.?(.*)$")


def split_path(path: str) -> tuple[str, int, str] | None:
    """``dxa[2].measurements[0].t_score`` → ("dxa", 2, "measurements[0].t_score")."""
    found = ITEM_PATH.match(path)
    if not found:
        return None
    return found.group(1), int(found.group(2)), found.group(3)


def item_problems(
    problems: list[Problem], key: str, index: int, item: Mapping[str, Any]
) -> tuple[list[Problem], list[Problem]]:
    """Split record problems into this item's (renamed to its form fields) and the rest."""
    mine: list[Problem] = []
    others: list[Problem] = []
    for p in problems:
        parts = split_path(p.field)
        if parts is None or parts[0] != key or parts[1] != index:
            others.append(p)
            continue
        rest = parts[2]
        if key == "dxa":
            name = dxa_field(rest, item)
        else:
            name = rest.split(".")[0].split("[")[0] or "record"
        mine.append(Problem(name, p.message, p.value))
    return mine, others
