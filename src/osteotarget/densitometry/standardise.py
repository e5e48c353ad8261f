"""Standardised BMD (sBMD, mg/cm²) across Hologic, GE Lunar and Norland.

Hip: sBMD = 1000 × (a + b × BMD) (Hui 1997). Spine: sBMD = 1000 × (slope × (BMD − centre)
+ offset) (Genant 1994). Used to compare scans from different manufacturers; such a
comparison is always flagged (individual error ≈ 3.5%), never mixed silently.
"""

from __future__ import annotations

from osteotarget.knowledge import knowledge
from osteotarget.model.codes import Site


def sbmd_mg_cm2(site: Site, manufacturer: str, bmd: float) -> float | None:
    """sBMD in mg/cm², or None where no conversion is on file for this site/manufacturer."""
    kb = knowledge()
    try:
        coeffs = kb.table(f"standardisation.{site}.{manufacturer}")
    except KeyError:
        return None
    if "slope" in coeffs:
        slope, centre, offset = (float(coeffs[k]) for k in ("slope", "centre", "offset"))
        return 1000.0 * (slope * (bmd - centre) + offset)
    return 1000.0 * (float(coeffs["a"]) + float(coeffs["b"]) * bmd)


def standardisation_citation(site: Site) -> str | None:
    try:
        return str(knowledge().table(f"standardisation.{site}")["cite"])
    except KeyError:
        return None
