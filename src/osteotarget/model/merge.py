"""Merge an incoming record into the stored one, item by item (pure: no I/O, no clock).

An import or a CDS Hooks prefetch brings what the sending system holds *now*; it is not the
patient's whole history. So nothing stored is dropped because the incoming record lacks it:

- scalar fields (sex, birth date, height, weight, menopause): the incoming value, when it has
  one, replaces the stored value (the change is reported);
- list items are matched by identity (:func:`item_key`): an identical item is kept once; an
  item with the same identity but other values is replaced by the incoming one (reported as
  ``changed``); every other item, stored or incoming, is kept;
- a DXA visit on the same date is merged measurement by measurement (site, side, region);
- a therapy course of the same drug whose period overlaps is one course: the earliest start,
  the union of dose dates, the incoming end (ongoing when the incoming course is ongoing);
- risk factors are merged flag by flag (incoming values that are set win).

Provenance (source, resource ids, import time) is returned beside the record, keyed by the
item key, never written into the record: the record stays the contract's (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SCALARS = ("sex", "birth_date", "height_cm", "weight_kg", "menopause")
LISTS = ("dxa", "fractures", "falls", "frax", "therapies", "labs", "conditions", "function")


def item_key(section: str, item: dict[str, Any]) -> str:
    """The identity of a list item of the record (what makes two items the same item)."""
    if section == "dxa":
        return f"dxa|{item.get('date')}"
    if section == "fractures":
        return f"fractures|{item.get('date')}|{item.get('site')}"
    if section == "falls":
        return f"falls|{item.get('date')}"
    if section == "frax":
        return f"frax|{item.get('date')}|{item.get('with_bmd')}"
    if section == "therapies":
        return f"therapies|{item.get('drug')}|{item.get('start')}"
    if section == "labs":
        return f"labs|{item.get('date')}|{item.get('test')}"
    if section == "conditions":
        return f"conditions|{item.get('code')}|{item.get('onset') or ''}"
    if section == "function":
        return f"function|{item.get('date')}|{item.get('instrument')}|{item.get('context', '')}"
    return f"{section}|{sorted(item.items())}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one item of a record came from."""

    item: str
    source: str
    resources: tuple[str, ...]
    imported_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "source": self.source,
            "resources": list(self.resources),
            "imported_at": self.imported_at,
        }


@dataclass
class MergeResult:
    record: dict[str, Any]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "kept": self.kept,
            "provenance": [p.as_dict() for p in self.provenance],
        }


def _measure_key(m: dict[str, Any]) -> tuple[str, str, str]:
    return (str(m.get("site")), str(m.get("side") or ""), str(m.get("region") or ""))


def _merge_visit(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    measures = {_measure_key(m): m for m in old.get("measurements", [])}
    for m in new.get("measurements", []):
        measures[_measure_key(m)] = {**measures.get(_measure_key(m), {}), **m}
    merged = {**old, **{k: v for k, v in new.items() if k != "measurements"}}
    if new.get("device", {}).get("manufacturer") == "other" and "device" in old:
        merged["device"] = old["device"]  # an unnamed device never hides a known one
    merged["measurements"] = list(measures.values())
    return merged


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("drug") != b.get("drug"):
        return False
    a_end, b_end = a.get("end"), b.get("end")
    return (b_end is None or str(a["start"]) <= str(b_end)) and (
        a_end is None or str(b["start"]) <= str(a_end)
    )


def _merge_course(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {**old, **new}
    merged["start"] = min(str(old["start"]), str(new["start"]))
    doses = sorted({*map(str, old.get("doses", [])), *map(str, new.get("doses", []))})
    if doses:
        merged["doses"] = doses
    if new.get("end") is None:
        merged["end"] = None
    if new.get("adherence") in (None, "unknown") and old.get("adherence"):
        merged["adherence"] = old["adherence"]
    return merged


def merge_records(
    stored: dict[str, Any] | None,
    incoming: dict[str, Any],
    source: str,
    imported_at: str,
    resources: dict[str, list[str]] | None = None,
) -> MergeResult:
    """``incoming`` merged into ``stored`` (both record dicts of the same patient).

    ``resources`` maps an incoming item key to the resource ids it was read from (as
    :func:`osteotarget.adapters.fhir_in.read_fhir` gives them); ``imported_at`` is an ISO
    timestamp chosen by the caller (this module has no clock)."""
    resources = resources or {}
    if stored is None:
        stored = {}
    if stored and incoming.get("id") != stored.get("id"):
        raise ValueError("merge_records: the two records are of different patients")
    out: dict[str, Any] = dict(stored)
    result = MergeResult(out)

    def note(key: str, bucket: list[str]) -> None:
        bucket.append(key)
        result.provenance.append(
            Provenance(key, source, tuple(resources.get(key, [])), imported_at)
        )

    out["id"] = incoming.get("id", stored.get("id"))
    for name in SCALARS:
        if name in incoming and incoming[name] is not None:
            if name not in stored:
                note(name, result.added)
            elif stored[name] != incoming[name]:
                note(name, result.changed)
            out[name] = incoming[name]
    factors = dict(stored.get("risk_factors") or {})
    for flag, value in (incoming.get("risk_factors") or {}).items():
        if value is None or factors.get(flag) == value:
            continue
        note(f"risk_factors|{flag}", result.changed if flag in factors else result.added)
        factors[flag] = value
    if factors:
        out["risk_factors"] = factors
    for section in LISTS:
        merged = _merge_list(
            section, stored.get(section) or [], incoming.get(section) or [], note, result
        )
        if merged:
            out[section] = merged
        else:
            out.pop(section, None)
    for name, value in incoming.items():  # fields this module does not know: incoming wins
        if name not in out and name not in (*SCALARS, *LISTS, "risk_factors"):
            out[name] = value
    return result


def _merge_list(
    section: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    note: Any,
    result: MergeResult,
) -> list[dict[str, Any]]:
    items = {item_key(section, i): i for i in old}
    for item in new:
        key = item_key(section, item)
        if section == "therapies" and key not in items:
            overlap = next((k for k, i in items.items() if _overlaps(i, item)), None)
            if overlap is not None:
                merged = _merge_course(items.pop(overlap), item)
                items[item_key(section, merged)] = merged
                note(key, result.changed)
                continue
        if key not in items:
            items[key] = item
            note(key, result.added)
            continue
        current = items[key]
        if section == "dxa":
            merged = _merge_visit(current, item)
        elif section == "therapies":
            merged = _merge_course(current, item)
        else:
            merged = item
        if _same(merged, current):
            result.kept.append(key)
        else:
            items[key] = merged
            note(key, result.changed)
    return list(items.values())


def merge_each(
    incoming: dict[str, dict[str, Any]],
    stored: Callable[[str], dict[str, Any] | None],
    source: str,
    imported_at: str,
    sources: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, MergeResult]:
    """:func:`merge_records` for each incoming record; ``stored(id)`` gives the stored
    record (or None). The caller writes the merged records (and keeps the provenance)."""
    sources = sources or {}
    out: dict[str, MergeResult] = {}
    for pid, record in incoming.items():
        try:
            out[pid] = merge_records(stored(pid), record, source, imported_at, sources.get(pid))
        except (TypeError, AttributeError, KeyError, ValueError):
            # items of the wrong shape: pass the incoming record on unmerged, for the
            # model to refuse with the field named (it is never written merged or not)
            out[pid] = MergeResult(record)
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal once absent and null fields are taken as the same."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    return bool(clean(a) == clean(b))
