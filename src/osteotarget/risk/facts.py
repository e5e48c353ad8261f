"""Compatibility name: per-patient facts live in :mod:`osteotarget.base.facts`."""

from osteotarget.base.facts import Facts, facts_of

__all__ = ["Facts", "facts_of"]
