"""Who the densitometric rules apply to (ISCD 2005 Official Positions): T-scores and the WHO
categories for postmenopausal women and men aged 50 or over; Z-scores for women before the
menopause and men under 50, where a Z-score at or below minus 2 is "below the expected range
for age" (the cut-off itself is read from the knowledge files)."""

from __future__ import annotations

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.model.codes import Site

_PATH = "rules.population"


def uses_z_scores(ctx: Context, facts: Facts) -> bool:
    patient = facts.patient
    if patient.sex == "male":
        return facts.age < ctx.number(f"{_PATH}.men_z_score_below_age")
    if patient.menopause is not None:
        return patient.menopause.status == "premenopausal"
    return facts.age < ctx.number(f"{_PATH}.assume_postmenopausal_from_age")


def before_menopause(ctx: Context, facts: Facts) -> bool:
    """A woman not (yet) postmenopausal by the record: pre- or perimenopausal, or no
    menopause status and younger than the age from which she is taken as postmenopausal.
    The one reading used for the label populations and for reproductive potential."""
    patient = facts.patient
    if patient.sex != "female":
        return False
    if patient.menopause is not None:
        return patient.menopause.status != "postmenopausal"
    return facts.age < ctx.number(f"{_PATH}.assume_postmenopausal_from_age")


def latest_z(ctx: Context) -> dict[Site, float]:
    """The latest Z-score per site (as reported by the densitometer)."""
    out: dict[Site, float] = {}
    for trend in ctx.densitometry.sites:
        points = [p for p in trend.points if p.z_score is not None]
        if points:
            out[trend.site] = float(points[-1].z_score)  # type: ignore[arg-type]
    return out


def z_score_words(ctx: Context) -> str:
    """ "Z-score −2.3 at the spine: below the expected range for age" (or within it)."""
    zs = latest_z(ctx)
    if not zs:
        return "no Z-score on record (ask the DXA report for Z-scores)"
    site, z = min(zs.items(), key=lambda kv: kv[1])
    cut = ctx.number(f"{_PATH}.z_score_below_expected")
    where = site.replace("_", " ")
    judged = "below the expected range for age" if z <= cut else "within the expected range for age"
    return f"lowest Z-score {z:+.1f} at the {where}: {judged} (ISCD: Z ≤ {cut:+.1f})"


def named_basis(facts: Facts) -> list[str]:
    """A fragility fracture or a named secondary cause that justifies a drug in the
    Z-score population."""
    basis = [f"{f.site.replace('_', ' ')} fracture {f.date.isoformat()}" for f in facts.fractures()]
    if facts.patient.risk_factors.glucocorticoids.current:
        basis.append("current glucocorticoids")
    return basis
