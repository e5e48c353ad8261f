"""Compatibility name: the therapy history lives in :mod:`osteotarget.base.history`."""

from osteotarget.base.history import (
    History,
    class_of,
    drug_info,
    is_bisphosphonate,
    is_oral,
    kind_of,
)

__all__ = ["History", "class_of", "drug_info", "is_bisphosphonate", "is_oral", "kind_of"]
