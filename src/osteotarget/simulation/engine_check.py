"""Turn a simulated patient at a treat-to-target decision point into a real patient record,
so the engine's own ``assess`` can be compared with the simulator's action
(tests/simulation/test_engine_agreement.py; docs/simulation.md §4).

What the record carries: sex, age, a baseline and a current total-hip DXA (T-score and
BMD), a fracture (site "distal_forearm": the simulation does not keep the site of a baseline
fracture) with its date, the current course with doses, and current normal labs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from osteotarget.dates import add_months
from osteotarget.simulation.cohort import Cohort

_DAYS_PER_YEAR = 365.25  # noqa: knowledge (calendar)
_DOSE_MONTHS = {"denosumab": 6, "zoledronate": 12, "romosozumab": 1}  # noqa: knowledge (label intervals)
_NORMAL_LABS = (  # noqa: knowledge (a normal lab panel for the record)
    ("egfr", 80, "mL/min/1.73m2"),
    ("calcium", 2.35, "mmol/L"),
    ("vitamin_d_25oh", 32, "ng/mL"),
    ("pth", 40, "pg/mL"),
    ("alkaline_phosphatase", 80, "U/L"),
)


def _dxa(when: date, t_score: float, ref_mean: float, ref_sd: float) -> dict[str, Any]:
    return {
        "date": when.isoformat(),
        "device": {"manufacturer": "hologic"},
        "measurements": [
            {
                "site": "total_hip",
                "side": "left",
                "t_score": round(t_score, 1),
                "bmd": round(ref_mean + t_score * ref_sd, 3),
            }
        ],
    }


def _course(
    cohort: Cohort, drug: str, start_month: int, end_month: int | None, as_of: date, adherence: str
) -> dict[str, Any]:
    start = add_months(cohort.as_of, start_month)
    end = add_months(cohort.as_of, end_month) if end_month is not None else None
    course: dict[str, Any] = {
        "drug": drug,
        "start": start.isoformat(),
        "end": end.isoformat() if end is not None else None,
        "adherence": adherence,
    }
    if drug in _DOSE_MONTHS:
        last = min(as_of, end) if end is not None else as_of
        doses, k = [], 0
        while (d := add_months(start, k * _DOSE_MONTHS[drug])) < last or (
            end is None and d == last
        ):
            doses.append(d.isoformat())
            k += 1
        course["doses"] = doses
    return course


def record_for(
    cohort: Cohort, sample: dict[str, Any], ref_mean: float, ref_sd: float
) -> tuple[dict[str, Any], date]:
    """(patient record as JSON data, as-of date) for one decision sample."""
    i = int(sample["patient"])
    month = int(sample["month"])
    as_of = add_months(cohort.as_of, month)
    birth = as_of - timedelta(days=int((cohort.age[i] + month / 12) * _DAYS_PER_YEAR))  # noqa: knowledge (months)
    female = bool(cohort.female[i])
    dxa = [_dxa(cohort.as_of, float(cohort.t_score[i]), ref_mean, ref_sd)]
    if month > 0:
        dxa.append(_dxa(as_of, float(sample["measured_t"]), ref_mean, ref_sd))
    since = float(sample["since_fracture"])
    fractures = []
    if since != float("inf"):
        when = as_of - timedelta(days=int(since * _DAYS_PER_YEAR / 12))  # noqa: knowledge (months)
        fractures.append(
            {
                "date": when.isoformat(),
                "site": "distal_forearm",
                "fragility": True,
                "source": "clinical",
            }
        )
    therapies = []
    drug = str(sample["drug"])
    adherence = str(sample["facts"].get("adherence", "good"))
    if drug:
        therapies.append(_course(cohort, drug, int(sample["course_start"]), None, as_of, adherence))
    elif sample.get("previous_drug"):
        therapies.append(
            _course(
                cohort,
                str(sample["previous_drug"]),
                int(sample["course_start"]),
                int(sample["off_start"]),
                as_of,
                "good",
            )
        )
    labs = [
        {"date": (as_of - timedelta(days=7)).isoformat(), "test": t, "value": v, "unit": u}
        for t, v, u in _NORMAL_LABS
    ]
    record = {
        "id": f"sim-{i}-{month}",
        "sex": "female" if female else "male",
        "birth_date": birth.isoformat(),
        "menopause": {"status": "postmenopausal", "age": 51} if female else None,  # noqa: knowledge (record field)
        "dxa": dxa,
        "fractures": fractures,
        "falls": [],
        "therapies": therapies,
        "labs": labs,
        "conditions": [],
    }
    if not female:
        del record["menopause"]
    return record, as_of
