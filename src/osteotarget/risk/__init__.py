"""Fracture-risk category per guideline profile, with every criterion that fired and FRAX
as entered next to its published arithmetic adjustments."""

from osteotarget.base.facts import Facts, facts_of
from osteotarget.risk.category import risk_category
from osteotarget.risk.frax import frax_values

__all__ = ["Facts", "facts_of", "frax_values", "risk_category"]
