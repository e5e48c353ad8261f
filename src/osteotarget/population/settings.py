"""Every number the population kernel uses, read from the knowledge files the per-patient
engine reads (profile settings through the profile, drug facts from ``drugs.toml``,
monitoring rules from ``rules/monitoring.toml``, work-up from ``rules/labs.toml``) plus the
service windows of ``population/fls.toml``. Nothing clinical is written in the kernel."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from osteotarget.engine import DEFAULT_PROFILE
from osteotarget.engine.profiles import load_profile
from osteotarget.therapy.safety import lifetime_rule


@dataclass(frozen=True)
class DrugFacts:
    drug: str
    kind: str
    drug_class: str
    route: str
    dose_interval_months: int | None


@dataclass(frozen=True)
class LifetimeLimit:
    """A PTH analogue's lifetime rule under the label region of the profile, as the
    assessment reads it (:func:`osteotarget.therapy.safety.lifetime_rule`): the drugs whose
    months count together, and whether use beyond the limit is excluded or only cautioned
    (allowed while fracture risk remains high)."""

    drug: str
    counts: tuple[str, ...]
    action: str


@dataclass(frozen=True)
class KernelSettings:
    profile: str
    dxa_interval_months: int
    denosumab_overdue_after_months: int
    denosumab_follow_on_after_months: int
    follow_on_drugs: tuple[str, ...]
    holiday_oral_review_years: float
    holiday_intravenous_review_years: float
    holiday_review_after_months: int
    lab_lookback_months: int
    workup_tests: tuple[str, ...]
    romosozumab_max_months: int
    pth_lifetime_months: int
    pth_lifetime: tuple[LifetimeLimit, ...]
    reasonable_period_months: int
    minimum_target_t: float
    fracture_lookback_months: int
    due_soon_days: int
    sentinel_min_age_years: int
    priorities: dict[str, int]
    kpi_weeks: dict[str, int]
    band_low_percent: float
    band_high_percent: float
    drugs: tuple[DrugFacts, ...]

    def drug(self, name: str) -> DrugFacts:
        return next(d for d in self.drugs if d.drug == name)


def _months(value: float) -> int:
    # add_months rounds a month count to whole months: the kernel does the same.
    return round(value)


@lru_cache(maxsize=16)
def kernel_settings(profile_name: str | None = None) -> KernelSettings:
    profile = load_profile(profile_name or DEFAULT_PROFILE)
    kb = profile.kb

    def setting(path: str) -> float:
        return profile.quantity(path).value

    # The minimum treat-to-target T-score: the profile's "always" target rule (else the
    # defaults' one); a patient-specific target can only be higher.
    rules = [
        *profile.get("targets.t_score_rules", []),
        *kb.get("rules.profile_defaults.targets.t_score_rules"),
    ]
    minimum_target = float(next(r["value"] for r in rules if r.get("when") == "always"))
    drugs = []
    for name, info in kb.table("drugs.drugs").items():
        interval = (
            _months(kb.number(f"drugs.drugs.{name}.dose_interval_months"))
            if "dose_interval_months" in info
            else None
        )
        drugs.append(
            DrugFacts(name, str(info["kind"]), str(info["class"]), str(info["route"]), interval)
        )
    fls = "population.fls"
    windows = kb.table(f"{fls}.kpi_windows")
    return KernelSettings(
        profile=profile.name,
        dxa_interval_months=_months(setting("monitoring.dxa_interval_months")),
        denosumab_overdue_after_months=_months(
            kb.number("rules.monitoring.denosumab.overdue_after_months")
        ),
        denosumab_follow_on_after_months=_months(
            kb.number("rules.monitoring.denosumab.follow_on_after_months")
        ),
        follow_on_drugs=tuple(str(d) for d in kb.get("rules.monitoring.follow_on.drugs")),
        holiday_oral_review_years=setting("holiday.oral_review_years"),
        holiday_intravenous_review_years=setting("holiday.intravenous_review_years"),
        holiday_review_after_months=_months(setting("holiday.review_after_months")),
        lab_lookback_months=_months(kb.number("rules.labs.lab_lookback_months")),
        workup_tests=tuple(str(t) for t in kb.get("rules.labs.workup.tests")),
        romosozumab_max_months=_months(setting("anabolic.romosozumab_max_months")),
        pth_lifetime_months=_months(setting("anabolic.pth_lifetime_months")),
        pth_lifetime=tuple(
            LifetimeLimit(name, rule.counts, rule.action)
            for name in kb.table("drugs.drugs")
            if (rule := lifetime_rule(profile, name)) is not None
        ),
        reasonable_period_months=_months(setting("targets.reasonable_period_months")),
        minimum_target_t=minimum_target,
        fracture_lookback_months=_months(kb.number(f"{fls}.worklist.fracture_lookback_months")),
        due_soon_days=round(kb.number(f"{fls}.worklist.due_soon_days")),
        sentinel_min_age_years=round(kb.number(f"{fls}.sentinel.min_age_years")),
        priorities={
            k: int(v)
            for k, v in kb.table(f"{fls}.priorities").items()
            if k not in ("cite", "evidence")
        },
        kpi_weeks={
            k.removesuffix("_weeks"): int(v) for k, v in windows.items() if k.endswith("_weeks")
        },
        band_low_percent=float(windows["band_low_percent"]),
        band_high_percent=float(windows["band_high_percent"]),
        drugs=tuple(drugs),
    )
