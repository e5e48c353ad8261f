"""Golden cases from the specialist's second reading (after the rule fixes of issue 8)."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 12, 1)


def _record(**extra: Any) -> dict[str, Any]:
    return woman("review-followup", "1952-03-10", **extra)


def test_fracture_on_treatment_is_never_on_a_path() -> None:
    """Lewiecki 2021 Fig. 3 (no new fracture is the basic target) and IOF 2012 (Diez-Perez:
    a fracture on treatment starts a failure assessment): a slow BMD gain does not make a
    patient with a vertebral fracture on alendronate "on a path"."""
    record = _record(
        dxa=[
            {
                "date": "2023-01-10",
                "device": HOLOGIC,
                "measurements": [{"site": "total_hip", "t_score": -2.7}],
            },
            {
                "date": "2026-11-03",
                "device": HOLOGIC,
                "measurements": [{"site": "total_hip", "t_score": -2.5}],
            },
        ],
        therapies=[{"drug": "alendronate", "start": "2023-01-20", "adherence": "good"}],
        fractures=[
            {"date": "2025-06-01", "site": "vertebral", "fragility": True, "source": "clinical"}
        ],
    )
    for profile in ("t2t2024", "nogg2022", "endocrine2020"):
        a = assess(parse_patient(record), AS_OF, profile)
        assert a.status is not None and a.status.on_track is False, profile
        assert "fragility fracture since treatment began" in a.status.explanation, profile
