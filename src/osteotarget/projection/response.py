"""Response knowledge as mean-%-change curves on a monthly grid.

Reads ``knowledge/responses/{drugs,sequences}.toml`` once and turns each drug (and each
switch) into an array ``curve[month]`` = mean % change in BMD from the start of that step,
for month 0 … ``max_months``. Rules (docs/model.md §2):

* every curve starts at 0 % at month 0 and passes through its reported points;
* between points a site follows the *shape* of the same drug's total-hip curve (where that
  has more points), otherwise a straight line;
* after its last point a site follows the shape curve's increments (so it keeps gaining
  where the total-hip data keep gaining) and otherwise holds the last value (plateau);
* a site with no data borrows a fallback drug's curve (class assumption), or, for a
  switch, the fresh-start curve scaled by the switch's total-hip ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import DRUGS, Drug

FloatArray = npt.NDArray[np.float64]
ProjectedSite = Literal["total_hip", "femoral_neck", "lumbar_spine"]
PROJECTED_SITES: tuple[ProjectedSite, ...] = ("total_hip", "femoral_neck", "lumbar_spine")
SHAPE_SITE: ProjectedSite = "total_hip"
OnStop = Literal["hold", "lose_step_gain"]


@dataclass(frozen=True, slots=True)
class Point:
    """One reported mean % change, ``month`` months after the start of the step."""

    month: float
    value: float
    path: str
    cite: str
    evidence: str


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a curve came from: knowledge paths, cite keys, and any assumption made."""

    paths: frozenset[str] = frozenset()
    cites: frozenset[str] = frozenset()
    unverified: frozenset[str] = frozenset()
    assumptions: tuple[str, ...] = ()

    def merge(self, other: Provenance) -> Provenance:
        return Provenance(
            paths=self.paths | other.paths,
            cites=self.cites | other.cites,
            unverified=self.unverified | other.unverified,
            assumptions=tuple(dict.fromkeys(self.assumptions + other.assumptions)),
        )

    def with_assumption(self, text: str) -> Provenance:
        return self.merge(Provenance(assumptions=(text,)))


def _provenance(points: Sequence[Point]) -> Provenance:
    return Provenance(
        paths=frozenset(p.path for p in points),
        cites=frozenset(p.cite for p in points),
        unverified=frozenset(p.path for p in points if p.evidence == "unverified"),
    )


@dataclass(frozen=True, slots=True)
class Curve:
    """Mean % change from the start of a step, at months 0 … max_months.

    *last_month*: the last month backed by a reported point (of this curve or of the shape
    curve it follows); beyond it the curve holds its last value (plateau)."""

    percent: FloatArray
    provenance: Provenance = field(default_factory=Provenance)
    last_month: float = 0.0


@dataclass(frozen=True, slots=True)
class DrugInfo:
    drug: Drug
    drug_class: str
    on_stop: OnStop
    fallback: Drug | None
    offset_fraction: float
    offset_months: float
    offset_provenance: Provenance


@cache
def max_months() -> int:
    return int(knowledge().number("responses.policy.report.max_months"))


@dataclass(frozen=True, slots=True)
class CourseLimit:
    """Label limit on the length of a course of a drug (months), with its source."""

    months: float
    cite: str
    path: str


@cache
def course_limit(drug: Drug) -> CourseLimit | None:
    """The drug's label course limit from ``responses.policy.course_limits`` (or None)."""
    kb = knowledge()
    if drug not in kb.table("responses.policy.course_limits"):
        return None
    q = kb.quantity(f"responses.policy.course_limits.{drug}")
    return CourseLimit(months=q.value, cite=q.cite, path=q.path)


def _points(node: Mapping[str, Any], path: str) -> tuple[Point, ...]:
    kb = knowledge()
    out: list[Point] = []
    for index, raw in enumerate(node.get("points", [])):
        qpath = f"{path}.points[{index}]"
        q = kb.quantity(qpath)
        out.append(
            Point(
                month=float(raw["month"]),
                value=q.value,
                path=qpath,
                cite=q.cite,
                evidence=q.evidence,
            )
        )
    return tuple(sorted(out, key=lambda p: p.month))


