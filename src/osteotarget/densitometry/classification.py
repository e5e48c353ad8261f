"""WHO densitometric classification per site and overall."""

from __future__ import annotations

from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import WhoCategory

_ORDER: tuple[WhoCategory, ...] = ("normal", "low_bone_mass", "osteoporosis", "severe_osteoporosis")


_CUTS: list[tuple[object, float, float]] = []


def _who_cuts() -> tuple[float, float]:
    """(osteoporosis_max_t, normal_min_t), read once per knowledge base (immutable)."""
    kb = knowledge()
    if not _CUTS or _CUTS[0][0] is not kb:
        _CUTS[:] = [
            (
                kb,
                kb.number("classification.who.osteoporosis_max_t"),
                kb.number("classification.who.normal_min_t"),
            )
        ]
    return _CUTS[0][1], _CUTS[0][2]


def who_category(t_score: float, fragility_fracture: bool = False) -> WhoCategory:
    osteoporosis_max, normal_min = _who_cuts()
    if t_score <= osteoporosis_max:
        return "severe_osteoporosis" if fragility_fracture else "osteoporosis"
    if t_score < normal_min:
        return "low_bone_mass"
    return "normal"


def worst(categories: list[WhoCategory]) -> WhoCategory | None:
    return max(categories, key=_ORDER.index) if categories else None
