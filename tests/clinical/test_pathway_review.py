"""Golden cases from the specialist sign-off review (general rules R1-R14, ranked by harm).
Each test names the guideline behind the rule; none special-cases a reviewed patient."""

from __future__ import annotations

from typing import Any

from .test_engine_golden import labs, patient, run, scan


def first(a: Any) -> Any:
    return a.recommendations[0]


def uk_frax_no_dxa() -> dict[str, Any]:
    return patient(
        birth_date="1960-02-02",
        frax=[{"date": "2026-10-19", "country": "UK", "with_bmd": False, "mof": 24.0, "hip": 4.3}],
        labs=labs("2026-10-15"),
    )


def test_unusable_frax_without_dxa_is_not_low_risk() -> None:
    """R4 — NOGG 2022 (Gregson, Arch Osteoporos 17:58): the absence of an evaluable criterion
    is not a low risk. A profile that cannot read FRAX (UK intervention thresholds not on file)
    and no DXA: risk "not determined" in the reasons, DXA first (not "reassess in 60 months"),
    and no T-score target invented without a scan (Lewiecki 2021 Fig. 3 needs a baseline)."""
    a = run(uk_frax_no_dxa(), "2026-12-01", "nogg2022")
    assert a.risk is not None
    assert any(r.code.startswith("undetermined:") for r in a.risk.reasons)
    assert "not determined" in " ".join(r.text for r in a.risk.reasons)
    assert first(a).action == "reassess" and "DXA first" in first(a).rationale
    assert "60 months" not in " ".join(r.rationale for r in a.recommendations)
    assert not [t for t in a.targets if t.metric in ("t_score", "t_score_change")]


def test_usable_frax_without_dxa_is_determined_but_sets_no_t_target() -> None:
    """Lewiecki 2021 Fig. 3: a BMD target needs a baseline scan; where the profile reads FRAX
    (t2t2024: MOF >= 20 %, Hoong 2025) the risk is determined, and the DXA still comes first."""
    a = run(uk_frax_no_dxa(), "2026-12-01")
    assert a.risk is not None and a.risk.category in ("high", "very_high")
    assert not any(r.code.startswith("undetermined:") for r in a.risk.reasons)
    assert not [t for t in a.targets if t.metric in ("t_score", "t_score_change")]
    assert first(a).action == "reassess" and "DXA first" in first(a).rationale


def test_treatment_started_below_minus_2_5_at_any_site_keeps_the_absolute_target() -> None:
    """R2 — Lewiecki 2021 Fig. 3 / WHO-ISCD: "treatment started because of a T-score <= -2.5"
    reads the lowest baseline site (spine -2.6), not the total hip alone (-2.2): the target is
    T > -2.0, not "+1.0 T from a baseline above -2.5"."""
    data = patient(
        dxa=[scan("2020-01-05", -2.2, -2.6, -2.5), scan("2023-01-10", -1.8, -2.2, -2.1)],
        therapies=[
            {
                "drug": "zoledronate",
                "start": "2020-01-15",
                "doses": ["2020-01-15", "2021-01-15", "2022-01-15"],
            }
        ],
        labs=labs("2023-01-05"),
    )
    a = run(data, "2023-02-01")
    primary = a.targets[0]
    assert primary.metric == "t_score" and primary.value == -2.0
    assert "above -2.5" not in primary.rationale
    assert a.status is not None and a.status.target_met is True


def test_under_50_and_premenopausal_get_no_t_score_target() -> None:
    """R3 — ISCD 2005/2019 Official Positions: premenopausal women and men under 50 are judged
    on Z-scores; no T-score target applies."""
    data = patient(
        sex="male",
        birth_date="1982-06-01",
        dxa=[scan("2026-09-01", -2.4, -2.9, -2.6)],
        labs=labs("2026-09-01"),
    )
    a = run(data, "2026-12-01")
    assert not [t for t in a.targets if t.metric in ("t_score", "t_score_change")]


