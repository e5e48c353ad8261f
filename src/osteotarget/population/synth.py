"""A synthetic cohort, generated column by column (numpy → Arrow), fast enough for a
million patients: age, sex, menopause, DXA histories, fractures, falls, therapy sequences
with gaps, adherence and (late or missed) injections, and the secondary-cause work-up labs.

Distributions come from ``knowledge/population/synth.toml`` (tagged unverified: our reading
of a clinic population); dosing intervals and anabolic course limits from ``drugs.toml`` and
the profile defaults, the knowledge the engine reads. Every record validates with
:class:`osteotarget.model.Patient` (see ``tests/population/test_synth.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from osteotarget.knowledge import knowledge

_EPOCH = date(1970, 1, 1)
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = _DAYS_PER_YEAR / 12
_FRACTURE_SITES = (
    "hip",
    "vertebral",
    "distal_forearm",
    "proximal_humerus",
    "pelvis",
    "rib",
    "ankle",
    "other",
)
_DRUGS = (
    "alendronate",
    "risedronate",
    "ibandronate",
    "zoledronate",
    "denosumab",
    "raloxifene",
    "teriparatide",
    "abaloparatide",
    "romosozumab",
)
_WORKUP_LABS = (
    # (test, unit, knowledge key of mean, key of sd)
    ("calcium", "mmol/L", "calcium_mean_mmol_l", "calcium_sd_mmol_l"),
    ("vitamin_d_25oh", "ng/mL", "vitamin_d_mean_ng_ml", "vitamin_d_sd_ng_ml"),
    ("egfr", "mL/min/1.73m2", "egfr_mean", "egfr_sd"),
    ("alkaline_phosphatase", "U/L", "alkaline_phosphatase_mean_u_l", "alkaline_phosphatase_sd_u_l"),
    ("pth", "pg/mL", "pth_mean_pg_ml", "pth_sd_pg_ml"),
)
_SITES = ("total_hip", "femoral_neck", "lumbar_spine")
_MAX_COURSES = 3
_MAX_DOSES = 24


def _table(name: str) -> Mapping[str, Any]:
    return knowledge().table(f"population.synth.{name}")


def _limits(name: str) -> tuple[float, float]:
    table = knowledge().table(f"record_limits.{name}")
    return float(table["min"]), float(table["max"])


def _weights(values: Any) -> np.ndarray:
    w: np.ndarray = np.asarray(values, dtype=float)
    out: np.ndarray = w / w.sum()
    return out


def _list(counts: np.ndarray, values: pa.Array) -> pa.ListArray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _cat(categories: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """Strings by category index (a C++ take: far faster than numpy string arrays)."""
    return pa.array(list(categories), pa.string()).take(pa.array(index.astype(np.int32)))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32())


def _struct(fields: dict[str, pa.Array]) -> pa.StructArray:
    arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in fields.values()]
    return pa.StructArray.from_arrays(arrays, names=list(fields))


def _normal(rng: np.random.Generator, mean: float, sd: float, n: int, limit: str) -> np.ndarray:
    values: np.ndarray = np.round(np.clip(rng.normal(mean, sd, n), *_limits(limit)), 1)
    return values


def _share(rng: np.random.Generator, share: float, n: int | tuple[int, ...]) -> np.ndarray:
    """A Boolean draw per patient (or per cell) true with probability *share*."""
    draws: np.ndarray = rng.random(n) < share
    return draws


def synth_table(n: int, seed: int, as_of: date) -> pa.Table:
    """*n* synthetic patients as an Arrow table whose rows are patient records (JSON shape)."""
    rng = np.random.default_rng(seed)
    today = (as_of - _EPOCH).days
    cohort = _table("cohort")

    female = rng.random(n) < cohort["female_share"]
    age = np.clip(
        rng.normal(cohort["age_mean_years"], cohort["age_sd_years"], n),
        cohort["age_min_years"],
        cohort["age_max_years"],
    )
    birth = today - np.floor(age * _DAYS_PER_YEAR).astype(np.int64)
    meno_age = np.clip(
        np.round(
            rng.normal(cohort["menopause_age_mean_years"], cohort["menopause_age_sd_years"], n)
        ),
        *_limits("menopause_age"),
    )
    post = age >= meno_age
    menopause = _struct(
        {
            "status": _cat(("perimenopausal", "postmenopausal"), post),
            "age": pa.array(np.where(post, meno_age, np.nan), from_pandas=True),
        }
    )
    menopause = pa.StructArray.from_arrays(
        [menopause.field("status"), menopause.field("age")],
        names=["status", "age"],
        mask=pa.array(~female),
    )
    height = np.round(
        np.clip(
            rng.normal(cohort["height_mean_cm"], cohort["height_sd_cm"], n), *_limits("height_cm")
        ),
        1,
    )
    weight = np.round(
        np.clip(
            rng.normal(cohort["weight_mean_kg"], cohort["weight_sd_kg"], n), *_limits("weight_kg")
        ),
        1,
    )
    on_gc = rng.random(n) < cohort["glucocorticoid_share"]
    risk_factors = _struct(
        {
            "current_smoker": pa.array(rng.random(n) < cohort["current_smoker_share"]),
            "parental_hip_fracture": pa.array(
                rng.random(n) < cohort["parental_hip_fracture_share"]
            ),
            "rheumatoid_arthritis": pa.array(rng.random(n) < cohort["rheumatoid_arthritis_share"]),
            "glucocorticoids": _struct(
                {
                    "current": pa.array(on_gc),
                    "prednisolone_mg_per_day": pa.array(
                        np.where(on_gc, rng.integers(5, 11, n).astype(float), np.nan),
                        from_pandas=True,
                    ),
                }
            ),
        }
    )

    fractures, latest_fracture = _fractures(rng, n, today)
    columns: dict[str, pa.Array] = {
        "id": _ids(seed, n),
        "sex": _cat(("male", "female"), female),
        "birth_date": _dates(birth),
        "height_cm": pa.array(height),
        "weight_kg": pa.array(weight),
        "menopause": menopause,
        "risk_factors": risk_factors,
        "dxa": _dxa(rng, n, today),
        "fractures": fractures,
        "falls": _falls(rng, n, today),
        "therapies": _therapies(rng, n, today, latest_fracture),
        "labs": _labs(rng, n, today),
    }
    return pa.table(columns)


def _ids(seed: int, n: int) -> pa.Array:
    import pyarrow.compute as pc

    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 7, "0")
    return pc.binary_join_element_wise(f"S{seed}-", numbers, "")


def _counts(rng: np.random.Generator, n: int, weights: Any) -> np.ndarray:
    w = _weights(weights)
    out: np.ndarray = rng.choice(len(w), size=n, p=w)
    return out


def _dxa(rng: np.random.Generator, n: int, today: int) -> pa.ListArray:
    k = _table("dxa")
    width = len(k["visits_weights"]) - 1
    wanted = _counts(rng, n, k["visits_weights"])
    first = today - np.floor(rng.uniform(0, k["first_scan_max_years_ago"], n) * _DAYS_PER_YEAR)
    gaps = rng.uniform(k["interval_min_months"], k["interval_max_months"], (n, width))
    offsets = np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)[:, :-1]], axis=1)
    when = (first[:, None] + np.floor(offsets * _DAYS_PER_MONTH)).astype(np.int64)
    index = np.arange(width)[None, :]
    valid = (index < wanted[:, None]) & (when <= today)
    counts = valid.sum(axis=1)
    hip0 = rng.normal(k["total_hip_t_mean"], k["total_hip_t_sd"], n)
    drift = np.cumsum(rng.normal(0, k["change_per_visit_sd"], (n, width)), axis=1)
    hip = hip0[:, None] + drift
    t_low, t_high = _limits("t_score")
    visit_dates = when[valid]
    visits = len(visit_dates)
    t_by_site = []
    for offset_key in (None, "femoral_neck_offset_t", "lumbar_spine_offset_t"):
        base = hip[valid] + (k[offset_key] if offset_key else 0)
        noise = rng.normal(0, k["site_noise_sd"], visits) if offset_key else 0
        t_by_site.append(np.round(np.clip(base + noise, t_low, t_high), 1))
    t_flat = np.stack(t_by_site, axis=1).reshape(-1)
    measurements = _list(
        np.full(visits, len(_SITES)),
        _struct(
            {
                "site": _cat(_SITES, np.tile(np.arange(len(_SITES)), visits)),
                "t_score": pa.array(t_flat),
            }
        ),
    )
    hologic = _share(rng, k["hologic_share"], n)
    per_visit_maker = _cat(("ge_lunar", "hologic"), np.repeat(hologic, counts))
    return _list(
        counts,
        _struct(
            {
                "date": _dates(visit_dates),
                "device": _struct({"manufacturer": per_visit_maker}),
                "measurements": measurements,
            }
        ),
    )


def _fractures(rng: np.random.Generator, n: int, today: int) -> tuple[pa.ListArray, np.ndarray]:
    """The fractures, and each patient's latest fracture day (-1 when none)."""
    k = _table("fractures")
    counts = _counts(rng, n, k["count_weights"])
    total = int(counts.sum())
    when = today - np.floor(rng.uniform(0, k["max_years_ago"], total) * _DAYS_PER_YEAR)
    latest = np.full(n, -1, dtype=np.int64)
    if total:
        owner = np.repeat(np.arange(n), counts)
        np.maximum.at(latest, owner, when.astype(np.int64))
    site = rng.choice(len(_FRACTURE_SITES), total, p=_weights(k["site_weights"]))
    morphometric = (site == _FRACTURE_SITES.index("vertebral")) & _share(
        rng, k["vertebral_morphometric_share"], total
    )
    listed = _list(
        counts,
        _struct(
            {
                "date": _dates(when),
                "site": _cat(_FRACTURE_SITES, site),
                "fragility": pa.array(rng.random(total) < k["fragility_share"]),
                "source": _cat(("clinical", "morphometric"), morphometric),
            }
        ),
    )
    return listed, latest