def interpolate(points: Sequence[Point], n: int, shape: FloatArray | None) -> FloatArray:
    """%-change curve at months 0…n through *points* (origin 0 % at month 0).

    Between two points the fraction of the way is taken from *shape* (another curve on the
    same grid) when *shape* changes between them, else it is linear in time. After the last
    point the curve follows *shape*'s multiplicative increments, or holds (plateau).
    """
    xs = [0.0] + [p.month for p in points]
    ys = [0.0] + [p.value for p in points]
    months = np.arange(n + 1, dtype=np.float64)
    out = np.empty(n + 1, dtype=np.float64)

    def shape_at(t: float) -> float:
        assert shape is not None
        return float(np.interp(t, months, shape))

    for i, t in enumerate(months):
        if t >= xs[-1]:
            last = ys[-1]
            if shape is not None:
                ratio = (1.0 + shape_at(t) / 100.0) / (1.0 + shape_at(xs[-1]) / 100.0)
                out[i] = ((1.0 + last / 100.0) * ratio - 1.0) * 100.0
            else:
                out[i] = last
            continue
        k = int(np.searchsorted(xs, t, side="right")) - 1
        xa, xb, ya, yb = xs[k], xs[k + 1], ys[k], ys[k + 1]
        fraction = float((t - xa) / (xb - xa))
        if shape is not None:
            sa, sb = shape_at(xa), shape_at(xb)
            if abs(sb - sa) > 1e-9:
                shaped = (shape_at(t) - sa) / (sb - sa)
                if 0 <= shaped <= 1:  # a fraction of the interval, not a clinical number
                    fraction = float(shaped)
        out[i] = ya + fraction * (yb - ya)
    return out


@lru_cache(maxsize=1)
def drug_infos() -> Mapping[Drug, DrugInfo]:
    kb = knowledge()
    table = kb.table("responses.drugs")
    infos: dict[Drug, DrugInfo] = {}
    for drug in DRUGS:
        node = table[drug]
        fraction, months, prov = 0.0, 0.0, Provenance()
        if "offset" in node:
            base = f"responses.drugs.{drug}.offset"
            qf = kb.quantity(f"{base}.fraction_of_step_gain_lost")
            qm = kb.quantity(f"{base}.months")
            fraction, months = qf.value, qm.value
            prov = Provenance(
                paths=frozenset({qf.path, qm.path}),
                cites=frozenset({qf.cite, qm.cite}),
                unverified=frozenset(q.path for q in (qf, qm) if q.evidence == "unverified"),
            )
        fallback = node.get("fallback")
        infos[drug] = DrugInfo(
            drug=drug,
            drug_class=str(node["class"]),
            on_stop=cast(OnStop, str(node["on_stop"])),
            fallback=cast(Drug, fallback) if fallback else None,
            offset_fraction=fraction,
            offset_months=months,
            offset_provenance=prov,
        )
    return infos


def _own_points(drug: Drug, site: ProjectedSite) -> tuple[Point, ...]:
    node = knowledge().table("responses.drugs")[drug]
    if site not in node:
        return ()
    return _points(node[site], f"responses.drugs.{drug}.{site}")


@cache
def fresh_curve(drug: Drug, site: ProjectedSite) -> Curve | None:
    """Mean % change for a patient starting *drug* without a relevant prior drug."""
    n = max_months()
    points = _own_points(drug, site)
    if not points:
        fallback = drug_infos()[drug].fallback
        if fallback is None:
            return None
        borrowed = fresh_curve(fallback, site)
        if borrowed is None:
            return None
        prov = borrowed.provenance.with_assumption(
            f"{drug}: no {site} data on file; {fallback}'s curve is used (class assumption)."
        )
        return Curve(
            borrowed.percent, prov.merge(Provenance(unverified=prov.paths)), borrowed.last_month
        )
    shape: FloatArray | None = None
    prov = _provenance(points)
    last = points[-1].month
    if site != SHAPE_SITE:
        reference = _own_points(drug, SHAPE_SITE)
        if reference:
            shape = interpolate(reference, n, None)
            prov = prov.merge(_provenance(reference))
            last = max(last, reference[-1].month)
    return Curve(interpolate(points, n, shape), prov, last)


@dataclass(frozen=True, slots=True)
class Switch:
    key: str
    drugs: frozenset[Drug]
    after: frozenset[Drug]
    mode: Literal["points", "hold"]
    basis: Literal["step", "sequence"]
    trial: str


@lru_cache(maxsize=1)
def switches() -> tuple[Switch, ...]:
    table = knowledge().table("responses.sequences")
    out: list[Switch] = []
    for key, node in table.items():
        if not isinstance(node, Mapping) or "drugs" not in node:
            continue
        out.append(
            Switch(
                key=key,
                drugs=frozenset(cast(list[Drug], node["drugs"])),
                after=frozenset(cast(list[Drug], node["after"])),
                mode=cast(Literal["points", "hold"], node.get("mode", "points")),
                basis=cast(Literal["step", "sequence"], node.get("basis", "step")),
                trial=str(node.get("trial", "")),
            )
        )
    return tuple(out)


