"""Service indicators from the kernel's facts (docs/population.md, "Indicators").

IOF Capture the Fracture patient-level KPIs (Javaid et al. 2020, doi
10.1007/s00198-020-05377-1), adapted there from the UK FLS-DB audit, plus treat-to-target
indicators. The denominator of each FLS indicator is the FLS patients (a fragility fracture
at age ≥ the sentinel minimum) whose window has closed by ``as_of``; the sentinel fracture
is the most recent fragility fracture on record. Indicators the record cannot support are
listed with the reason, never estimated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from osteotarget.population.settings import KernelSettings

_PERCENT = 100


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    source: str
    computable: bool
    numerator: int | None = None
    denominator: int | None = None
    percent: float | None = None
    value: float | None = None
    band: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _band(percent: float | None, settings: KernelSettings) -> str | None:
    if percent is None:
        return None
    if percent < settings.band_low_percent:
        return "below_50"
    return "above_80" if percent > settings.band_high_percent else "50_to_80"


def _share(
    key: str,
    name: str,
    source: str,
    facts: pl.DataFrame,
    denominator: pl.Expr,
    numerator: pl.Expr,
    settings: KernelSettings,
    note: str = "",
    banded: bool = True,
) -> Indicator:
    counts = facts.select(
        denominator.sum().alias("d"), (denominator & numerator).sum().alias("n")
    ).row(0)
    d, n = int(counts[0] or 0), int(counts[1] or 0)
    percent = round(_PERCENT * n / d, 1) if d else None
    return Indicator(
        id=key,
        name=name,
        source=source,
        computable=True,
        numerator=n,
        denominator=d,
        percent=percent,
        band=_band(percent, settings) if banded else None,
        note=note,
    )


def _closed(as_of: date, weeks: int) -> pl.Expr:
    """The sentinel fracture is old enough for a window of *weeks* to have closed."""
    return pl.col("fls_patient") & (
        pl.col("sentinel_date") <= pl.lit(as_of - timedelta(weeks=weeks))
    )


def _count(facts: pl.DataFrame, where: pl.Expr) -> int:
    return int(facts.select(where.sum()).item() or 0)


def indicators(facts: pl.DataFrame, as_of: date, settings: KernelSettings) -> list[Indicator]:
    w = settings.kpi_weeks
    iof = "javaid2020"
    both = "javaid2020; flsdb"
    fls = pl.col("fls_patient")
    out = [
        Indicator(
            "iof_1_non_spinal_identified",
            "Patients with a non-spinal fragility fracture identified",
            iof,
            True,
            numerator=int(
                facts.select((fls & (pl.col("sentinel_site") != "vertebral")).sum()).item()
            ),
            note="count only: the share needs the local fracture incidence, not in the record",
        ),
        Indicator(
            "iof_2_spine_identified",
            "Patients with a spine fragility fracture identified (clinical or radiological)",
            iof,
            True,
            numerator=int(
                facts.select((fls & (pl.col("sentinel_site") == "vertebral")).sum()).item()
            ),
            note="count only: the share needs the local fracture incidence, not in the record",
        ),
        _share(
            "iof_3_assessed_12_weeks",
            f"Fracture risk assessed within {w['assessment_within']} weeks of the sentinel "
            "fracture",
            iof,
            facts,
            _closed(as_of, w["assessment_within"]),
            pl.col("first_assessment_within").is_not_null(),
            settings,
            note="proxy: a FRAX calculation on record in the window (the record has no "
            "FLS assessment date)",
        ),
        _share(
            "iof_4_dxa_12_weeks",
            f"DXA within {w['dxa_within']} weeks of the sentinel fracture",
            both,
            facts,
            _closed(as_of, w["dxa_within"]),
            pl.col("first_dxa_within").is_not_null(),
            settings,
        ),
        Indicator(
            "iof_5_falls_assessment",
            "Falls risk assessment",
            both,
            False,
            note="the record holds falls, not falls-risk assessments",
        ),
        Indicator(
            "iof_6_medication_recommended",
            "Anti-osteoporosis medication recommended",
            both,
            False,
            note="a clinician's recommendation is not part of the record",
        ),
        Indicator(
            "iof_7_strength_balance_16_weeks",
            "Strength and balance exercise started within 16 weeks",
            iof,
            False,
            note="exercise interventions are not part of the record",
        ),
        Indicator(
            "iof_8_monitored_16_weeks",
            "Monitoring contact within 16 weeks",
            both,
            False,
            note="follow-up contacts are not part of the record",
        ),
        _share(
            "iof_9_started_16_weeks",
            f"Anti-osteoporosis medication started within {w['medication_started_within']} "
            "weeks of the sentinel fracture",
            both,
            facts,
            _closed(as_of, w["medication_started_within"]),
            pl.col("first_medication_started_within").is_not_null(),
            settings,
            note="a therapy course starting between the fracture and the end of the window",
        ),
        _share(
            "iof_10_on_medication_52_weeks",
            f"On anti-osteoporosis medication {w['on_medication_at']} weeks after the sentinel "
            "fracture",
            both,
            facts,
            _closed(as_of, w["on_medication_at"]),
            pl.col("on_medication_at_52_weeks"),
            settings,
            note="a therapy course running on that day (prescribed, not adherence)",
        ),
        Indicator(
            "iof_11_data_completeness",
            "Data completeness of each indicator",
            both,
            False,
            note="a record cannot tell 'not done' from 'not recorded': completeness needs "
            "the audit's explicit 'unknown' answers",
        ),
    ]
    days = facts.filter(_closed(as_of, 0) & pl.col("days_to_dxa").is_not_null())["days_to_dxa"]
    out.append(
        Indicator(
            "flsdb_days_to_dxa",
            "Median days from sentinel fracture to the first DXA after it",
            "flsdb",
            True,
            denominator=len(days),
            value=float(days.median()) if len(days) else None,  # type: ignore[arg-type]
        )
    )
    out.append(
        Indicator(
            "flsdb_time_to_assessment",
            "Time from fracture to FLS assessment",
            "flsdb",
            False,
            note="the record has no FLS assessment date",
        )
    )
    treated = pl.col("current_drug").is_not_null()
    hip = pl.col("total_hip_t").is_not_null()
    past_period = pl.col("target_due") <= pl.lit(as_of)
    out += [
        _share(
            "t2t_at_minimum_target",
            "On treatment with total-hip T above the minimum target "
            f"({settings.minimum_target_t:g})",
            "lewiecki2017",
            facts,
            treated & hip,
            ~pl.col("below_minimum_target"),
            settings,
            banded=False,
            note="the minimum target of the profile; a patient's own target may be higher",
        ),
        _share(
            "t2t_not_at_target_after_period",
            f"Below the minimum target after {settings.reasonable_period_months} months of "
            "treatment",
            "lewiecki2021",
            facts,
            treated & hip & past_period,
            pl.col("below_minimum_target"),
            settings,
            banded=False,
        ),
        _share(
            "t2t_fracture_on_treatment",
            "FLS patients on treatment now",
            "javaid2020",
            facts,
            fls,
            treated,
            settings,
            banded=False,
        ),
        _share(
            "t2t_denosumab_on_time",
            "Patients on denosumab whose dose is not overdue",
            "tsourdi2021",
            facts,
            pl.col("current_drug") == "denosumab",
            ~pl.col("denosumab_overdue"),
            settings,
            banded=False,
        ),
        _share(
            "t2t_dxa_up_to_date",
            "Patients on treatment with a DXA within the monitoring interval",
            "lewiecki2021",
            facts,
            treated,
            ~pl.col("dxa_overdue"),
            settings,
            banded=False,
        ),
    ]
    return out


def queue_counts(rows: pl.DataFrame) -> dict[str, int]:
    counts = rows.group_by("queue").len()
    return {str(q): int(n) for q, n in counts.iter_rows()}
