"""Densitometry: T-scores, cross-manufacturer standardisation, precision/LSC, trend, WHO class."""

from osteotarget.densitometry.classification import who_category
from osteotarget.densitometry.precision import (
    Precision,
    PrecisionStudy,
    default_precision,
    facility_precision,
    precision_study,
)
from osteotarget.densitometry.reference import (
    Reference,
    bmd_from_t_score,
    reference_for,
    t_score_from_bmd,
    t_units_per_percent,
)
from osteotarget.densitometry.report import assess_densitometry
from osteotarget.densitometry.standardise import sbmd_mg_cm2

__all__ = [
    "Precision",
    "PrecisionStudy",
    "Reference",
    "assess_densitometry",
    "bmd_from_t_score",
    "default_precision",
    "facility_precision",
    "precision_study",
    "reference_for",
    "sbmd_mg_cm2",
    "t_score_from_bmd",
    "t_units_per_percent",
    "who_category",
]
