"""Worklist rows from the kernel's facts: one row per patient and queue, with ``patient_id``,
``queue``, ``reason``, ``due`` (ISO date or empty) and ``priority`` (1 = most urgent;
``population/fls.toml``). Queue names (docs/population.md):

``fracture_without_treatment``, ``denosumab_overdue``, ``denosumab_stopped_without_follow_on``,
``denosumab_due_soon``, ``anabolic_ending_without_follow_on``, ``dxa_overdue``,
``dxa_due_soon``, ``holiday_review_due``, ``workup_missing``, ``not_at_target``.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from osteotarget.population.settings import KernelSettings

QUEUES = (
    "denosumab_overdue",
    "denosumab_stopped_without_follow_on",
    "fracture_without_treatment",
    "anabolic_ending_without_follow_on",
    "denosumab_due_soon",
    "workup_missing",
    "holiday_review_due",
    "not_at_target",
    "dxa_overdue",
    "dxa_due_soon",
)
COLUMNS = ("patient_id", "queue", "reason", "due", "priority")


def _d(column: str) -> pl.Expr:
    return pl.col(column).dt.to_string("%Y-%m-%d").fill_null("")


def _queue(
    facts: pl.DataFrame, name: str, where: pl.Expr, reason: pl.Expr, due: pl.Expr, priority: int
) -> pl.DataFrame:
    return facts.filter(where).select(
        "patient_id",
        pl.lit(name).alias("queue"),
        reason.alias("reason"),
        due.cast(pl.Date).alias("due"),
        pl.lit(priority, dtype=pl.Int32).alias("priority"),
    )


def worklist_rows(facts: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    """Every queue's rows, most urgent first, then by due date and patient."""
    p = settings.priorities
    soon = as_of + timedelta(days=settings.due_soon_days)
    fmt = pl.format
    parts = [
        _queue(
            facts,
            "denosumab_overdue",
            pl.col("denosumab_overdue"),
            fmt(
                "denosumab last given {}: overdue since {} (rebound bone loss risk)",
                _d("denosumab_last"),
                _d("denosumab_overdue_from"),
            ),
            pl.col("denosumab_overdue_from"),
            p["denosumab_overdue"],
        ),
        _queue(
            facts,
            "denosumab_stopped_without_follow_on",
            pl.col("denosumab_stopped"),
            fmt(
                "denosumab stopped (last dose {}) with no follow-on antiresorptive; due {}",
                _d("denosumab_last"),
                _d("denosumab_follow_on_due"),
            ),
            pl.col("denosumab_follow_on_due"),
            p["denosumab_stopped_without_follow_on"],
        ),
        _queue(
            facts,
            "fracture_without_treatment",
            pl.col("fracture_without_treatment"),
            fmt(
                "fragility fracture ({}) on {}, no anti-osteoporosis drug started since",
                pl.col("sentinel_site"),
                _d("sentinel_date"),
            ),
            pl.col("sentinel_date")
            + timedelta(weeks=settings.kpi_weeks["medication_started_within"]),
            p["fracture_without_treatment"],
        ),
        _queue(
            facts,
            "anabolic_ending_without_follow_on",
            pl.col("anabolic_without_follow_on"),
            pl.when(pl.col("anabolic_ending") & pl.col("anabolic_beyond_if_high_risk"))
            .then(
                fmt(
                    "{} reaches its lifetime limit on {}: beyond it only if fracture risk "
                    "remains or is again high (US label); otherwise plan the antiresorptive "
                    "follow-on",
                    pl.col("current_drug"),
                    _d("anabolic_course_end"),
                )
            )
            .when(pl.col("anabolic_ending"))
            .then(
                fmt(
                    "{} course reaches its limit on {}: plan the antiresorptive follow-on",
                    pl.col("current_drug"),
                    _d("anabolic_course_end"),
                )
            )
            .otherwise(
                fmt(
                    "anabolic course ended {} with no antiresorptive after it", _d("anabolic_ended")
                )
            ),
            pl.coalesce("anabolic_course_end", "anabolic_ended"),
            p["anabolic_ending_without_follow_on"],
        ),
        _queue(
            facts,
            "denosumab_due_soon",
            pl.col("denosumab_due_soon"),
            fmt("denosumab dose due {} (last {})", _d("denosumab_due"), _d("denosumab_last")),
            pl.col("denosumab_due"),
            p["denosumab_due_soon"],
        ),
        _queue(
            facts,
            "workup_missing",
            pl.col("fracture_without_treatment") & pl.col("workup_missing"),
            fmt(
                "before a start: no {} in the last {} months",
                pl.col("workup_missing_tests").list.join(", "),
                pl.lit(settings.lab_lookback_months),
            ),
            pl.lit(as_of),
            p["workup_missing"],
        ),
        _queue(
            facts,
            "holiday_review_due",
            pl.col("holiday_review_due"),
            fmt(
                "bisphosphonate holiday since {}: review due {}",
                _d("holiday_since"),
                _d("holiday_review"),
            ),
            pl.col("holiday_review"),
            p["holiday_review_due"],
        ),
        _queue(
            facts,
            "not_at_target",
            pl.col("below_minimum_target") & (pl.col("target_due") <= pl.lit(as_of)),
            fmt(
                "on {} with total-hip T {} (minimum target above {}) after {} months of treatment",
                pl.col("current_drug"),
                pl.col("total_hip_t").round(1),
                pl.lit(settings.minimum_target_t),
                pl.lit(settings.reasonable_period_months),
            ),
            pl.col("target_due"),
            p["not_at_target"],
        ),
        _queue(
            facts,
            "dxa_overdue",
            pl.col("dxa_overdue"),
            pl.when(pl.col("last_dxa").is_null())
            .then(pl.lit("no DXA on record"))
            .otherwise(
                fmt(
                    "last DXA {}; a scan every {} months",
                    _d("last_dxa"),
                    pl.lit(settings.dxa_interval_months),
                )
            ),
            pl.col("next_dxa"),
            p["dxa_overdue"],
        ),
        _queue(
            facts,
            "dxa_due_soon",
            ~pl.col("dxa_overdue") & (pl.col("next_dxa") <= pl.lit(soon)),
            fmt("DXA due {} (last {})", _d("next_dxa"), _d("last_dxa")),
            pl.col("next_dxa"),
            p["dxa_due_soon"],
        ),
    ]
    return pl.concat(parts).sort("priority", "due", "patient_id", nulls_last=True)


def write_csv(rows: pl.DataFrame, path: str) -> None:
    rows.with_columns(pl.col("due").dt.to_string("%Y-%m-%d").fill_null("")).write_csv(path)
