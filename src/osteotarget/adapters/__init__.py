"""Doors in and out of the core: FHIR R4 in/out, CDS Hooks cards, code maps (data files)."""
