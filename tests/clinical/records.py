"""Shared pieces of the golden-case records: a postmenopausal woman with current, normal
renal function, calcium and vitamin D (so no lab gate fires unless a test adds one)."""

from __future__ import annotations

from typing import Any

HOLOGIC = {"manufacturer": "hologic", "model": "Horizon A", "facility": "Test"}

NORMAL_LABS = [
    {"date": "2026-10-20", "test": "egfr", "value": 72, "unit": "mL/min/1.73m2"},
    {"date": "2026-10-20", "test": "calcium", "value": 2.35, "unit": "mmol/L"},
    {"date": "2026-10-20", "test": "vitamin_d_25oh", "value": 34, "unit": "ng/mL"},
]


def woman(record_id: str, birth_date: str, /, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": record_id,
        "sex": "female",
        "birth_date": birth_date,
        "menopause": {"status": "postmenopausal", "age": 51},
        "labs": [dict(lab) for lab in NORMAL_LABS],
    }
    base.update(extra)
    return base


def very_high_risk_woman(record_id: str, therapies: list[dict[str, Any]]) -> dict[str, Any]:
    """Very high risk by any profile: two vertebral fractures, total hip T -3.2 (born 1950),
    with the given therapy courses."""
    return woman(
        record_id,
        "1950-01-01",
        fractures=[
            {"date": "2024-06-01", "site": "vertebral", "fragility": True, "source": "clinical"},
            {"date": "2025-06-01", "site": "vertebral", "fragility": True, "source": "clinical"},
        ],
        dxa=[
            {
                "date": "2026-06-15",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -3.2},
                    {"site": "lumbar_spine", "t_score": -3.5},
                ],
            }
        ],
        therapies=therapies,
    )
