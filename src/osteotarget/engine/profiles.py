"""Compatibility name: guideline profiles live in :mod:`osteotarget.base.profile`."""

from osteotarget.base.profile import Profile, list_profiles, load_profile

__all__ = ["Profile", "list_profiles", "load_profile"]
