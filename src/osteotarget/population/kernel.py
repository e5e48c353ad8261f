"""The population kernel: one vectorised pass (Polars) from the columnar records to one row
of facts per patient. Worklists and indicators are both read from these facts
(:mod:`osteotarget.population.worklist`, :mod:`osteotarget.population.kpi`).

The same function runs on a whole table (embedded runner) and on each Arrow batch of a
Spark partition (:mod:`osteotarget.population.spark`): a patient is one row, so every fact
is partition-local. The per-patient engine is the oracle (``tests/population``): each fact
named below mirrors a field or alert of ``assess``:

* ``dxa_overdue`` ↔ alert ``dxa_due``; ``next_dxa`` ↔ ``monitoring.next_dxa`` (routine)
* ``denosumab_overdue`` ↔ alert ``denosumab_overdue``
* ``denosumab_stopped`` / ``denosumab_stopped_critical`` ↔ alert
  ``denosumab_stopped_without_follow_on`` and its severity
* ``next_dose`` ↔ ``monitoring.next_dose`` for the current course
* ``holiday_review_due`` ↔ alert ``holiday_review_due`` (or a ``resume`` recommendation)
* ``workup_missing`` ↔ the ``investigate`` work-up recommendation of an untreated patient
* ``below_minimum_target`` ⇒ ``status.target_met`` is false
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pyarrow as pa

from osteotarget.population.settings import KernelSettings

_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = _DAYS_PER_YEAR / 12


def _plus_months(expr: pl.Expr, months: int | pl.Expr) -> pl.Expr:
    """``dates.add_months`` over a column: whole calendar months, clamped to month end."""
    if isinstance(months, int):
        return expr.dt.offset_by(f"{months}mo")
    return expr.dt.offset_by(pl.format("{}mo", months))


def _drug_table(settings: KernelSettings) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "drug": [d.drug for d in settings.drugs],
            "kind": [d.kind for d in settings.drugs],
            "drug_class": [d.drug_class for d in settings.drugs],
            "oral": [d.route == "oral" for d in settings.drugs],
            "interval_months": [d.dose_interval_months for d in settings.drugs],
        },
        schema_overrides={"interval_months": pl.Int32},
    )


def compute_facts(records: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    """One row per patient of *records* (the columnar layout) with every worklist/KPI fact."""
    today = pl.lit(as_of)
    base = records.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("pid"),
        pl.col("id").alias("patient_id"),
        "sex",
        "birth_date",
    ).with_columns(
        (
            pl.lit(as_of.year)
            - pl.col("birth_date").dt.year()
            - (
                pl.col("birth_date").dt.month().cast(pl.Int32) * 100
                + pl.col("birth_date").dt.day().cast(pl.Int32)
                > as_of.month * 100 + as_of.day
            ).cast(pl.Int32)
        ).alias("age")
    )
    pid = records.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("pid"))

    def exploded(column: str) -> pl.DataFrame:
        frame = pl.concat([pid, records.select(column)], how="horizontal")
        out = frame.explode(column).filter(pl.col(column).is_not_null())
        return out.unnest(column)

    facts = base
    facts = facts.join(_dxa_facts(exploded("dxa"), as_of, settings), on="pid", how="left")
    fractures = exploded("fractures").filter(pl.col("fragility") & (pl.col("date") <= today))
    facts = facts.join(_fracture_facts(fractures), on="pid", how="left")
    courses = _courses(exploded("therapies"), as_of, settings)
    facts = facts.join(_course_facts(courses, as_of), on="pid", how="left")
    facts = facts.join(_denosumab_facts(courses, as_of, settings), on="pid", how="left")
    facts = facts.join(_holiday_facts(courses, fractures, as_of, settings), on="pid", how="left")
    facts = facts.join(_anabolic_facts(courses, settings), on="pid", how="left")
    facts = facts.join(_workup_facts(exploded("labs"), as_of, settings), on="pid", how="left")
    facts = facts.join(
        _sentinel_facts(facts, exploded("dxa"), exploded("frax"), courses, settings),
        on="pid",
        how="left",
    )
    return _derive(facts, as_of, settings).sort("pid").drop("pid")


def _dxa_facts(visits: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    visits = visits.filter(pl.col("date") <= pl.lit(as_of))
    last = visits.group_by("pid").agg(
        pl.len().alias("dxa_visits"), pl.col("date").max().alias("last_dxa")
    )
    hip = (
        visits.explode("measurements")
        .filter(pl.col("measurements").is_not_null())
        .with_columns(
            pl.col("measurements").struct.field("site").alias("site"),
            pl.col("measurements").struct.field("t_score").alias("t_score"),
        )
        .filter((pl.col("site") == "total_hip") & pl.col("t_score").is_not_null())
        .sort("pid", "date")
        .group_by("pid")
        .agg(pl.col("t_score").last().alias("total_hip_t"))
    )
    return last.join(hip, on="pid", how="left")


def _fracture_facts(fractures: pl.DataFrame) -> pl.DataFrame:
    return (
        fractures.sort("pid", "date", "site")
        .group_by("pid")
        .agg(
            pl.len().alias("fragility_fractures"),
            pl.col("date").last().alias("sentinel_date"),
            pl.col("site").last().alias("sentinel_site"),
        )
    )


def _courses(therapies: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    today = pl.lit(as_of)
    return (
        therapies.with_row_index("course")
        .filter(pl.col("start") <= today)
        .join(_drug_table(settings), on="drug", how="left")
        .with_columns(
            pl.col("doses")
            .list.eval(pl.element().filter(pl.element() <= today))
            .list.max()
            .alias("last_dose"),
            (pl.col("end").is_null() | (pl.col("end") > today)).alias("ongoing"),
            pl.min_horizontal(pl.col("end").fill_null(today), today).alias("end_of"),
        )
        .with_columns(
            ((pl.col("end_of") - pl.col("start")).dt.total_days() / _DAYS_PER_YEAR).alias(
                "years_on"
            )
        )
    )


def _course_facts(courses: pl.DataFrame, as_of: date) -> pl.DataFrame:
    today = pl.lit(as_of)
    counts = courses.group_by("pid").agg(
        pl.len().alias("courses"),
        pl.col("start").min().alias("first_start"),
        pl.col("start").max().alias("latest_start"),
    )
    current = (
        courses.filter(pl.col("ongoing"))
        .sort("pid", "start", "drug")
        .group_by("pid")
        .agg(
            pl.col("drug").last().alias("current_drug"),
            pl.col("start").last().alias("current_start"),
            pl.col("kind").last().alias("current_kind"),
            pl.col("last_dose").last().alias("current_last_dose"),
            pl.col("interval_months").last().alias("current_interval_months"),
        )
    )
    # history.last(): the course with the latest (end or as_of, start, drug).
    last = (
        courses.with_columns(pl.col("end").fill_null(today).alias("_key"))
        .sort("pid", "_key", "start", "drug")
        .group_by("pid")
        .agg(
            pl.col("course").last().alias("last_course"),
            pl.col("drug").last().alias("last_drug"),
            pl.col("start").last().alias("last_start"),
            pl.col("end").last().alias("last_end"),
            pl.col("kind").last().alias("last_kind"),
            pl.col("drug_class").last().alias("last_class"),
            pl.col("oral").last().alias("last_oral"),
            pl.col("years_on").last().alias("last_years_on"),
            pl.col("stop_reason").last().alias("last_stop_reason"),
        )
    )
    return counts.join(current, on="pid", how="left").join(last, on="pid", how="left")


def _denosumab_facts(courses: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    """ECTS 2021 / 2020 joint guidance, as ``plan.denosumab``: the last denosumab course,
    not followed by an anabolic nor by a follow-on antiresorptive."""
    today = pl.lit(as_of)
    dmab = (
        courses.filter(pl.col("drug") == "denosumab")
        .sort("pid", "start", "drug")
        .group_by("pid")
        .agg(
            pl.col("course").last().alias("d_course"),
            pl.col("start").last().alias("d_start"),
            pl.col("end").last().alias("d_end"),
            pl.col("last_dose").last().alias("d_last_dose"),
        )
    )
    later = (
        courses.select("pid", "course", "drug", "kind", "start")
        .join(dmab.select("pid", "d_course", "d_start"), on="pid")
        .filter((pl.col("course") != pl.col("d_course")) & (pl.col("start") >= pl.col("d_start")))
        .group_by("pid")
        .agg(
            ((pl.col("kind") == "anabolic") & (pl.col("drug") != "denosumab"))
            .any()
            .alias("d_then_anabolic"),
            pl.col("drug").is_in(list(settings.follow_on_drugs)).any().alias("d_then_follow_on"),
        )
    )
    last = pl.coalesce("d_last_dose", "d_end")
    judged = (
        ~pl.col("d_then_anabolic").fill_null(False)
        & ~pl.col("d_then_follow_on").fill_null(False)
        & last.is_not_null()
    )
    ongoing = pl.col("d_end").is_null() | (pl.col("d_end") > today)
    overdue_from = _plus_months(last, settings.denosumab_overdue_after_months)
    follow_on_due = _plus_months(last, settings.denosumab_follow_on_after_months)
    return (
        dmab.join(later, on="pid", how="left")
        .with_columns(
            last.alias("denosumab_last"),
            (judged & ongoing & (today > overdue_from)).alias("denosumab_overdue"),
            overdue_from.alias("denosumab_overdue_from"),
            (judged & ~ongoing).alias("denosumab_stopped"),
            (judged & ~ongoing & (today >= follow_on_due)).alias("denosumab_stopped_critical"),
            follow_on_due.alias("denosumab_follow_on_due"),
            pl.when(judged & ongoing)
            .then(_plus_months(last, settings.drug("denosumab").dose_interval_months or 0))
            .alias("denosumab_due"),
        )
        .select(
            "pid",
            "denosumab_last",
            "denosumab_overdue",
            "denosumab_overdue_from",
            "denosumab_stopped",
            "denosumab_stopped_critical",
            "denosumab_follow_on_due",
            "denosumab_due",
        )
    )


def _holiday_facts(
    courses: pl.DataFrame, fractures: pl.DataFrame, as_of: date, settings: KernelSettings
) -> pl.DataFrame:
    """``plan.holiday.holiday_in_progress``: off treatment after a bisphosphonate stopped
    for a holiday (said so, or at its review point); review due at end + review months."""
    last = (
        courses.with_columns(pl.col("end").fill_null(pl.lit(as_of)).alias("_key"))
        .sort("pid", "_key", "start", "drug")
        .group_by("pid")
        .agg(pl.all().last())
    )
    review_years = (
        pl.when(pl.col("oral"))
        .then(pl.lit(settings.holiday_oral_review_years))
        .otherwise(pl.lit(settings.holiday_intravenous_review_years))
    )
    holiday = last.filter(
        (pl.col("drug_class") == "bisphosphonate")
        & ~pl.col("ongoing")
        & (
            pl.col("stop_reason").fill_null("").str.to_lowercase().str.contains("holiday")
            | (pl.col("years_on") >= review_years)
        )
    ).select(
        "pid",
        pl.col("end").alias("holiday_since"),
        _plus_months(pl.col("end"), settings.holiday_review_after_months).alias("holiday_review"),
    )
    after = (
        fractures.select("pid", "date")
        .join(holiday, on="pid")
        .filter(pl.col("date") > pl.col("holiday_since"))
        .group_by("pid")
        .agg(pl.len().alias("fractures_on_holiday"))
    )
    return holiday.join(after, on="pid", how="left").with_columns(
        pl.col("fractures_on_holiday").fill_null(0)
    )


def _anabolic_facts(courses: pl.DataFrame, settings: KernelSettings) -> pl.DataFrame:
    """The end of the current anabolic course at its limit (romosozumab 12 months; PTH
    analogues a lifetime total, counted as the label of the profile's region counts it:
    ``settings.pth_lifetime``, the assessment's own rule), whether use beyond it is only
    cautioned (US teriparatide label, where the profile allows it), and whether an
    antiresorptive follows an ended anabolic course."""
    current = (
        courses.filter(pl.col("ongoing") & (pl.col("kind") == "anabolic"))
        .sort("pid", "start", "drug")
        .group_by("pid")
        .agg(
            pl.col("course").last().alias("a_course"),
            pl.col("drug").last().alias("a_drug"),
            pl.col("start").last().alias("a_start"),
        )
    )
    counted = pl.DataFrame(
        {
            "a_drug": [r.drug for r in settings.pth_lifetime for _ in r.counts],
            "drug": [d for r in settings.pth_lifetime for d in r.counts],
        },
        schema={"a_drug": pl.String, "drug": pl.String},
    )
    # The other courses whose days count against the current PTH analogue's lifetime limit
    # (``History.cumulative_months`` of the counted drugs, less the current course).
    prior = (
        courses.select(
            "pid",
            "course",
            pl.col("drug").cast(pl.String),
            (pl.col("end_of") - pl.col("start")).dt.total_days().alias("_days"),
        )
        .join(current.select("pid", "a_course", pl.col("a_drug").cast(pl.String)), on="pid")
        .filter(pl.col("course") != pl.col("a_course"))
        .join(counted, on=["a_drug", "drug"])
        .group_by("pid")
        .agg(pl.col("_days").sum().alias("prior_pth_days"))
    )
    beyond = [r.drug for r in settings.pth_lifetime if r.action == "caution"]
    # The assessment: lifetime months (days / days per month) >= the limit; the first day
    # that holds is the start plus the days still allowed, rounded up.
    allowed_days = (
        (pl.lit(settings.pth_lifetime_months * _DAYS_PER_MONTH) - pl.col("prior_pth_days"))
        .ceil()
        .clip(lower_bound=0)
        .cast(pl.Int64)
    )
    pth_end = pl.col("a_start") + pl.duration(days=allowed_days)
    current = (
        current.join(prior, on="pid", how="left")
        .with_columns(pl.col("prior_pth_days").fill_null(0))
        .with_columns(
            pl.when(pl.col("a_drug") == "romosozumab")
            .then(_plus_months(pl.col("a_start"), settings.romosozumab_max_months))
            .when(pl.col("a_drug").cast(pl.String).is_in(list(counted["a_drug"].unique())))
            .then(pth_end)
            .alias("anabolic_course_end"),
            pl.col("a_drug").cast(pl.String).is_in(beyond).alias("anabolic_beyond_if_high_risk"),
        )
        .select("pid", "anabolic_course_end", "anabolic_beyond_if_high_risk")
    )
    ended = (
        courses.filter(~pl.col("ongoing"))
        .sort("pid", "start", "drug")
        .group_by("pid")
        .agg(pl.all().last())
        .filter(pl.col("kind") == "anabolic")
        .select("pid", pl.col("end").alias("anabolic_ended"), pl.col("start").alias("_a_start"))
    )
    followed = (
        courses.select("pid", "start", "kind")
        .join(ended, on="pid")
        .filter((pl.col("start") >= pl.col("_a_start")) & (pl.col("kind") == "antiresorptive"))
        .group_by("pid")
        .agg(pl.len().alias("_followed"))
    )
    ended = (
        ended.join(followed, on="pid", how="left")
        .filter(pl.col("_followed").is_null())
        .select("pid", "anabolic_ended")
    )
    return current.join(ended, on="pid", how="full", coalesce=True)


def _workup_facts(labs: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    """``plan.workup.missing_workup``: each work-up test within the look-back window."""
    window_start = pl.lit(as_of).dt.offset_by(f"-{settings.lab_lookback_months}mo")
    recent = labs.filter((pl.col("date") >= window_start) & (pl.col("date") <= pl.lit(as_of)))
    present = (
        recent.with_columns(
            pl.when(pl.col("test") == "creatinine_clearance")
            .then(pl.lit("egfr"))
            .otherwise(pl.col("test"))
            .alias("test")
        )
        .group_by("pid")
        .agg(pl.col("test").unique().alias("_tests"))
    )
    missing = [
        pl.when(~pl.col("_tests").list.contains(pl.lit(t)).fill_null(False))
        .then(pl.lit(t))
        .otherwise(pl.lit(None, dtype=pl.String))
        for t in settings.workup_tests
    ]
    return present.select(
        "pid", pl.concat_list(missing).list.drop_nulls().alias("workup_missing_tests")
    )


def _sentinel_facts(
    facts: pl.DataFrame,
    dxa: pl.DataFrame,
    frax: pl.DataFrame,
    courses: pl.DataFrame,
    settings: KernelSettings,
) -> pl.DataFrame:
    """Service-indicator facts around the sentinel (most recent fragility) fracture."""
    weeks = settings.kpi_weeks
    sentinel = facts.select("pid", "sentinel_date").filter(pl.col("sentinel_date").is_not_null())

    def within(frame: pl.DataFrame, column: str, key: str) -> pl.DataFrame:
        days = weeks[key] * 7
        return (
            frame.select("pid", pl.col(column).alias("_d"))
            .join(sentinel, on="pid")
            .filter(
                (pl.col("_d") >= pl.col("sentinel_date"))
                & (pl.col("_d") <= pl.col("sentinel_date") + timedelta(days=days))
            )
            .group_by("pid")
            .agg(pl.col("_d").min().alias(f"first_{key}"))
        )

    out = sentinel.select("pid")
    out = out.join(within(dxa, "date", "dxa_within"), on="pid", how="left")
    out = out.join(within(frax, "date", "assessment_within"), on="pid", how="left")
    out = out.join(within(courses, "start", "medication_started_within"), on="pid", how="left")
    at = weeks["on_medication_at"] * 7
    on_at = (
        courses.select("pid", "start", "end")
        .join(sentinel, on="pid")
        .filter(
            (pl.col("start") <= pl.col("sentinel_date") + timedelta(days=at))
            & (
                pl.col("end").is_null()
                | (pl.col("end") > pl.col("sentinel_date") + timedelta(days=at))
            )
        )
        .group_by("pid")
        .agg(pl.len().alias("_on"))
    )
    first_dxa_after = (
        dxa.select("pid", "date")
        .join(sentinel, on="pid")
        .filter(pl.col("date") >= pl.col("sentinel_date"))
        .group_by("pid")
        .agg(
            (pl.col("date").min() - pl.col("sentinel_date").first())
            .dt.total_days()
            .alias("days_to_dxa")
        )
    )
    return (
        out.join(on_at, on="pid", how="left")
        .join(first_dxa_after, on="pid", how="left")
        .with_columns(pl.col("_on").is_not_null().alias("on_medication_at_52_weeks"))
        .drop("_on")
    )


def _derive(facts: pl.DataFrame, as_of: date, settings: KernelSettings) -> pl.DataFrame:
    today = pl.lit(as_of)
    soon = today + timedelta(days=settings.due_soon_days)
    routine = _plus_months(pl.col("last_dxa"), settings.dxa_interval_months)
    untreated = pl.col("courses").is_null()
    recent_from = today.dt.offset_by(f"-{settings.fracture_lookback_months}mo")
    age_at_sentinel = (
        pl.col("sentinel_date") - pl.col("birth_date")
    ).dt.total_days() / _DAYS_PER_YEAR
    interval = pl.col("current_interval_months")
    dose_due = pl.max_horizontal(
        _plus_months(pl.coalesce("current_last_dose", "current_start"), interval.fill_null(0)),
        today,
    )
    romo_limit = _plus_months(pl.col("current_start"), settings.romosozumab_max_months)
    reasonable = _plus_months(pl.col("first_start"), settings.reasonable_period_months)
    return facts.with_columns(
        pl.col("courses").fill_null(0),
        untreated.alias("untreated"),
        pl.col("current_drug").is_not_null().alias("on_treatment"),
        (pl.col("last_dxa").is_null() | (routine < today)).alias("dxa_overdue"),
        pl.when(pl.col("last_dxa").is_null() | (routine < today))
        .then(today)
        .otherwise(routine)
        .alias("next_dxa"),
        pl.when(interval.is_null())
        .then(pl.lit(None, dtype=pl.Date))
        .when((pl.col("current_drug") == "romosozumab") & (dose_due >= romo_limit))
        .then(pl.lit(None, dtype=pl.Date))
        .otherwise(dose_due)
        .alias("next_dose"),
        pl.col("denosumab_overdue").fill_null(False),
        pl.col("denosumab_stopped").fill_null(False),
        pl.col("denosumab_stopped_critical").fill_null(False),
        (
            pl.col("denosumab_due").is_not_null()
            & ~pl.col("denosumab_overdue").fill_null(False)
            & (pl.col("denosumab_due") <= soon)
        ).alias("denosumab_due_soon"),
        (
            pl.col("holiday_review").is_not_null()
            & (pl.col("fractures_on_holiday").fill_null(0) == 0)
            & (today >= pl.col("holiday_review"))
            & ~pl.col("denosumab_overdue").fill_null(False)
            & ~pl.col("denosumab_stopped").fill_null(False)
            & pl.col("current_drug").is_null()
        ).alias("holiday_review_due"),
        pl.col("workup_missing_tests").fill_null(list(settings.workup_tests)),
        (
            pl.col("sentinel_date").is_not_null()
            & (pl.col("sentinel_date") >= recent_from)
            & (age_at_sentinel >= settings.sentinel_min_age_years)
            & pl.col("current_drug").is_null()
            & (
                pl.col("latest_start").is_null()
                | (pl.col("latest_start") < pl.col("sentinel_date"))
            )
        ).alias("fracture_without_treatment"),
        (age_at_sentinel >= settings.sentinel_min_age_years).fill_null(False).alias("fls_patient"),
        (
            pl.col("current_drug").is_not_null()
            & pl.col("total_hip_t").is_not_null()
            & (pl.col("total_hip_t") <= settings.minimum_target_t)
        ).alias("below_minimum_target"),
        reasonable.alias("target_due"),
        (
            pl.col("anabolic_course_end").is_not_null() & (pl.col("anabolic_course_end") <= soon)
        ).alias("anabolic_ending"),
    ).with_columns(
        (pl.col("workup_missing_tests").list.len() > 0).alias("workup_missing"),
        (pl.col("anabolic_ending") | pl.col("anabolic_ended").is_not_null()).alias(
            "anabolic_without_follow_on"
        ),
    )


def facts_arrow(
    batch: pa.RecordBatch | pa.Table, as_of: date, settings: KernelSettings
) -> pa.Table:
    """The kernel on one Arrow batch (a Spark partition or a whole file)."""
    from osteotarget.population.layout import conform

    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return compute_facts(conform(frame), as_of, settings).to_arrow()