def _falls(rng: np.random.Generator, n: int, today: int) -> pa.ListArray:
    k = _table("falls")
    counts = _counts(rng, n, k["count_weights"])
    total = int(counts.sum())
    when = today - np.floor(rng.uniform(0, k["max_years_ago"], total) * _DAYS_PER_YEAR)
    return _list(
        counts,
        _struct(
            {
                "date": _dates(when),
                "injurious": pa.array(rng.random(total) < k["injurious_share"]),
            }
        ),
    )


def _course_limit_months() -> dict[str, float]:
    """Anabolic course limits from the profile defaults (the engine's own settings)."""
    kb = knowledge()
    pth = kb.number("rules.profile_defaults.anabolic.pth_lifetime_months")
    romo = kb.number("rules.profile_defaults.anabolic.romosozumab_max_months")
    return {"teriparatide": pth, "abaloparatide": pth, "romosozumab": romo}


def _dose_interval_days() -> dict[str, float]:
    kb = knowledge()
    out = {}
    for drug in _DRUGS:
        path = f"drugs.drugs.{drug}.dose_interval_months"
        if path in kb.quantities:
            out[drug] = kb.number(path) * _DAYS_PER_MONTH
    return out


def _therapies(
    rng: np.random.Generator, n: int, today: int, latest_fracture: np.ndarray
) -> pa.ListArray:
    k = _table("therapy")
    wanted = _counts(rng, n, k["courses_weights"])
    limits = _course_limit_months()
    drugs = np.array(_DRUGS)
    drug = rng.choice(len(_DRUGS), (n, _MAX_COURSES), p=_weights(k["drug_weights"]))
    months = rng.uniform(k["antiresorptive_months_min"], k["antiresorptive_months_max"], drug.shape)
    for name, limit in limits.items():
        is_drug = drugs[drug] == name
        months = np.where(is_drug, rng.uniform(1, limit, drug.shape), months)
    gap = rng.uniform(0, k["gap_months_max"], drug.shape)
    start = np.empty(drug.shape, dtype=np.int64)
    end = np.empty(drug.shape, dtype=np.int64)
    cursor = today - np.floor(rng.uniform(0, k["first_start_max_years_ago"], n) * _DAYS_PER_YEAR)
    # A share of fracture patients start treatment in the weeks after the fracture (FLS).
    after = latest_fracture + np.floor(rng.uniform(0, k["start_after_fracture_weeks_max"] * 7, n))
    linked = (latest_fracture >= 0) & _share(rng, k["started_after_fracture_share"], n)
    cursor = np.where(linked, after, cursor)
    for c in range(_MAX_COURSES):
        start[:, c] = cursor
        end[:, c] = cursor + np.floor(months[:, c] * _DAYS_PER_MONTH)
        cursor = end[:, c] + np.floor(gap[:, c] * _DAYS_PER_MONTH)
    index = np.arange(_MAX_COURSES)[None, :]
    valid = (index < wanted[:, None]) & (start <= today)
    # Once one course runs past today, later ones are not on record (and it is ongoing).
    past_today = end > today
    earlier_open = (np.cumsum(past_today, axis=1) - past_today) > 0
    valid = valid & (earlier_open == 0)
    counts = valid.sum(axis=1)
    last = index == (counts[:, None] - 1)
    antiresorptive = ~np.isin(drugs[drug], list(limits))
    ongoing = valid & (
        past_today | (last & antiresorptive & (rng.random(drug.shape) < k["ongoing_share"]))
    )
    course_index = drug[valid]
    course_drug = drugs[course_index]
    course_start = start[valid]
    course_end = np.where(ongoing, today, end)[valid]
    course_ongoing = ongoing[valid]
    total = len(course_drug)
    roll = rng.random(total)
    good, poor = k["good_adherence_share"], k["good_adherence_share"] + k["poor_adherence_share"]
    adherence = _cat(
        ("good", "poor", "unknown"), np.where(roll < good, 0, np.where(roll < poor, 1, 2))
    )
    doses, dose_counts = _doses(rng, k, course_drug, course_start, course_end)
    return _list(
        counts,
        _struct(
            {
                "drug": _cat(_DRUGS, course_index),
                "start": _dates(course_start),
                "end": pa.array(course_end.astype(np.int32), pa.date32(), mask=course_ongoing),
                "doses": _list(dose_counts, _dates(doses)),
                "adherence": adherence,
            }
        ),
    )


