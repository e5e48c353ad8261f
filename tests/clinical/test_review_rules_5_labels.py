"""Golden cases for drug-label rules from the specialist's review (no record special-cased):
PTH-analogue lifetime limits by the label of the profile's region, PTH analogues and an
unexplained raised alkaline phosphatase, alendronate in men under the EU/UK labels, label
citations that follow the profile's region, and label warnings for women of reproductive
potential. Each test names its label."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from osteotarget.base.profile import load_profile
from osteotarget.engine import assess
from osteotarget.engine.assessment import assess_with_profile
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
    # a US profile stricter than its label (Endocrine Society 2020: at most 2 years) excludes,
    # and says the profile, not the label, does
    endo = _option(_run(record, "endocrine2020"), "teriparatide")
    assert not endo.eligible
    assert any("profile endocrine2020" in t for t in endo.excluded_because)
    for a in (nogg, bhof):
        abalo = _option(a, "abaloparatide")
        assert not abalo.eligible
        assert any("abaloparatide label" in t for t in abalo.excluded_because)
    # t2t2024 (label region "either") reads the stricter EU label
    assert not _option(_run(record, "t2t2024"), "teriparatide").eligible


def test_the_eu_label_limit_holds_whatever_the_profile_allows() -> None:
    """Forsteo SmPC §4.2 (EU): the 24-month lifetime limit is a label rule: a profile that
    allows teriparatide beyond it "if_high_risk" (the US label's wording) still excludes it
    when its label region is EU; with a US label region the same setting gives a caution
    (Forteo US label 2020)."""
    record = parse_patient(
        _very_high_risk("labels-pth-variant", therapies=_teriparatide("2016-01-01", "2018-01-01"))
    )
    base = load_profile("nogg2022")
    loose = dict(base.data["anabolic"], teriparatide_beyond_limit="if_high_risk")
    eu = dataclasses.replace(base, data={**base.data, "anabolic": loose})
    teri = _option(assess_with_profile(record, AS_OF, eu), "teriparatide")
    assert not teri.eligible
    assert any("EU label" in t for t in teri.excluded_because)
    us = dataclasses.replace(
        base,
        data={**base.data, "anabolic": loose, "labels": {**base.data["labels"], "region": "us"}},
    )
    teri_us = _option(assess_with_profile(record, AS_OF, us), "teriparatide")
    assert teri_us.eligible
    assert any("US label" in c for c in teri_us.cautions)


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


def _raised_alp(record_id: str, value: float = 210) -> dict[str, Any]:
    record = _very_high_risk(record_id)
    record["labs"].append(
        {"date": "2026-10-20", "test": "alkaline_phosphatase", "value": value, "unit": "U/L"}
    )
    return record


def test_unexplained_raised_alkaline_phosphatase_bars_pth_analogues_by_region() -> None:
    """Forsteo SmPC §4.3 (EU): contraindicated with unexplained elevations of alkaline
    phosphatase -> both PTH analogues excluded under an EU-label profile (and "either").
    Forteo / Tymlos US labels: avoid / not recommended with increased baseline osteosarcoma
    risk incl. unexplained raised ALP -> a caution "unless the rise is explained" under a US
    profile. Either way the plan asks for its cause."""
    for profile in ("nogg2022", "t2t2024"):
        a = _run(_raised_alp(f"labels-alp-{profile}"), profile)
        for drug in ("teriparatide", "abaloparatide"):
            o = _option(a, drug)
            assert not o.eligible, (profile, drug)
            assert any("alkaline phosphatase 210 U/L" in t for t in o.excluded_because)
        assert "teriparatide_eu" in _option(a, "teriparatide").citations
        assert any(
            r.action == "investigate" and "cause of the raised alkaline phosphatase" in r.rationale
            for r in a.recommendations
        ), profile
    us = _run(_raised_alp("labels-alp-us"), "bhof2022")
    for drug in ("teriparatide", "abaloparatide"):
        o = _option(us, drug)
        assert o.eligible, drug
        assert any("unless the rise is explained" in c for c in o.cautions), drug
    assert "forteo_us" in _option(us, "teriparatide").citations
    assert any(
        "cause of the raised alkaline phosphatase" in r.rationale for r in us.recommendations
    )


def test_alkaline_phosphatase_within_the_upper_limit_changes_nothing() -> None:
    """Forsteo SmPC §4.3: only a raised ALP (above rules.labs.alkaline_phosphatase_upper)
    counts; a normal value leaves the PTH analogues eligible and asks for nothing."""
    a = _run(_raised_alp("labels-alp-normal", value=90), "nogg2022")
    assert _option(a, "teriparatide").eligible
    assert not any("alkaline phosphatase" in r.rationale for r in a.recommendations)


def _man(record_id: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "sex": "male",
        "birth_date": "1950-01-01",
        "dxa": [
            {
                "date": "2026-06-15",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -2.7},
                    {"site": "femoral_neck", "t_score": -2.8},
                ],
            }
        ],
        "labs": woman("x", "1950-01-01")["labs"],
    }


def test_alendronate_is_licensed_for_men_under_the_eu_label_as_10_mg_daily() -> None:
    """Alendronic acid 10 mg SmPC (EU/UK national authorisations) §4.1: osteoporosis in men
    at increased risk of fracture, 10 mg once daily; Fosamax Once Weekly 70 mg SmPC §4.1:
    postmenopausal osteoporosis only. A man under an EU-label profile (NOGG 2022, IOF-ESCEO
    2020) is offered alendronate with that caution, not excluded as unlicensed; under a US
    profile (Fosamax US §1.3, men) no such caution."""
    for profile in ("nogg2022", "iof_esceo2020"):
        a = _run(_man(f"labels-aln-man-{profile.replace('_', '-')}"), profile)
        o = _option(a, "alendronate")
        assert o.eligible, (profile, o.excluded_because)
        assert any("10 mg once daily" in c for c in o.cautions), profile
        assert "alendronate_10mg_eu" in o.citations
    us = _option(_run(_man("labels-aln-man-us"), "bhof2022"), "alendronate")
    assert us.eligible
    assert not any("10 mg once daily" in c for c in us.cautions)


def test_the_eu_men_caution_is_not_shown_to_a_postmenopausal_woman() -> None:
    """Fosamax Once Weekly 70 mg SmPC §4.1: postmenopausal osteoporosis is licensed for the
    weekly tablet; the men-only caution must not appear for her."""
    o = _option(_run(_very_high_risk("labels-aln-woman"), "nogg2022"), "alendronate")
    assert not any("10 mg once daily" in c for c in o.cautions)


def _label_cites(o: Option) -> set[str]:
    return {c for c in o.citations if c.endswith(("_us", "_eu"))}


def test_label_citations_follow_the_profiles_label_region() -> None:
    """EVENITY SmPC (EU, §4.1 severe postmenopausal osteoporosis; §4.2 12 monthly doses;
    §4.3 hypocalcaemia, any prior MI or stroke) vs EVENITY US prescribing information: an
    EU/UK-label profile (NOGG 2022) cites the EU SmPC, a US profile (BHOF 2022) the FDA
    label, for the same rule (romosozumab outside its labelled population, in a man)."""
    nogg = _option(_run(_man("labels-cite-eu"), "nogg2022"), "romosozumab")
    bhof = _option(_run(_man("labels-cite-us"), "bhof2022"), "romosozumab")
    assert not nogg.eligible and not bhof.eligible
    assert "evenity_eu" in _label_cites(nogg) and "evenity_us" not in _label_cites(nogg)
    assert "evenity_us" in _label_cites(bhof) and "evenity_eu" not in _label_cites(bhof)


def test_romosozumab_cardiovascular_caution_cites_the_region_label() -> None:
    """EVENITY SmPC §4.3 (EU): contraindicated with any history of MI or stroke; US label:
    boxed warning. With none on record the caution to ask names the EU contraindication and
    cites the SmPC under an EU profile, the boxed warning and the FDA label under a US one."""
    eu = _option(_run(_very_high_risk("labels-cv-eu"), "nogg2022"), "romosozumab")
    us = _option(_run(_very_high_risk("labels-cv-us"), "bhof2022"), "romosozumab")
    assert any("EU label" in c for c in eu.cautions)
    assert "evenity_eu" in _label_cites(eu) and "evenity_us" not in _label_cites(eu)
    assert any("boxed warning" in c for c in us.cautions)
    assert "evenity_us" in _label_cites(us)


def _premenopausal_on_glucocorticoids(record_id: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "menopause": {"status": "premenopausal"},
        "risk_factors": {
            "glucocorticoids": {
                "current": True,
                "prednisolone_mg_per_day": 10,
                "start": "2026-01-01",
            }
        },
        "fractures": [
            {"date": "2026-06-01", "site": "vertebral", "fragility": True, "source": "clinical"}
        ],
        "dxa": [
            {
                "date": "2026-06-15",
                "device": HOLOGIC,
                "measurements": [
                    {"site": "total_hip", "t_score": -2.2, "z_score": -2.3},
                    {"site": "lumbar_spine", "t_score": -2.8, "z_score": -2.9},
                ],
            }
        ],
    }
    fields.update(extra)
    return woman(record_id, "1990-01-01", **fields)


def test_premenopausal_woman_on_glucocorticoids_is_told_about_pregnancy_with_every_drug() -> None:
    """Prolia US label (§4 pregnancy; §8.3 contraception during and for at least 5 months
    after the last dose), Fosamax / Actonel / Reclast labels (bisphosphonates retained in
    bone for years; not for pregnancy), Forsteo SmPC §4.3 (pregnancy): every drug offered to
    a woman of reproductive potential carries the pregnancy/contraception caution; EVENITY
    US §8.1 (not indicated in women of reproductive potential), Eladynos SmPC §4.3 and Evista
    SmPC §4.3 (women of child-bearing potential): excluded."""
    for profile in ("nogg2022", "bhof2022"):
        a = _run(_premenopausal_on_glucocorticoids(f"labels-fertile-{profile}"), profile)
        offered = [o for o in a.options if o.eligible]
        assert offered, profile
        for o in offered:
            for step in o.regimen:
                assert any(
                    c.startswith(f"{step.drug}: woman of reproductive potential")
                    for c in o.cautions
                ), (profile, step.drug)
        assert any("5 months after the last dose" in c for c in _option(a, "denosumab").cautions)
        for drug in ("romosozumab", "abaloparatide", "raloxifene"):
            o = _option(a, drug)
            assert not o.eligible
            assert any("woman of reproductive potential" in t for t in o.excluded_because), drug


def test_postmenopausal_woman_gets_no_pregnancy_caution() -> None:
    """The same labels: the warnings concern women of reproductive potential only; a woman
    postmenopausal by the record is not cautioned."""
    a = _run(
        _premenopausal_on_glucocorticoids(
            "labels-postmeno", menopause={"status": "postmenopausal", "age": 36}
        ),
        "nogg2022",
    )
    assert not any("reproductive potential" in c for o in a.options for c in o.cautions)
