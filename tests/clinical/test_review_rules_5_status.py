"""Golden cases for the specialist's fifth review (treatment status, response and target
dates; general rules, no record special-cased). Each test names its guideline, trial or
label."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 12, 2)


def _scan(day: str, hip: float, spine: float, **bmd: float) -> dict[str, Any]:
    hip_m: dict[str, Any] = {"site": "total_hip", "t_score": hip}
    spine_m: dict[str, Any] = {"site": "lumbar_spine", "t_score": spine}
    if "hip_bmd" in bmd:
        hip_m["bmd"] = bmd["hip_bmd"]
    if "spine_bmd" in bmd:
        spine_m["bmd"] = bmd["spine_bmd"]
    return {"date": day, "device": HOLOGIC, "measurements": [hip_m, spine_m]}


# --- 1. A completed anabolic course is not "not on treatment" ---------------------------


def test_completed_anabolic_course_says_consolidation_due_not_untreated() -> None:
    """Lewiecki 2021 (Fig. 3: after an anabolic course, switch to an antiresorptive to
    consolidate the gain); Cosman 2017 (FRAME: romosozumab then denosumab). Review r5-1: the
    status read "not on treatment" right after a completed romosozumab course."""
    for drug, start, end in (
        ("romosozumab", "2025-10-01", "2026-10-01"),
        ("teriparatide", "2024-09-01", "2026-09-01"),
        ("abaloparatide", "2025-03-01", "2026-09-01"),
    ):
        record = woman(
            f"r5-anabolic-{drug}",
            "1950-03-02",
            dxa=[_scan("2024-08-20", -3.0, -3.2), _scan("2026-10-20", -2.6, -2.4)],
            therapies=[{"drug": drug, "start": start, "end": end, "adherence": "good"}],
        )
        a = assess(parse_patient(record), AS_OF, "t2t2024")
        why = a.status.explanation
        assert "not on treatment" not in why, drug
        assert f"{drug} course complete" in why and "consolidation" in why, drug
        assert a.status.on_track is None  # contract words unchanged: the path is not judged
        assert a.recommendations[0].action == "consolidate", drug
    # a course that is simply stopped (an antiresorptive) still reads "not on treatment"
    stopped = woman(
        "r5-stopped-alendronate",
        "1950-03-02",
        dxa=[_scan("2021-08-20", -2.8, -2.9), _scan("2026-10-20", -2.6, -2.4)],
        therapies=[{"drug": "alendronate", "start": "2021-09-01", "end": "2026-06-01"}],
    )
    a = assess(parse_patient(stopped), AS_OF, "t2t2024")
    assert "consolidation" not in a.status.explanation