def _doses(
    rng: np.random.Generator,
    k: Mapping[str, Any],
    drug: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Injection dates of the parenteral drugs: every interval from the start, a little
    late, and for some courses stopping early (missed doses → overdue)."""
    total = len(drug)
    interval = np.zeros(total)
    for name, days in _dose_interval_days().items():
        interval[drug == name] = days
    scheduled = interval > 0
    missed = rng.random(total) < k["missed_dose_share"]
    stop = end - np.where(
        missed, np.floor(rng.uniform(0, k["missed_dose_max_months"], total) * _DAYS_PER_MONTH), 0
    )
    stop = np.maximum(stop, start)
    late_max = np.minimum(k["dose_late_days_max"], interval / 2)
    index = np.arange(_MAX_DOSES)[None, :]
    when = start[:, None] + np.floor(
        index * interval[:, None] + rng.uniform(0, 1, (total, _MAX_DOSES)) * late_max[:, None]
    )
    when[:, 0] = start
    valid = scheduled[:, None] & (when <= stop[:, None])
    return when[valid].astype(np.int64), valid.sum(axis=1)


def _labs(rng: np.random.Generator, n: int, today: int) -> pa.ListArray:
    k = _table("labs")
    width = len(_WORKUP_LABS)
    present = rng.random((n, width)) < k["present_share"]
    # Up to ~13 months back: some results fall outside the work-up look-back (missing).
    when = today - rng.integers(0, 400, (n, width))
    values = np.stack(
        [
            np.round(np.clip(rng.normal(k[mean], k[sd], n), 0, None), 2)
            for _, _, mean, sd in _WORKUP_LABS
        ],
        axis=1,
    )
    which = np.tile(np.arange(width), (n, 1))[present]
    return _list(
        present.sum(axis=1),
        _struct(
            {
                "date": _dates(when[present]),
                "test": _cat([t for t, *_ in _WORKUP_LABS], which),
                "value": pa.array(values[present]),
                "unit": _cat([u for _, u, *_ in _WORKUP_LABS], which),
            }
        ),
    )


def write_cohort(table: pa.Table, out: Path) -> None:
    """Parquet for ``.parquet``, else NDJSON (one record per line, nulls dropped)."""
    if out.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out)
        return
    import polars as pl

    pl.from_arrow(table).write_ndjson(out)  # type: ignore[union-attr]
