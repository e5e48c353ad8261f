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