def test_romosozumab_twelve_doses_exclude_every_further_romosozumab_regimen() -> None:
    """R12 — Evenity label (FDA; EMA SmPC): 12 monthly doses. Twelve doses span 11 months from
    the first: every romosozumab regimen (whatever builds it) is not eligible, the course-limit
    alert shows, and no step proposes romosozumab."""
    doses = [f"2025-{m:02d}-18" for m in range(11, 13)] + [f"2026-{m:02d}-18" for m in range(1, 11)]
    data = patient(
        birth_date="1950-03-01",
        dxa=[scan("2025-11-01", -3.0, -3.3, -3.1), scan("2026-11-01", -2.6, -2.7, -2.8)],
        fractures=[{"date": "2025-06-01", "site": "vertebral"}],
        therapies=[{"drug": "romosozumab", "start": doses[0], "end": doses[-1], "doses": doses}],
        labs=labs("2026-11-01"),
    )
    a = run(data, "2026-12-01")
    romo = [o for o in a.options if any(s.drug == "romosozumab" for s in o.regimen)]
    assert romo and all(not o.eligible for o in romo)
    assert "anabolic_course_limit" in {al.code for al in a.alerts}
    assert first(a).action == "consolidate"
    assert not any(
        r.regimen and r.regimen[0].drug == "romosozumab" and r.action != "consolidate"
        for r in a.recommendations
    )


def test_romosozumab_offered_without_cv_history_asks_for_it() -> None:
    """R12 — Evenity boxed warning (MI, stroke, cardiovascular death): with no MI or stroke
    on record, every romosozumab regimen carries a caution to ask."""
    data = patient(
        birth_date="1947-01-01",
        dxa=[scan("2026-10-01", -3.1, -3.4, -3.2)],
        fractures=[{"date": "2026-06-01", "site": "vertebral"}],
        labs=labs("2026-10-01"),
    )
    a = run(data, "2026-12-01")
    romo = [o for o in a.options if o.regimen[0].drug == "romosozumab"]
    assert romo and all(any("ask about prior myocardial" in c for c in o.cautions) for o in romo)


def test_man_under_70_with_secondary_cause_signals_is_investigated_before_a_drug() -> None:
    """R1 — Endocrine Society 2012 (Watts, men: laboratory testing to detect contributing
    causes), ISCD (Z <= -2.0 prompts a search for secondary causes), FRAX alcohol >= 3 units/day
    (Kanis 2005): the work-up is the first step; the start follows it, undated."""
    data = patient(
        sex="male",
        birth_date="1972-05-01",
        dxa=[scan("2026-10-01", -2.2, -2.7, -2.4)],
        fractures=[{"date": "2026-03-01", "site": "distal_forearm"}],
        risk_factors={
            "glucocorticoids": {"current": False},
            "secondary_osteoporosis": True,
            "alcohol_units_per_day": 4,
        },
        labs=labs("2026-10-01"),
    )
    a = run(data, "2026-12-01")
    assert first(a).action == "investigate" and "secondary-cause work-up" in first(a).rationale
    starts = [r for r in a.recommendations if r.action == "start"]
    assert all(r.when is None and r.rationale.startswith("after the work-up") for r in starts)


def test_failure_check_is_listed_before_the_escalation() -> None:
    """R1 — IOF 2012 (Diez-Perez): failure is judged on adherent treatment with secondary causes
    excluded: the adherence/secondary-cause check comes before the escalation step."""
    data = patient(
        dxa=[scan("2023-01-05", -2.7, -2.9, -2.8), scan("2026-10-01", -2.6, -2.8, -2.8)],
        fractures=[{"date": "2026-09-01", "site": "vertebral"}],
        therapies=[{"drug": "alendronate", "start": "2023-01-15", "adherence": "good"}],
        labs=labs("2026-10-01"),
    )
    a = run(data, "2026-12-01")
    kinds = [r.action for r in a.recommendations]
    assert "escalate" in kinds or "switch" in kinds
    change = next(i for i, k in enumerate(kinds) if k in ("escalate", "switch"))
    assert "investigate" in kinds[:change]


