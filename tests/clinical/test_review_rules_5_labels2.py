"""Golden cases: the PTH-analogue lifetime limit follows the label region of the profile
everywhere it is applied — the plan for an ongoing course, the course-limit alert's
citations, and (tests/population/test_oracle.py) the population worklist. Labels: Forsteo
SmPC §4.2 (EU/UK: teriparatide at most 24 months in a lifetime), Forteo USPI 2020 §2.1 (US:
more than 2 lifetime years only if fracture risk remains or has returned to high), Tymlos
USPI §2.1 (abaloparatide: cumulative abaloparatide and PTH-analogue use beyond 2 years not
recommended), Evenity SmPC / USPI (romosozumab: 12 monthly doses)."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.model.assessment import Alert, Assessment, Recommendation
from tests.clinical.records import very_high_risk_woman

AS_OF = date(2026, 12, 2)


def _very_high_risk(record_id: str, therapies: list[dict[str, Any]]) -> dict[str, Any]:
    return very_high_risk_woman(record_id, therapies)


def _course(drug: str, start: str, end: str | None = None) -> dict[str, Any]:
    return {"drug": drug, "start": start, **({"end": end} if end else {}), "adherence": "good"}


def _run(record: dict[str, Any], profile: str) -> Assessment:
    return assess(parse_patient(record), AS_OF, profile)


def _for(a: Assessment, drug: str, action: str) -> list[Recommendation]:
    return [
        r
        for r in a.recommendations
        if r.action == action and r.regimen and r.regimen[0].drug == drug
    ]


def _limit_alerts(a: Assessment) -> list[Alert]:
    return [al for al in a.alerts if al.code == "anabolic_course_limit"]


# Teriparatide since 1 Oct 2024: 26 lifetime months on 2 Dec 2026.
TERIPARATIDE_26_MONTHS = [_course("teriparatide", "2024-10-01")]


def test_ongoing_teriparatide_past_24_months_stops_under_the_eu_label() -> None:
    """Forsteo SmPC §4.2: maximum total duration 24 months, never repeated -> under an EU/UK
    profile (NOGG 2022) and under "either" (t2t2024 reads the stricter EU label) the plan
    stops teriparatide and consolidates, citing the SmPC (not the US label)."""
    for profile in ("nogg2022", "t2t2024"):
        a = _run(_very_high_risk(f"l2-teri26-{profile}", TERIPARATIDE_26_MONTHS), profile)
        (stop,) = _for(a, "teriparatide", "stop")
        assert "26 lifetime months of teriparatide" in stop.rationale
        assert "EU label" in stop.rationale
        assert "teriparatide_eu" in stop.citations
        assert "forteo_us" not in stop.citations
        assert not _for(a, "teriparatide", "continue")
        assert any(r.action == "consolidate" for r in a.recommendations)


def test_ongoing_teriparatide_past_24_months_is_conditional_under_the_us_label() -> None:
    """Forteo USPI 2020 §2.1: use for more than 2 years in a lifetime only if fracture risk
    remains or has returned to high -> under a US profile that allows it (BHOF 2022) the plan
    does not stop flatly: continue only while risk remains high, otherwise consolidate; it
    cites the US label, not the EU SmPC nor romosozumab's."""
    a = _run(_very_high_risk("l2-teri26-bhof", TERIPARATIDE_26_MONTHS), "bhof2022")
    assert not _for(a, "teriparatide", "stop")
    (going_on,) = _for(a, "teriparatide", "continue")
    assert "past the 24-month limit" in going_on.rationale
    assert "fracture risk remains or is again high (US label)" in going_on.rationale
    assert "otherwise consider stopping it and consolidating" in going_on.rationale
    assert going_on.citations == ["lewiecki2021", "cosman2017", "forteo_us"]
    (consolidate,) = [r for r in a.recommendations if r.action == "consolidate"]
    assert consolidate.rationale.startswith("if teriparatide is not continued")
    for alert in _limit_alerts(a):
        assert "teriparatide_eu" not in alert.citations
        assert "evenity_us" not in alert.citations
    assert any("forteo_us" in al.citations for al in _limit_alerts(a))


