"""WHO densitometric classification per site and overall."""

from __future__ import annotations

from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import WhoCategory

_ORDER: tuple[WhoCategory, ...] = ("normal", "low_bone_mass", "osteoporosis", "severe_osteoporosis")


def who_category(t_score: float, fragility_fracture: bool = False) -> WhoCategory:
    kb = knowledge()
    osteoporosis_max = kb.number("classification.who.osteoporosis_max_t")
    normal_min = kb.number("classification.who.normal_min_t")
    if t_score <= osteoporosis_max:
        return "severe_osteoporosis" if fragility_fracture else "osteoporosis"
    if t_score < normal_min:
        return "low_bone_mass"
    return "normal"


def worst(categories: list[WhoCategory]) -> WhoCategory | None:
    return max(categories, key=_ORDER.index) if categories else None
