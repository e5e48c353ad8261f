"""Python API: project one regimen for one patient, and rank several regimens.

>>> from osteotarget.projection import Baseline, TargetSpec, parse_regimen, project
>>> result = project([Baseline.from_t_score("total_hip", -3.0)],
...                  parse_regimen("romosozumab:12,denosumab"), [TargetSpec(value=-2.5)], 36)
>>> 0 <= result.probability_of_target <= 1
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any, Literal

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import DRUGS, Drug
from osteotarget.projection.forecast import Baseline, Observed, SiteForecast, forecast_site
from osteotarget.projection.fracture import OUTCOMES, RiskReduction, risk_reduction
from osteotarget.projection.response import PROJECTED_SITES, ProjectedSite, Provenance, max_months
from osteotarget.projection.trajectory import Regimen, site_path
from osteotarget.projection.uncertainty import band_z

SUPPORTED_METRICS = ("t_score", "t_score_change", "bmd_percent_change")
Combine = Literal["independent", "comonotone"]


class RegimenError(ValueError):
    """A regimen string or step that cannot be projected; the message names the part."""


def parse_regimen(text: str) -> Regimen:
    """``"romosozumab:12,denosumab:24"`` → ((romosozumab, 12), (denosumab, 24)).

    The last step may omit its months (open-ended, runs to the horizon).
    """
    steps: list[tuple[Drug, int | None]] = []
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise RegimenError(f"'{text}' is not a regimen (drug:months, comma-separated)")
    for index, part in enumerate(parts):
        drug, _, months_text = part.partition(":")
        drug = drug.strip().lower()
        if drug not in DRUGS:
            raise RegimenError(f"unknown drug '{drug}' (one of: {', '.join(DRUGS)})")
        months: int | None = None
        if months_text.strip():
            try:
                months = int(months_text)
            except ValueError:
                raise RegimenError(
                    f"'{part}': months '{months_text}' is not a whole number"
                ) from None
            if months <= 0:
                raise RegimenError(f"'{part}': months must be positive")
            if months > max_months():
                raise RegimenError(
                    f"'{part}': {months} months is longer than the model's longest "
                    f"horizon ({max_months()} months)"
                )
        elif index < len(parts) - 1:
            raise RegimenError(f"'{part}': only the last step may omit its months")
        steps.append((drug, months))
    return tuple(steps)


def regimen_label(regimen: Regimen) -> str:
    return " → ".join(f"{d}:{m}" if m is not None else d for d, m in regimen)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target the projection can price: T-score, T-score change or BMD % change."""

    value: float
    metric: str = "t_score"
    operator: str = ">"
    site: ProjectedSite | None = None


@dataclass(frozen=True, slots=True)
class PointOut:
    month: int
    site: ProjectedSite
    t_score: float
    low: float
    high: float
    percent_change: float


