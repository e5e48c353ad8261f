"""Golden cases for drug-label rules from the specialist's review (no record special-cased):
PTH-analogue lifetime limits by the label of the profile's region, PTH analogues and an
unexplained raised alkaline phosphatase, alendronate in men under the EU/UK labels, label
citations that follow the profile's region, and label warnings for women of reproductive
potential. Each test names its label."""

from __future__ import annotations

from datetime import date
from typing import Any

from osteotarget.engine import assess
from osteotarget.model import parse_patient
from osteotarget.model.assessment import Assessment, Option
from tests.clinical.records import HOLOGIC, woman

AS_OF = date(2026, 12, 2)


def _very_high_risk(record_id: str, /, **extra: Any) -> dict[str, Any]:
    """Two vertebral fractures, the latest this year, total hip T -3.2: anabolic options."""
    fields: dict[str, Any] = {
        "fractures": [
            {"date": "2025-06-01", "site": "vertebral", "fragility": True, "source": "clinical"},
            {"date": "2026-06-01", "site": "vertebral", "fragility": True, "source": "clinical"},
        ],
        "dxa": [
            {
                "date": "2026-06-15",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -3.2},
                    {"site": "lumbar_spine", "t_score": -3.5},
                ],
            }
        ],
    }
    fields.update(extra)
    return woman(record_id, "1950-01-01", **fields)


def _run(record: dict[str, Any], profile: str) -> Assessment:
    return assess(parse_patient(record), AS_OF, profile)


def _option(a: Assessment, drug: str) -> Option:
    return next(o for o in a.options if o.regimen[0].drug == drug)


def _teriparatide(start: str, end: str) -> list[dict[str, Any]]:
    return [{"drug": "teriparatide", "start": start, "end": end, "adherence": "good"}]


def test_teriparatide_after_a_full_course_excluded_under_eu_label_cautioned_under_us() -> None:
    """Forsteo SmPC §4.2 (EU): maximum total duration 24 months, not repeated over a lifetime
    -> excluded under an EU-label profile even where the guideline would allow more. Forteo
    US label (2020) §2.1: more than 2 lifetime years only if fracture risk remains high ->
    a caution under a US profile that allows it (BHOF 2022). Tymlos US label: cumulative PTH
    analogue use beyond 2 years not recommended -> abaloparatide excluded in both."""
    record = _very_high_risk("labels-pth-full", therapies=_teriparatide("2016-01-01", "2018-01-01"))
    nogg = _run(record, "nogg2022")
    assert not _option(nogg, "teriparatide").eligible
    assert any("EU label" in t for t in _option(nogg, "teriparatide").excluded_because)
    assert "teriparatide_eu" in _option(nogg, "teriparatide").citations
    bhof = _run(record, "bhof2022")
    teri = _option(bhof, "teriparatide")
    assert teri.eligible
    assert any("US label" in c and "high" in c for c in teri.cautions)
    for a in (nogg, bhof):
        abalo = _option(a, "abaloparatide")
        assert not abalo.eligible
        assert any("abaloparatide label" in t for t in abalo.excluded_because)
    # t2t2024 (label region "either") reads the stricter EU label
    assert not _option(_run(record, "t2t2024"), "teriparatide").eligible


def test_a_regimen_longer_than_the_lifetime_allowance_left_says_so() -> None:
    """Forsteo SmPC §4.2 / Forteo US §2.1 / Tymlos US §2.1: after 12 months of teriparatide
    only 12 lifetime months remain; the catalogue's 24-month teriparatide and 18-month
    abaloparatide regimens exceed it: excluded under the EU label (and for abaloparatide),
    cautioned under the US teriparatide label (BHOF 2022)."""
    record = _very_high_risk("labels-pth-part", therapies=_teriparatide("2018-01-01", "2019-01-01"))
    nogg = _run(record, "nogg2022")
    teri = _option(nogg, "teriparatide")
    assert not teri.eligible
    assert any("only 12 remain" in t for t in teri.excluded_because)
    bhof = _run(record, "bhof2022")
    teri_us = _option(bhof, "teriparatide")
    assert teri_us.eligible
    assert any("only 12 remain" in c and "US label" in c for c in teri_us.cautions)
    for a in (nogg, bhof):
        abalo = _option(a, "abaloparatide")
        assert not abalo.eligible
        assert any("only 12 remain" in t for t in abalo.excluded_because)


def test_no_prior_pth_analogue_leaves_the_regimens_eligible() -> None:
    """Forsteo SmPC §4.2: a first 24-month course is within the lifetime limit (the check
    above must not exclude a first course)."""
    a = _run(_very_high_risk("labels-pth-none"), "nogg2022")
    assert _option(a, "teriparatide").eligible
    assert not any("lifetime" in c for c in _option(a, "teriparatide").cautions)