def test_low_risk_man_under_50_gets_no_default_drug_after_correction() -> None:
    """R3 — ISCD 2005/2019 Official Positions (Z-scores under 50; no drug without a fragility
    fracture or a named cause) and Endocrine Society 2012: a low-risk man of 44 with a low
    Z-score and vitamin D deficiency with raised PTH is corrected and investigated; no START
    step follows a low-risk category, and no T-score target is set."""
    data = patient(
        sex="male",
        birth_date="1982-06-01",
        dxa=[scan("2026-09-01", -2.4, -2.9, -2.6)],
        labs=[
            *labs("2026-09-01", vit_d=18),
            {"date": "2026-09-01", "test": "pth", "value": 71, "unit": "pg/mL"},
        ],
    )
    a = run(data, "2026-12-01")
    assert a.risk is not None and a.risk.category == "low"
    assert first(a).action == "investigate"
    assert not [r for r in a.recommendations if r.action in ("start", "resume")]
    assert not [t for t in a.targets if t.metric in ("t_score", "t_score_change")]


def test_denosumab_stopped_long_ago_follow_on_is_now_with_unconditional_imaging() -> None:
    """R14 — ECTS 2021 (Tsourdi) and Cummings 2018 (FREEDOM off-treatment: rebound vertebral
    fractures, often silent): a follow-on missed years ago is due now, dated today and named
    as overdue; spine imaging does not wait for back pain."""
    data = patient(
        dxa=[scan("2019-01-05", -2.7, -3.0, -2.8), scan("2026-10-01", -2.9, -3.2, -3.0)],
        therapies=[
            {
                "drug": "denosumab",
                "start": "2019-01-10",
                "end": "2023-06-05",
                "doses": ["2022-12-05", "2023-06-05"],
            }
        ],
        labs=labs("2026-10-01"),
    )
    a = run(data, "2026-12-01")
    step = first(a)
    assert step.action == "follow_on" and str(step.when) == "2026-12-01"
    assert "6 months after the last injection to prevent" not in step.rationale
    assert "overdue" in step.rationale and "regardless of symptoms" in step.rationale


def test_late_consolidation_after_an_anabolic_names_the_delay() -> None:
    """R14 — Lewiecki 2021 Fig. 3 (anabolic → antiresorptive without a gap; the gain is lost
    without it): a teriparatide course that ended 30 months ago is consolidated now and the
    step names the real delay."""
    data = patient(
        dxa=[scan("2022-05-01", -3.0, -3.4, -3.1), scan("2026-10-01", -2.7, -2.9, -2.8)],
        therapies=[{"drug": "teriparatide", "start": "2022-06-01", "end": "2024-06-01"}],
        labs=labs("2026-10-01"),
    )
    a = run(data, "2026-12-01")
    assert first(a).action == "consolidate"
    assert "late: the course ended 2024-06-01, 30 months" in first(a).rationale


def test_responder_reaching_the_target_within_the_period_from_now_is_on_track() -> None:
    """R6 — Lewiecki 2021 Fig. 3 (target in a reasonable period, e.g. 2-3 years): a responder
    (+0.25 T/year at the total hip) about 0.1 T from the target is on a path, even though the
    first target date has passed; continuing is the step."""
    data = patient(
        dxa=[scan("2020-01-05", -2.9, -2.6, -2.8), scan("2026-09-01", -2.08, -1.9, -2.2)],
        therapies=[
            {
                "drug": "denosumab",
                "start": "2020-01-10",
                "doses": [
                    f"{y}-{m}-10"
                    for y in range(2020, 2027)
                    for m in ("01", "07")
                    if f"{y}-{m}" <= "2026-07"
                ],
            }
        ],
        labs=labs("2026-09-01"),
    )
    a = run(data, "2026-12-01")
    assert a.status is not None and a.status.on_track is True
    assert "not on a path" not in a.status.explanation