@dataclass(frozen=True, slots=True)
class SiteResult:
    site: ProjectedSite
    probability: float | None
    points: tuple[PointOut, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Projection:
    regimen: Regimen
    horizon_months: int
    probability_of_target: float | None
    sites: tuple[SiteResult, ...]
    fracture: tuple[RiskReduction, ...] = ()
    assumptions: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    steps: int = 1
    burden: int = 0
    notes: tuple[str, ...] = field(default=())

    def expected_t_scores(self, site: ProjectedSite) -> dict[int, float]:
        for result in self.sites:
            if result.site == site:
                return {p.month: p.t_score for p in result.points}
        return {}

    def as_dict(self) -> dict[str, Any]:
        first = self.sites[0].site if self.sites else None
        return {
            "regimen": [{"drug": d, "months": m} for d, m in self.regimen],
            "horizon_months": self.horizon_months,
            "band_coverage": band_coverage(),
            "probability_of_target": _round(self.probability_of_target),
            "expected_t_scores": {
                str(k): round(v, 2) for k, v in self.expected_t_scores(first).items()
            }
            if first
            else {},
            "sites": [
                {
                    "site": s.site,
                    "probability_of_target": _round(s.probability),
                    "note": s.note,
                    "points": [
                        {
                            "month": p.month,
                            "t_score": round(p.t_score, 2),
                            "low": round(p.low, 2),
                            "high": round(p.high, 2),
                            "bmd_percent_change": round(p.percent_change, 1),
                        }
                        for p in s.points
                    ],
                }
                for s in self.sites
            ],
            "fracture_risk_reduction": [
                {
                    "outcome": f.outcome,
                    "total_hip_percent_change": round(f.total_hip_percent, 1),
                    "relative_risk_reduction": round(f.relative_risk_reduction, 2),
                    "within_published_points": f.within_published_points,
                    "r_squared": f.r_squared,
                    "citation": f.citation,
                    "caveats": list(f.caveats),
                }
                for f in self.fracture
            ],
            "assumptions": list(self.assumptions),
            "citations": list(self.citations),
            "unverified_inputs": list(self.unverified),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True, slots=True)
class ProjectionPolicy:
    """Modelling choices from ``responses/policy.toml`` (docs/model.md)."""

    checkpoints: tuple[int, ...]
    all_sites: str
    probability_tie: float
    cite: str


@cache
def projection_policy() -> ProjectionPolicy:
    kb = knowledge()
    return ProjectionPolicy(
        checkpoints=tuple(int(m) for m in kb.get("responses.policy.report.checkpoints")),
        all_sites=str(kb.get("responses.policy.ranking.all_sites")),
        probability_tie=kb.number("responses.policy.ranking.probability_tie"),
        cite=str(kb.get("responses.policy.report.cite")),
    )


@cache
def band_coverage() -> float:
    return knowledge().number("responses.policy.report.band_coverage")


@cache
def report_months(horizon: int) -> tuple[int, ...]:
    months = {m for m in projection_policy().checkpoints if 0 < m <= horizon}
    months.add(horizon)
    return tuple(sorted(months))


@cache
def burden(regimen: Regimen) -> int:
    table = knowledge().table("responses.policy.burden")
    return max((int(table[drug]) for drug, _ in regimen), default=0)


def _combine(probabilities: Sequence[float]) -> float:
    if projection_policy().all_sites == "comonotone":
        return min(probabilities)
    return math.prod(probabilities)


@lru_cache(maxsize=4096)
def _risk_reductions(total_hip_percent: float, _sign: float) -> tuple[RiskReduction, ...]:
    """FNIH estimates for each outcome: a pure function of the knowledge base and the
    total-hip % change, which depends only on the regimen (not on the patient's BMD)."""
    return tuple(risk_reduction(total_hip_percent, outcome) for outcome in OUTCOMES)


def _merge_all(provenances: Sequence[Provenance]) -> Provenance:
    assumptions: dict[str, None] = {}
    for p in provenances:
        assumptions.update(dict.fromkeys(p.assumptions))
    return Provenance(
        paths=frozenset().union(*(p.paths for p in provenances)),
        cites=frozenset().union(*(p.cites for p in provenances)),
        unverified=frozenset().union(*(p.unverified for p in provenances)),
        assumptions=tuple(assumptions),
    )


def _resolve(targets: Sequence[TargetSpec], sites: Sequence[ProjectedSite]) -> list[TargetSpec]:
    resolved: list[TargetSpec] = []
    for target in targets:
        if target.metric not in SUPPORTED_METRICS:
            continue
        for site in [target.site] if target.site is not None else list(sites):
            if site in sites:
                resolved.append(replace(target, site=site))
    return resolved


def project(
    baselines: Sequence[Baseline],
    regimen: Regimen,
    targets: Sequence[TargetSpec],
    horizon_months: int,
    previous: Drug | None = None,
    elapsed: int = 0,
    observed: Mapping[ProjectedSite, Observed] | None = None,
) -> Projection:
    """Project *regimen* from *baselines* to *horizon_months* and price *targets*.

    *previous*: the drug taken just before (prior-therapy modifier). *elapsed*: months of
    ``regimen[0]`` already taken (continuing a course). *observed*: per-site on-treatment
    change so far, for the shrinkage update (then that site's baseline is the scan at the
    course start).
    """
    check_horizon(regimen, horizon_months)
    forecasts: dict[ProjectedSite, SiteForecast | None] = {}
    for baseline in baselines:
        if baseline.site not in PROJECTED_SITES:
            continue
        forecasts[baseline.site] = forecast_site(
            baseline,
            regimen,
            previous,
            horizon_months,
            elapsed,
            (observed or {}).get(baseline.site),
        )
    return assemble(
        forecasts,
        regimen,
        targets,
        horizon_months,
        hip_percent_at_horizon(regimen, previous, horizon_months, elapsed),
    )


def check_horizon(regimen: Regimen, horizon_months: int) -> None:
    if not regimen:
        raise RegimenError("empty regimen")
    if not 0 < horizon_months <= max_months():
        raise RegimenError(f"horizon {horizon_months} months is outside 1…{max_months()}")


def hip_percent_at_horizon(
    regimen: Regimen, previous: Drug | None, horizon_months: int, elapsed: int = 0
) -> float | None:
    """Projected mean total-hip % change at the horizon (for the FNIH estimate), or None."""
    hip_path = site_path("total_hip", regimen, previous, horizon_months, elapsed)
    if hip_path is None:
        return None
    return (float(hip_path.multiplier[horizon_months]) - 1.0) * 100.0


def assemble(
    forecasts: Mapping[ProjectedSite, SiteForecast | None],
    regimen: Regimen,
    targets: Sequence[TargetSpec],
    horizon_months: int,
    total_hip_percent: float | None,
) -> Projection:
    """Price *targets* on per-site forecasts indexed months 0…horizon (month 0 = now)."""
    z = band_z()
    months = report_months(horizon_months)
    provenances = [f.provenance for f in forecasts.values() if f is not None]
    sites = list(forecasts)
    resolved = _resolve(targets, sites)
    per_site: dict[ProjectedSite, list[float | None]] = {s: [] for s in sites}
    for target in resolved:
        assert target.site is not None
        forecast = forecasts[target.site]
        per_site[target.site].append(
            None
            if forecast is None
            else forecast.probability(target.metric, target.operator, target.value, horizon_months)
        )
    results: list[SiteResult] = []
    for site in sites:
        forecast = forecasts[site]
        values = per_site[site]
        site_p: float | None = None
        if values and all(v is not None for v in values):
            site_p = _combine([v for v in values if v is not None])
        if forecast is None:
            results.append(
                SiteResult(site, None, (), f"no {site} response data for {regimen_label(regimen)}")
            )
            continue
        index = list(months)
        mean_t = forecast.mean_t[index].tolist()
        sd_t = forecast.sd_t[index].tolist()
        percent = forecast.mean_percent[index].tolist()
        points = tuple(
            PointOut(
                month=m,
                site=site,
                t_score=mean_t[i],
                low=mean_t[i] - z * sd_t[i],
                high=mean_t[i] + z * sd_t[i],
                percent_change=percent[i],
            )
            for i, m in enumerate(months)
        )
        results.append(SiteResult(site, site_p, points))
    flat = [v for site in sites for v in per_site[site]]
    overall: float | None = None
    if flat and all(v is not None for v in flat):
        overall = _combine([v for v in flat if v is not None])
    fracture: tuple[RiskReduction, ...] = ()
    if total_hip_percent is not None:
        # The sign goes into the key so that -0.0 and 0.0 (equal, same hash) stay apart.
        fracture = _risk_reductions(total_hip_percent, math.copysign(1.0, total_hip_percent))
        provenances.append(Provenance(cites=frozenset({fracture[0].citation})))
    provenance = _merge_all(provenances)
    policy = projection_policy()
    notes = (
        "Probability that the measured value at the horizon meets every target "
        f"({policy.all_sites} sites); normal approximation.",
    )
    return Projection(
        regimen=regimen,
        horizon_months=horizon_months,
        probability_of_target=overall,
        sites=tuple(results),
        fracture=fracture,
        assumptions=provenance.assumptions,
        citations=tuple(sorted(provenance.cites | {policy.cite})),
        unverified=tuple(sorted(provenance.unverified)),
        steps=len(regimen),
        burden=burden(regimen),
        notes=notes,
    )


def option_numbers(
    forecasts: Mapping[ProjectedSite, SiteForecast | None],
    targets: Sequence[TargetSpec],
    horizon_months: int,
    total_hip_percent: float | None,
) -> tuple[float | None, list[tuple[int, ProjectedSite, float, float, float]], tuple[str, ...]]:
    """What an engine Option needs from :func:`assemble` — the probability of every
    target, the (month, site, T, low, high) points and the citations — without merging
    assumptions and unverified inputs (the same arithmetic, tested to agree)."""
    z = band_z()
    months = report_months(horizon_months)
    index = list(months)
    sites = list(forecasts)
    per_site: dict[ProjectedSite, list[float | None]] = {s: [] for s in sites}
    for target in _resolve(targets, sites):
        assert target.site is not None
        forecast = forecasts[target.site]
        per_site[target.site].append(
            None
            if forecast is None
            else forecast.probability(target.metric, target.operator, target.value, horizon_months)
        )
    points: list[tuple[int, ProjectedSite, float, float, float]] = []
    cites: set[str] = {projection_policy().cite}
    for site in sites:
        forecast = forecasts[site]
        if forecast is None:
            continue
        cites |= forecast.provenance.cites
        mean_t = forecast.mean_t[index].tolist()
        sd_t = forecast.sd_t[index].tolist()
        points.extend(
            (m, site, mean_t[i], mean_t[i] - z * sd_t[i], mean_t[i] + z * sd_t[i])
            for i, m in enumerate(months)
        )
    flat = [v for site in sites for v in per_site[site]]
    overall: float | None = None
    if flat and all(v is not None for v in flat):
        overall = _combine([v for v in flat if v is not None])
    if total_hip_percent is not None:
        sign = math.copysign(1.0, total_hip_percent)
        cites.add(_risk_reductions(total_hip_percent, sign)[0].citation)
    return overall, points, tuple(sorted(cites))


TIE_EPS = 1e-12  # float slack so that "within the tolerance" includes the tolerance itself


def tie_groups(probabilities: Sequence[float | None], tie: float | None = None) -> list[int]:
    """Greedy tie groups: sorted by probability (highest first), a group is its top value
    and everything within *tie* (policy ``ranking.probability_tie``) below it; the next
    value further away starts a new group. Group numbers rise from the best; an
    unprojectable (None) value gets a group after every projectable one."""
    tol = projection_policy().probability_tie if tie is None else tie
    order = sorted(
        (i for i, p in enumerate(probabilities) if p is not None),
        key=lambda i: -(probabilities[i] or 0.0),
    )
    groups = [len(probabilities)] * len(probabilities)
    group, top = -1, math.inf
    for i in order:
        p = probabilities[i]
        assert p is not None
        if top - p > tol + TIE_EPS:
            group, top = group + 1, p
        groups[i] = group
    return groups


def ranking_key(group: int, steps: int, burden_rank: int) -> tuple[int, int, int]:
    """Sort key within the ranking: tie group (tie_groups), then fewer steps, then lower
    burden; the order given breaks what remains (stable sort)."""
    return (group, steps, burden_rank)


def rank_order(projections: Sequence[Projection]) -> list[int]:
    """Indices of *projections* from best to worst: projectable first, higher probability
    (greedy ties within the configured tolerance), then fewer steps, then lower burden,
    then the order given."""
    return rank_order_values([(p.probability_of_target, p.steps, p.burden) for p in projections])


def rank_order_values(values: Sequence[tuple[float | None, int, int]]) -> list[int]:
    """:func:`rank_order` on (probability, steps, burden) triples."""
    groups = tie_groups([v[0] for v in values])
    return sorted(
        range(len(values)), key=lambda i: ranking_key(groups[i], values[i][1], values[i][2])
    )


def rank_regimens(
    baselines: Sequence[Baseline],
    regimens: Sequence[Regimen],
    targets: Sequence[TargetSpec],
    horizon_months: int,
    previous: Drug | None = None,
    top_k: int | None = None,
) -> list[Projection]:
    """Project every regimen and return them best first.

    *top_k*: rank every regimen on the fast path (``quick.quick_project``: the same
    numbers, no provenance) and build full :class:`Projection` objects only for the best
    *top_k* (the options shown); the result then holds at most *top_k* projections.
    """
    if top_k is not None:
        from osteotarget.projection.quick import quick_many, quick_rank

        for regimen in regimens:
            check_horizon(regimen, horizon_months)
        pairs = [(regimen, previous) for regimen in regimens]
        quick = quick_many(baselines, pairs, targets, horizon_months)
        shown = quick_rank(quick)[: max(top_k, 0)]
        return [project(baselines, regimens[i], targets, horizon_months, previous) for i in shown]
    projections = [
        project(baselines, regimen, targets, horizon_months, previous) for regimen in regimens
    ]
    return [projections[i] for i in rank_order(projections)]
