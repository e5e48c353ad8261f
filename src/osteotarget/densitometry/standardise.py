"""Standardised BMD (sBMD, mg/cm²) across Hologic, GE Lunar and Norland.

Hip: sBMD = 1000 × (a + b × BMD) (Hui 1997). Spine: sBMD = 1000 × (slope × (BMD − centre)
+ offset) (Genant 1994). Used to compare scans from different manufacturers; such a
comparison is always flagged (individual error ≈ 3.5%), never mixed silently.
"""

from __future__ import annotations

from functools import cache

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Site

# (slope, centre, offset) for the spine form, (a, b) for the hip form.
Coefficients = tuple[float, float, float] | tuple[float, float]


@cache
def _coefficients(site: Site, manufacturer: str) -> Coefficients | None:
    """The conversion on file for this site/manufacturer (cached: the packaged knowledge
    is loaded once per process)."""
    try:
        coeffs = knowledge().table(f"standardisation.{site}.{manufacturer}")
    except KeyError:
        return None
    if "slope" in coeffs:
        return (float(coeffs["slope"]), float(coeffs["centre"]), float(coeffs["offset"]))
    return (float(coeffs["a"]), float(coeffs["b"]))


def sbmd_mg_cm2(site: Site, manufacturer: str, bmd: float) -> float | None:
    """sBMD in mg/cm², or None where no conversion is on file for this site/manufacturer."""
    coeffs = _coefficients(site, manufacturer)
    if coeffs is None:
        return None
    if len(coeffs) == 3:
        slope, centre, offset = coeffs
        return 1000.0 * (slope * (bmd - centre) + offset)
    a, b = coeffs
    return 1000.0 * (a + b * bmd)


def standardisation_citation(site: Site) -> str | None:
    try:
        return str(knowledge().table(f"standardisation.{site}")["cite"])
    except KeyError:
        return None