ANABOLIC_DRUGS = {"romosozumab", "teriparatide", "abaloparatide"}


def test_options_and_alerts_agree_with_the_pathway_at_moderate_risk() -> None:
    """R7/R8 — Hoong et al. BMJ 2025 (the escalation protocol and its 3-year rule apply to
    high-risk patients); IOF 2012 (response judged on adherent treatment): at moderate risk no
    ``inadequate_response`` alert, and no anabolic ranked first or marked first-line."""
    data = patient(
        dxa=[scan("2022-01-05", -2.0, -1.9, -2.1), scan("2025-02-01", -1.95, -1.8, -2.0)],
        therapies=[{"drug": "alendronate", "start": "2022-01-10", "adherence": "good"}],
        labs=labs("2025-01-05"),
    )
    a = run(data, "2025-03-01")
    assert a.risk is not None and a.risk.category in ("low", "moderate")
    assert "inadequate_response" not in {al.code for al in a.alerts}
    assert a.options[0].regimen[0].drug not in ANABOLIC_DRUGS
    assert not any(o.first_line for o in a.options if o.regimen[0].drug in ANABOLIC_DRUGS)


def test_poor_adherence_raises_no_inadequate_response_alert() -> None:
    """R7 — IOF 2012 (Diez-Perez): failure or inadequate response is judged only on adherent
    treatment; the adherence step speaks instead."""
    data = patient(
        dxa=[scan("2022-01-05", -2.8, -3.0, -2.9), scan("2025-02-01", -2.8, -3.0, -2.9)],
        therapies=[{"drug": "alendronate", "start": "2022-01-10", "adherence": "poor"}],
        labs=labs("2025-01-05"),
    )
    a = run(data, "2025-03-01")
    assert "inadequate_response" not in {al.code for al in a.alerts}
    assert first(a).action == "investigate"


def test_correct_first_options_are_ranked_as_after_correction() -> None:
    """R8 — Prolia/Reclast/Evenity labels (correct hypocalcaemia first); LeBoff 2022: while a
    correct-first state holds, the options are those after correction in their usual order
    (not raloxifene first because everything else waits for the correction)."""
    data = patient(
        birth_date="1949-01-01",
        dxa=[scan("2026-10-01", -2.9, -3.1, -3.0)],
        fractures=[{"date": "2026-06-01", "site": "vertebral"}],
        labs=labs("2026-10-01", calcium=2.02, vit_d=8),
    )
    a = run(data, "2026-12-01")
    assert first(a).action == "investigate"
    assert a.options[0].regimen[0].drug != "raloxifene"
    assert "after correction" in a.options[0].cautions[0]


def test_vitamin_d_insufficiency_is_replete_alongside_not_before() -> None:
    """R9 — IOM 2011 (Ross) / Endocrine Society 2011 (Holick: deficiency below 20 ng/mL) and the
    Prolia/Reclast labels (correct hypocalcaemia before the first dose): 25(OH)D 29 ng/mL at
    very high risk is replete alongside the start, with no "before starting" caution or
    warning; user-facing target text carries no evidence-status wording."""
    data = patient(
        birth_date="1948-01-01",
        dxa=[scan("2026-10-01", -2.9, -3.4, -3.0)],
        fractures=[
            {"date": "2026-05-01", "site": "vertebral"},
            {"date": "2026-07-01", "site": "vertebral"},
        ],
        labs=labs("2026-10-01", vit_d=29),
    )
    a = run(data, "2026-12-01")
    texts = [r.rationale for r in a.recommendations] + [c for o in a.options for c in o.cautions]
    assert not any("before starting" in t and "vitamin D" in t for t in texts)
    assert not [al for al in a.alerts if al.code == "vitamin_d_low" and al.severity != "info"]
    assert any("alongside" in r.rationale for r in a.recommendations)
    assert not any("not verified" in t.rationale or "recalled" in t.rationale for t in a.targets)