def test_a_us_profile_stricter_than_the_forteo_label_still_stops() -> None:
    """Forteo USPI 2020 allows more than 2 years only conditionally; Endocrine Society 2020
    (US label region) does not go beyond 2 years: the plan stops, naming the profile."""
    a = _run(_very_high_risk("l2-teri26-endo", TERIPARATIDE_26_MONTHS), "endocrine2020")
    (stop,) = _for(a, "teriparatide", "stop")
    assert "not beyond the limit under profile endocrine2020" in stop.rationale
    assert "forteo_us" in stop.citations


def test_abaloparatide_counts_teriparatide_months_and_stops_in_both_regions() -> None:
    """Tymlos USPI §2.1: cumulative use of abaloparatide and PTH analogues (teriparatide)
    for more than 2 years in a lifetime is not recommended: 18 months of teriparatide and 12
    of abaloparatide (30) -> stop abaloparatide under EU (NOGG 2022) and US (BHOF 2022)
    profiles alike, citing the abaloparatide label."""
    therapies = [
        _course("teriparatide", "2023-01-01", "2024-07-01"),
        _course("abaloparatide", "2025-12-01"),
    ]
    for profile in ("nogg2022", "bhof2022"):
        a = _run(_very_high_risk(f"l2-abalo-{profile}", therapies), profile)
        (stop,) = _for(a, "abaloparatide", "stop")
        assert "30 lifetime months of teriparatide and abaloparatide" in stop.rationale
        assert "abaloparatide label" in stop.rationale
        assert "tymlos_us" in stop.citations
        assert not _for(a, "abaloparatide", "continue")


def test_teriparatide_after_abaloparatide_counts_teriparatide_months_only() -> None:
    """Forsteo SmPC §4.2 and Forteo USPI 2020 §2.1 limit teriparatide's own lifetime use:
    18 months of abaloparatide, then 12 of teriparatide -> the teriparatide course is not at
    its limit (12 of 24) in either region; the Tymlos USPI caution on cumulative PTH-analogue
    use stays visible in the course-limit alert."""
    therapies = [
        _course("abaloparatide", "2023-01-01", "2024-07-01"),
        _course("teriparatide", "2025-12-01"),
    ]
    for profile in ("nogg2022", "bhof2022"):
        a = _run(_very_high_risk(f"l2-teri-after-abalo-{profile}", therapies), profile)
        (going_on,) = _for(a, "teriparatide", "continue")
        assert "12 of 24 lifetime months of teriparatide" in going_on.rationale
        assert not _for(a, "teriparatide", "stop")
        assert not any(r.action == "consolidate" for r in a.recommendations)
        assert any("abaloparatide label" in al.message for al in _limit_alerts(a))


def _after_full_courses() -> dict[str, Any]:
    """A full 24-month teriparatide course (2016-2018) and 12 months of romosozumab
    (2019-2020), off treatment since: every anabolic at its limit."""
    return _very_high_risk(
        "l2-alert",
        [
            _course("teriparatide", "2016-01-01", "2018-01-01"),
            {
                **_course("romosozumab", "2019-01-01", "2020-01-01"),
                "doses": [f"2019-{m:02d}-01" for m in range(1, 13)],
            },
        ],
    )


def test_course_limit_alert_cites_the_labels_of_the_profiles_region() -> None:
    """The anabolic_course_limit alert cites the labels the options were judged on: under an
    EU/UK profile (NOGG 2022) the Forsteo SmPC, the Evenity SmPC and the Tymlos USPI (the
    only abaloparatide lifetime text on file) — no US teriparatide or romosozumab label;
    under a US profile (BHOF 2022) Forteo USPI 2020, Evenity USPI and Tymlos USPI — no EU
    SmPC."""
    eu = _run(_after_full_courses(), "nogg2022")
    (eu_alert,) = [al for al in _limit_alerts(eu) if al.severity == "info"]
    assert eu_alert.citations == ["evenity_eu", "teriparatide_eu", "tymlos_us"]
    us = _run(_after_full_courses(), "bhof2022")
    (us_alert,) = [al for al in _limit_alerts(us) if al.severity == "info"]
    assert us_alert.citations == ["evenity_us", "forteo_us", "tymlos_us"]
