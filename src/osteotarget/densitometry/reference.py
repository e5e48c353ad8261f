"""Young-adult reference data: T-score ⇄ BMD, and which T-score to trust.

ISCD 2013: hip sites against NHANES III white women aged 20–29 (for women and men);
lumbar spine against the manufacturer's database. NHANES III BMD is on the Hologic
scale, so a T-score is computed only from Hologic BMD; otherwise the scanner's reported
T-score is used, and the output says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Site


@dataclass(frozen=True, slots=True)
class Reference:
    site: Site
    mean: float
    sd: float
    population: str
    scale: str
    citations: tuple[str, ...]


@cache
def reference_for(site: Site) -> Reference | None:
    """The young-adult reference for *site*, or None where none is on file (cached: the
    packaged knowledge is loaded once per process)."""
    kb = knowledge()
    population = str(kb.get("reference.policy.reference_population"))
    table = kb.table(f"reference.{population}")
    if site not in table:
        return None
    mean = kb.quantity(f"reference.{population}.{site}.mean")
    sd = kb.quantity(f"reference.{population}.{site}.sd")
    return Reference(
        site=site,
        mean=mean.value,
        sd=sd.value,
        population=population,
        scale=str(kb.get("reference.policy.reference_scale")),
        citations=tuple(dict.fromkeys((mean.cite, sd.cite, "watts2013"))),
    )


def t_score_from_bmd(site: Site, bmd: float, manufacturer: str) -> float | None:
    """T-score from BMD (g/cm²), or None when no reference applies to this scanner/site."""
    ref = reference_for(site)
    if ref is None or manufacturer != ref.scale:
        return None
    return (bmd - ref.mean) / ref.sd


def bmd_from_t_score(site: Site, t_score: float) -> float | None:
    """BMD (g/cm², reference scale) for a T-score, or None where no reference is on file."""
    ref = reference_for(site)
    if ref is None:
        return None
    return ref.mean + t_score * ref.sd


def t_units_per_percent(site: Site, bmd: float) -> float | None:
    """How many T-units a 1% BMD change is at this BMD: BMD / (100 × SD_ref)."""
    ref = reference_for(site)
    if ref is None:
        return None
    return bmd / (100.0 * ref.sd)


@cache
def t_score_tolerance() -> float:
    return knowledge().number("reference.policy.tolerance_t")
