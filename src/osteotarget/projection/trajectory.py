"""Mean BMD path of a regimen at one site, as a multiplier of the starting BMD.

``path.multiplier[t]`` = expected BMD at month t / BMD at month 0 (the projection start),
for t = 0 … horizon. Steps chain multiplicatively: each step starts from the BMD the
previous one reached and follows its own curve (response.py), chosen by the drug and the
drug before it. A regimen whose last step has a length ends there; what follows depends on
the last drug (``on_stop``): hold the BMD reached, or (denosumab) lose the gain made on it.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from osteotarget.model.codes import Drug
from osteotarget.projection.response import (
    FloatArray,
    ProjectedSite,
    Provenance,
    course_limit,
    drug_infos,
    max_months,
    step_curve,
)

Regimen = tuple[tuple[Drug, int | None], ...]


@dataclass(frozen=True, slots=True)
class SitePath:
    """Expected BMD multiplier path, the months on treatment (in all, on the first step,
    on later steps), and its provenance."""

    site: ProjectedSite
    multiplier: FloatArray
    treated_months: FloatArray
    first_step_end: int
    provenance: Provenance
    first_months: FloatArray
    later_months: FloatArray


def _duration_assumptions(
    provenance: Provenance,
    site: ProjectedSite,
    drug: Drug,
    offset: int,
    months: int | None,
    projected: int,
    last_month: float,
) -> Provenance:
    """State when a step runs past the drug's label limit or past its last data point."""
    on_drug = offset + (projected if months is None else max(months, projected))
    limit = course_limit(drug)
    if limit is not None and on_drug > limit.months:
        provenance = provenance.merge(
            Provenance(paths=frozenset({limit.path}), cites=frozenset({limit.cite}))
        ).with_assumption(
            f"{drug}: {on_drug} months on the drug exceeds the label limit of "
            f"{limit.months:g} months ({limit.cite}); projected as given, outside the label."
        )
    reached = offset + projected
    if reached > last_month:
        provenance = provenance.with_assumption(
            f"{site}: {drug} data end at {last_month:g} months; the {reached - last_month:g} "
            "months beyond are extrapolated by holding the last value (plateau), not observed."
        )
    return provenance


@lru_cache(maxsize=4096)
def site_path(
    site: ProjectedSite,
    regimen: Regimen,
    previous: Drug | None,
    horizon: int,
    elapsed: int = 0,
) -> SitePath | None:
    """The mean path for *regimen* at *site*, or None if a step has no data for the site.

    *previous* is the drug taken just before the regimen (a prior-therapy modifier);
    *elapsed* is how many months of the first step's drug the patient has already had
    (continuing a course follows its curve from there, it does not restart it).
    """
    if horizon < 0 or horizon > max_months():
        raise ValueError(f"horizon {horizon} months is outside 0…{max_months()}")
    grid_end = max_months()
    multiplier = np.ones(horizon + 1, dtype=np.float64)
    treated = np.zeros(horizon + 1, dtype=np.float64)
    provenance = Provenance()
    start = 0
    prior = previous
    first_step_end = horizon
    step_start_level = 1.0
    last_drug: Drug | None = None
    open_ended = False
    for index, (drug, months) in enumerate(regimen):
        if start >= horizon:
            break
        curve = step_curve(drug, prior, site)
        if curve is None:
            return None
        provenance = provenance.merge(curve.provenance)
        offset = elapsed if index == 0 else 0
        end = horizon if months is None else min(horizon, start + months)
        provenance = _duration_assumptions(
            provenance, site, drug, offset, months, end - start, curve.last_month
        )
        taus = np.minimum(np.arange(end - start + 1) + offset, grid_end)
        base = multiplier[start]
        level0 = 1.0 + curve.percent[min(offset, grid_end)] / 100.0
        multiplier[start : end + 1] = base * (1.0 + curve.percent[taus] / 100.0) / level0
        treated[start : end + 1] = treated[start] + np.arange(end - start + 1)
        step_start_level = base / level0
        if index == 0:
            first_step_end = end
        start = end
        prior = drug
        last_drug = drug
        open_ended = months is None
    if start < horizon:
        multiplier[start:] = multiplier[start]
        treated[start:] = treated[start]
        if last_drug is not None and not open_ended:
            info = drug_infos()[last_drug]
            if info.on_stop == "lose_step_gain" and info.offset_months > 0:
                reached = multiplier[start]
                floor = reached - info.offset_fraction * (reached - step_start_level)
                after = np.arange(horizon - start + 1, dtype=np.float64)
                fraction = np.minimum(after / info.offset_months, 1.0)
                multiplier[start:] = reached + (floor - reached) * fraction
                provenance = provenance.merge(info.offset_provenance).with_assumption(
                    f"{last_drug} stopped without a follow-on: the gain made on it is lost "
                    f"over {info.offset_months:g} months."
                )
            else:
                provenance = provenance.with_assumption(
                    f"{last_drug} stopped: BMD assumed to stay where it was (no offset data)."
                )
    # Months on treatment split into the first step and the later ones (spread model).
    first = np.minimum(treated, np.minimum(np.arange(horizon + 1), first_step_end))
    later = treated - first
    for array in (multiplier, treated, first, later):
        array.setflags(write=False)
    return SitePath(
        site=site,
        multiplier=multiplier,
        treated_months=treated,
        first_step_end=first_step_end,
        provenance=provenance,
        first_months=first,
        later_months=later,
    )
