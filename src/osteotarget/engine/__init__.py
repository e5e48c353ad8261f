"""The only orchestrator: ``assess(patient, as_of, profile) -> Assessment``.

Pure: no I/O, no clock, no environment. (Placeholder until the engine issue lands: it
returns the densitometry part and its findings as alerts.)
"""

from __future__ import annotations

from datetime import date

from osteotarget import __version__
from osteotarget.densitometry import assess_densitometry
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient, check_as_of
from osteotarget.model.assessment import Alert, Assessment

ENGINE_VERSION = __version__
DEFAULT_PROFILE = "t2t2024"


def assess(patient: Patient, as_of: date, profile: str | None = None) -> Assessment:
    check_as_of(patient, as_of)
    dens = assess_densitometry(patient, as_of)
    return Assessment(
        patient_id=patient.id,
        as_of=as_of,
        profile=profile or DEFAULT_PROFILE,
        engine_version=ENGINE_VERSION,
        knowledge_version=knowledge().version,
        densitometry=dens,
        alerts=[
            Alert(severity=f.severity, code=f.code, message=f.message, citations=f.citations)
            for f in dens.findings
        ],
    )