def find_switch(drug: Drug, previous: Drug | None) -> Switch | None:
    if previous is None or previous == drug:
        return None
    for entry in switches():
        if drug in entry.drugs and previous in entry.after:
            return entry
    return None


def _switch_points(entry: Switch, site: ProjectedSite) -> tuple[Point, ...]:
    kb = knowledge()
    base = f"responses.sequences.{entry.key}"
    node = kb.table(base)
    if site not in node:
        return ()
    points = _points(node[site], f"{base}.{site}")
    if entry.basis == "step":
        return points
    switch = kb.quantity(f"{base}.switch_month")
    at = kb.quantity(f"{base}.{site}.at_switch")
    # Step's own change: (1 + total) / (1 + value at the switch) − 1, months from the switch.
    # A total and an at-switch value from different sources (analysis sets) make the
    # derived step unverified (mixed_analysis_sets names them).
    step_points = [
        Point(
            month=p.month - switch.value,
            value=((1.0 + p.value / 100.0) / (1.0 + at.value / 100.0) - 1.0) * 100.0,
            path=p.path,
            cite=p.cite,
            evidence="unverified"
            if "unverified" in (p.evidence, at.evidence) or p.cite != at.cite
            else p.evidence,
        )
        for p in points
    ]
    return (Point(0.0, 0.0, at.path, at.cite, at.evidence), *step_points)


def mixed_analysis_sets(entry: Switch, site: ProjectedSite) -> tuple[str, ...]:
    """Assumption strings for a sequence entry whose at-switch value and totals come from
    different sources (so from different analysis sets)."""
    if entry.basis != "sequence":
        return ()
    kb = knowledge()
    base = f"responses.sequences.{entry.key}"
    if site not in kb.table(base):
        return ()
    at = kb.quantity(f"{base}.{site}.at_switch")
    out: list[str] = []
    for p in _points(kb.table(base)[site], f"{base}.{site}"):
        if p.cite != at.cite:
            out.append(
                f"{entry.key} {site}: the step's change at {p.month:g} months divides a total "
                f"from {p.cite} by the at-switch value from {at.cite}; the analysis sets are "
                "mixed, so the derived step is unverified."
            )
    return tuple(out)


@cache
def switch_curve(key: str, drug: Drug, site: ProjectedSite) -> Curve | None:
    """Mean % change from the switch for *drug* in sequence entry *key*."""
    entry = next(e for e in switches() if e.key == key)
    n = max_months()
    label = f"Sequence response: {drug} after {', '.join(sorted(entry.after))} ({entry.trial})"
    if entry.mode == "hold":
        cite = knowledge().table(f"responses.sequences.{key}")
        prov = Provenance(
            cites=frozenset({str(cite["cite"])}),
            assumptions=(f"{label}: BMD assumed kept, no change (inference).",),
        )
        return Curve(np.zeros(n + 1, dtype=np.float64), prov, float(n))
    fresh = fresh_curve(drug, site)
    points = tuple(p for p in _switch_points(entry, site) if p.month > 0)
    if points:
        shape = fresh.percent if fresh is not None else None
        prov = _provenance(points).merge(_provenance(_switch_points(entry, site)))
        last = points[-1].month
        if fresh is not None:
            prov = prov.merge(fresh.provenance)
            last = max(last, fresh.last_month)
        prov = prov.with_assumption(label)
        for text in mixed_analysis_sets(entry, site):
            prov = prov.with_assumption(text)
        return Curve(interpolate(points, n, shape), prov, last)
    # No data for this site in the switch: scale the fresh-start curve by the total-hip ratio.
    reference = switch_curve(key, drug, SHAPE_SITE) if site != SHAPE_SITE else None
    fresh_ref = fresh_curve(drug, SHAPE_SITE)
    if fresh is None or reference is None or fresh_ref is None:
        return None
    safe = np.where(np.abs(fresh_ref.percent) > 1e-9, fresh_ref.percent, 1.0)
    ratio = np.where(np.abs(fresh_ref.percent) > 1e-9, reference.percent / safe, 1.0)
    prov = fresh.provenance.merge(reference.provenance).with_assumption(
        f"{label}: no {site} data; fresh-start {site} curve scaled by the total-hip ratio."
    )
    prov = prov.merge(Provenance(unverified=fresh.provenance.paths))
    return Curve(fresh.percent * ratio, prov, min(fresh.last_month, reference.last_month))


def step_curve(drug: Drug, previous: Drug | None, site: ProjectedSite) -> Curve | None:
    """The curve for a step of *drug* that follows *previous* (None: no relevant prior)."""
    entry = find_switch(drug, previous)
    if entry is not None:
        return switch_curve(entry.key, drug, site)
    return fresh_curve(drug, site)
