"""Projection mechanics: regimen parsing, curves, arithmetic, shrinkage, ranking, batch, CLI."""

from __future__ import annotations

import json
from datetime import date
from statistics import NormalDist

import numpy as np
import pytest

from osteotarget.cli import main
from osteotarget.densitometry import reference_for, t_units_per_percent
from osteotarget.knowledge import knowledge
from osteotarget.model import parse_patient
from osteotarget.model.assessment import (
    Densitometry,
    RegimenStep,
    SitePoint,
    SiteTrend,
    Target,
)
from osteotarget.model.codes import Drug
from osteotarget.projection import (
    Baseline,
    Observed,
    RegimenError,
    TargetSpec,
    forecast_options,
    forecast_site,
    parse_regimen,
    project,
    rank_many,
    rank_order,
    rank_regimens,
    site_path,
)
from osteotarget.projection.options import project_options
from osteotarget.projection.response import (
    PROJECTED_SITES,
    Point,
    ProjectedSite,
    fresh_curve,
    interpolate,
    step_curve,
)
from osteotarget.projection.trajectory import Regimen
from osteotarget.projection.uncertainty import normal_cdf, response_spread, shrink

TH: ProjectedSite = "total_hip"


def th(t: float) -> list[Baseline]:
    return [Baseline.from_t_score(TH, t)]


def gain(site: ProjectedSite, drug: Drug, t_score: float) -> float:
    """The calibrated baseline factor (docs/model.md §10) the projection applies to the
    mean % path of a regimen starting with *drug* from *t_score*; 1 without an effect."""
    from osteotarget.projection.baseline import baseline_effect

    effect = baseline_effect(site, drug)
    return 1.0 if effect is None else effect.factor(t_score)


# --- regimen parsing ---------------------------------------------------------------------


def test_parse_regimen_with_open_ended_last_step() -> None:
    assert parse_regimen("romosozumab:12, denosumab") == (
        ("romosozumab", 12),
        ("denosumab", None),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "not a regimen"),
        ("aspirin:12", "unknown drug 'aspirin'"),
        ("denosumab:x", "not a whole number"),
        ("denosumab:0", "must be positive"),
        ("denosumab,alendronate:12", "only the last step"),
        ("denosumab:12,,", "not a regimen"),
    ],
)
def test_parse_regimen_refuses_bad_text(text: str, fragment: str) -> None:
    with pytest.raises(RegimenError, match=fragment):
        parse_regimen(text)


# --- curves ------------------------------------------------------------------------------


def _pt(month: float, value: float) -> Point:
    return Point(month, value, "p", "c", "verified")


def test_interpolate_passes_through_points_and_plateaus() -> None:
    curve = interpolate([_pt(12, 3.0), _pt(24, 4.0)], 48, None)
    assert curve[0] == 0.0
    assert curve[6] == pytest.approx(1.5)
    assert curve[12] == pytest.approx(3.0)
    assert curve[18] == pytest.approx(3.5)
    assert curve[24] == curve[48] == pytest.approx(4.0)


def test_interpolate_follows_shape_between_and_after_points() -> None:
    shape = interpolate([_pt(12, 4.0), _pt(24, 5.0), _pt(48, 7.0)], 60, None)
    curve = interpolate([_pt(24, 2.5)], 60, shape)
    # Front-loaded like the shape: at 12 months 4/5 of the way to the 24-month value.
    assert curve[12] == pytest.approx(2.0)
    # After its last point it follows the shape's multiplicative increments.
    assert curve[48] == pytest.approx((1.025 * 1.07 / 1.05 - 1) * 100)
    assert curve[60] == pytest.approx(curve[48])


def test_every_drug_with_data_has_a_curve_starting_at_zero() -> None:
    for drug in ("alendronate", "denosumab", "romosozumab", "teriparatide", "abaloparatide"):
        for site in PROJECTED_SITES:
            curve = fresh_curve(drug, site)
            assert curve is not None, (drug, site)
            assert curve.percent[0] == 0.0
            assert curve.provenance.cites


def test_site_without_data_borrows_class_fallback_and_is_marked_unverified() -> None:
    curve = fresh_curve("risedronate", TH)
    alendronate = fresh_curve("alendronate", TH)
    assert curve is not None and alendronate is not None
    np.testing.assert_allclose(curve.percent, alendronate.percent)
    assert curve.provenance.unverified
    assert any("class assumption" in a for a in curve.provenance.assumptions)


def test_drug_without_any_data_is_not_projected() -> None:
    assert fresh_curve("bazedoxifene", TH) is None
    result = project(th(-3.0), parse_regimen("raloxifene"), [TargetSpec(-2.5)], 36)
    assert result.probability_of_target is None
    assert result.sites[0].note


def test_switch_curve_is_used_only_after_its_prior_drug() -> None:
    fresh = step_curve("romosozumab", None, TH)
    after_bp = step_curve("romosozumab", "alendronate", TH)
    assert fresh is not None and after_bp is not None
    assert after_bp.percent[12] < fresh.percent[12]
    same = step_curve("romosozumab", "raloxifene", TH)
    assert same is not None
    np.testing.assert_allclose(same.percent, fresh.percent)


# --- T-score arithmetic ------------------------------------------------------------------


def test_percent_change_applies_to_bmd_then_converts_with_reference_sd() -> None:
    """data.md §3 (D): ΔT = BMD₀ × %Δ / (100 × SD_ref); fewer T-units at low BMD."""
    low, high = Baseline.from_t_score(TH, -3.5), Baseline.from_t_score(TH, -1.0)
    regimen = parse_regimen("denosumab")
    for base in (low, high):
        forecast = forecast_site(base, regimen, None, 36)
        assert forecast is not None
        per = t_units_per_percent(TH, base.bmd)
        assert per is not None
        gain = forecast.mean_t[12] - base.t_score
        assert gain == pytest.approx(per * forecast.mean_percent[12])
    f_low = forecast_site(low, regimen, None, 36)
    f_high = forecast_site(high, regimen, None, 36)
    assert f_low is not None and f_high is not None
    assert f_low.mean_t[36] - low.t_score < f_high.mean_t[36] - high.t_score


def test_baseline_from_t_score_uses_the_reference() -> None:
    ref = reference_for(TH)
    assert ref is not None
    assert Baseline.from_t_score(TH, -2.0).bmd == pytest.approx(ref.mean - 2.0 * ref.sd)


def test_spine_uses_configurable_unverified_reference() -> None:
    result = project(
        [Baseline.from_t_score("lumbar_spine", -3.0)],
        parse_regimen("denosumab"),
        [TargetSpec(-2.5)],
        36,
    )
    assert result.probability_of_target is not None
    assert any("lumbar_spine_reference" in path for path in result.unverified)


# --- uncertainty -------------------------------------------------------------------------


def test_normal_cdf_matches_statistics() -> None:
    xs = np.linspace(-6, 6, 121)
    expected = np.array([NormalDist().cdf(float(x)) for x in xs])
    np.testing.assert_allclose(normal_cdf(xs), expected, atol=2e-7)


def test_band_widens_with_time_and_includes_scan_precision() -> None:
    forecast = forecast_site(th(-3.0)[0], parse_regimen("denosumab"), None, 60)
    assert forecast is not None
    assert np.all(np.diff(forecast.sd_t[1:]) > 0)
    # At month 0 only the two scans' precision error remains.
    p = forecast.baseline.precision_percent
    assert forecast.sd_percent[0] == pytest.approx(p * np.sqrt(2))


def test_shrinkage_weight_and_direction() -> None:
    spread = response_spread(TH)
    same = shrink(3.0, 3.0, 12, spread, 1.8)
    assert same.rate_percent_per_month == 0.0
    better = shrink(6.0, 3.0, 12, spread, 1.8)
    assert 0 < better.weight < 1
    assert 0 < better.rate_percent_per_month < 3.0 / 12
    longer = shrink(6.0, 3.0, 36, spread, 1.8)
    assert longer.weight > better.weight
    precise = shrink(6.0, 3.0, 12, spread, 0.5)
    assert precise.weight > better.weight


def test_observed_response_moves_the_forecast_towards_the_patient() -> None:
    """A patient gaining more than the population mean on denosumab is forecast higher."""
    base = th(-3.0)[0]
    regimen = parse_regimen("denosumab")
    curve = step_curve("denosumab", None, TH)
    assert curve is not None
    expected_12 = float(curve.percent[12])
    plain = forecast_site(base, regimen, None, 24, elapsed=12)
    good = forecast_site(base, regimen, None, 24, 12, Observed(12, expected_12 + 4.0))
    poor = forecast_site(base, regimen, None, 24, 12, Observed(12, expected_12 - 4.0))
    average = forecast_site(base, regimen, None, 24, 12, Observed(12, expected_12))
    assert good is not None and poor is not None and average is not None and plain is not None
    assert poor.mean_t[24] < average.mean_t[24] < good.mean_t[24]
    assert good.shrinkage is not None and 0 < good.shrinkage.weight < 1
    # Shrunk: the forecast moves less than the observed excess.
    assert good.mean_percent[0] - average.mean_percent[0] < 4.0


# --- ranking -----------------------------------------------------------------------------


def test_rank_order_prefers_probability_then_steps_then_burden() -> None:
    targets = [TargetSpec(-2.5)]
    base = th(-3.0)
    ranked = rank_regimens(
        base,
        [parse_regimen("alendronate"), parse_regimen("romosozumab:12,denosumab")],
        targets,
        36,
    )
    assert ranked[0].regimen[0][0] == "romosozumab"
    # Certain success for every option → ties broken by fewer steps then lower burden.
    easy = [TargetSpec(-6.0)]
    options = [
        project(base, parse_regimen("romosozumab:12,denosumab"), easy, 36),
        project(base, parse_regimen("denosumab"), easy, 36),
        project(base, parse_regimen("alendronate"), easy, 36),
    ]
    order = rank_order(options)
    assert [options[i].regimen[0][0] for i in order] == [
        "alendronate",
        "denosumab",
        "romosozumab",
    ]


def test_unprojectable_regimens_rank_last() -> None:
    options = [
        project(th(-3.0), parse_regimen("raloxifene"), [TargetSpec(-2.5)], 36),
        project(th(-3.0), parse_regimen("alendronate"), [TargetSpec(-2.5)], 36),
    ]
    assert rank_order(options) == [1, 0]


def test_batch_matches_single_patient_api() -> None:
    regimens = [
        parse_regimen("alendronate"),
        parse_regimen("denosumab"),
        parse_regimen("romosozumab:12,denosumab"),
        parse_regimen("raloxifene"),
    ]
    t = np.array([-3.5, -3.0, -2.7, -2.0])
    batch = rank_many({TH: t}, regimens, -2.5, 36)
    for i, t0 in enumerate(t):
        for j, regimen in enumerate(regimens):
            single = project(th(float(t0)), regimen, [TargetSpec(-2.5)], 36)
            if single.probability_of_target is None:
                assert np.isnan(batch.probability[i, j])
            else:
                assert batch.probability[i, j] == pytest.approx(
                    single.probability_of_target, abs=1e-6
                )
        singles = [project(th(float(t0)), r, [TargetSpec(-2.5)], 36) for r in regimens]
        assert batch.best[i] == rank_order(singles)[0]


def test_all_sites_probability_is_product_of_site_probabilities() -> None:
    baselines = [Baseline.from_t_score(TH, -2.8), Baseline.from_t_score("femoral_neck", -2.9)]
    result = project(baselines, parse_regimen("denosumab"), [TargetSpec(-2.5)], 36)
    per_site = [s.probability for s in result.sites]
    assert all(p is not None for p in per_site)
    assert result.probability_of_target == pytest.approx(per_site[0] * per_site[1])  # type: ignore[operator]


# --- engine seam -------------------------------------------------------------------------


def _densitometry(points: list[tuple[date, float, float]]) -> Densitometry:
    return Densitometry(
        sites=[
            SiteTrend(
                site="total_hip",
                points=[
                    SitePoint(date=d, site="total_hip", manufacturer="hologic", bmd=b, t_score=t)
                    for d, b, t in points
                ],
            )
        ]
    )


def _patient(therapies: list[dict[str, object]]) -> object:
    return parse_patient(
        {
            "id": "p1",
            "sex": "female",
            "birth_date": "1950-01-01",
            "therapies": therapies,
        }
    )


def test_forecast_options_one_option_per_regimen_in_order() -> None:
    patient = _patient([])
    dens = _densitometry([(date(2026, 1, 10), 0.572, -3.0)])
    regimens = [
        [RegimenStep(drug="alendronate")],
        [RegimenStep(drug="romosozumab", months=12), RegimenStep(drug="denosumab")],
        [RegimenStep(drug="bazedoxifene")],
    ]
    target = Target(site="total_hip", metric="t_score", operator=">", value=-2.5, rationale="x")
    options = forecast_options(patient, date(2026, 2, 1), dens, regimens, [target], 36)  # type: ignore[arg-type]
    assert [o.regimen for o in options] == regimens
    assert options[0].probability_of_target is not None
    assert options[1].probability_of_target is not None
    assert options[1].probability_of_target > options[0].probability_of_target
    assert options[2].probability_of_target is None
    months = sorted({p.month for p in options[0].projected_t_scores})
    assert months == [12, 24, 36]
    for option in options[:2]:
        assert option.basis == "projection" and option.citations
        for p in option.projected_t_scores:
            assert p.low is not None and p.high is not None and p.low < p.t_score < p.high
    cites = set(knowledge().citations)
    assert all(c in cites for o in options for c in o.citations)


def test_forecast_options_uses_prior_therapy_and_on_treatment_update() -> None:
    # Scan 5 days before the denosumab start, and one a year in: +6.6% (population ~+3.3%).
    dens = _densitometry([(date(2024, 1, 5), 0.572, -3.0), (date(2025, 1, 20), 0.610, -2.7)])
    on_dmab = _patient([{"drug": "denosumab", "start": "2024-01-10", "end": None}])
    regimen = [[RegimenStep(drug="denosumab")], [RegimenStep(drug="romosozumab", months=12)]]
    target = Target(metric="t_score", operator=">", value=-2.5, rationale="x")
    as_of = date(2025, 2, 1)
    options = forecast_options(on_dmab, as_of, dens, regimen, [target], 24)  # type: ignore[arg-type]
    projections = project_options(on_dmab, as_of, dens, regimen, [target], 24)  # type: ignore[arg-type]
    assert all(o.probability_of_target is not None for o in options)
    updated = projections[0]
    assert updated is not None
    assert any("shrinkage weight" in a for a in updated.assumptions)
    # The update changed the forecast: same patient and course without the course-start
    # scan (no observation possible) is projected differently, and lower (the patient
    # gained more than the population mean).
    latest_only = _densitometry([(date(2025, 1, 20), 0.610, -2.7)])
    plain = forecast_options(on_dmab, as_of, latest_only, regimen[:1], [target], 24)  # type: ignore[arg-type]
    with_update = [p.t_score for p in options[0].projected_t_scores]
    without = [p.t_score for p in plain[0].projected_t_scores]
    assert with_update != pytest.approx(without, abs=1e-3)
    assert options[0].probability_of_target != pytest.approx(
        plain[0].probability_of_target, abs=1e-3
    )
    # And differs from the same scans for a patient not on denosumab.
    naive = _patient([])
    fresh = forecast_options(naive, as_of, dens, regimen, [target], 24)  # type: ignore[arg-type]
    assert [p.t_score for p in fresh[0].projected_t_scores] != pytest.approx(with_update, abs=1e-3)
    # Romosozumab after denosumab gains little (Cosman 2022).
    romo_after = options[1].projected_t_scores[0].t_score
    romo_fresh = fresh[1].projected_t_scores[0].t_score
    assert romo_after < romo_fresh


def test_forecast_options_without_scans_has_no_probability() -> None:
    options = forecast_options(
        _patient([]),  # type: ignore[arg-type]
        date(2026, 1, 1),
        Densitometry(sites=[]),
        [[RegimenStep(drug="denosumab")]],
        [Target(metric="t_score", operator=">", value=-2.5, rationale="x")],
        36,
    )
    assert options[0].probability_of_target is None


# --- paths -------------------------------------------------------------------------------


def test_site_path_refuses_horizon_beyond_grid() -> None:
    with pytest.raises(ValueError, match="horizon"):
        site_path(TH, parse_regimen("denosumab"), None, 10_000)


def test_continuing_course_does_not_restart_the_curve() -> None:
    fresh = site_path(TH, parse_regimen("alendronate"), None, 12)
    later = site_path(TH, parse_regimen("alendronate"), None, 12, elapsed=48)
    assert fresh is not None and later is not None
    assert later.multiplier[12] < fresh.multiplier[12]


# --- CLI ---------------------------------------------------------------------------------

BASE = ["project", "--sex", "female", "--age", "70", "--site", "total_hip"]


def test_cli_json_has_probability_and_expected_t_scores(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [*BASE, "--t-score", "-3.0", "--regimen", "romosozumab:12,denosumab:24", "--format", "json"]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert 0.0 <= doc["probability_of_target"] <= 1.0
    assert set(doc["expected_t_scores"]) == {"12", "24", "36"}
    assert doc["fracture_risk_reduction"] and doc["citations"]


def test_cli_text_with_bmd_prior_and_several_sites(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *BASE,
            "--site",
            "lumbar_spine",
            "--t-score",
            "-2.8",
            "--t-score",
            "-3.2",
            "--regimen",
            "romosozumab:12,denosumab",
            "--prior",
            "alendronate:60",
            "--months",
            "48",
            "--target",
            "-2.0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Probability of reaching the target" in out and "month  48" in out
    assert "romosozumab after" in out
    assert main([*BASE, "--bmd", "0.60", "--regimen", "denosumab"]) == 0


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--t-score", "-9", "--regimen", "denosumab"], "--t-score"),
        (["--t-score", "-3", "--regimen", "aspirin"], "--regimen"),
        (["--t-score", "-3", "--regimen", "denosumab", "--months", "0"], "--months"),
        (["--t-score", "-3", "--regimen", "denosumab", "--prior", "x:1"], "--prior"),
        (["--t-score", "-3", "--t-score", "-2", "--regimen", "denosumab"], "--t-score"),
        (["--regimen", "denosumab"], "--t-score"),
        (["--bmd", "5", "--regimen", "denosumab"], "--bmd"),
        (["--t-score", "-3", "--regimen", "denosumab", "--target", "nan"], "--target"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_argument(
    extra: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_cli_bad_age_exits_2() -> None:
    assert main(["project", "--sex", "female", "--age", "-1", "--site", "total_hip",
                 "--t-score", "-3", "--regimen", "denosumab"]) == 2  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(["project", "--sex", "female", "--age", "old", "--site", "total_hip",
              "--regimen", "denosumab"])  # fmt: skip
    assert exc.value.code == 2


def test_forecast_options_computes_t_from_reference_scanner_bmd() -> None:
    dens = Densitometry(
        sites=[
            SiteTrend(
                site="total_hip",
                points=[
                    SitePoint(
                        date=date(2026, 1, 5), site="total_hip", manufacturer="hologic", bmd=0.57
                    )
                ],
            )
        ]
    )
    target = Target(metric="t_score", operator=">", value=-2.5, rationale="x")
    args = (
        _patient([]),
        date(2026, 2, 1),
        dens,
        [[RegimenStep(drug="denosumab")]],
        [target],
        24,
    )
    options = forecast_options(*args)  # type: ignore[arg-type]
    assert options[0].probability_of_target is not None
    ref = reference_for(TH)
    assert ref is not None
    projection = project_options(*args)[0]  # type: ignore[arg-type]
    assert projection is not None
    # T(m) = T₀ + B₀·%Δ/(100·SD_ref) with B₀ = 0.57 g/cm²: recover T₀ from every point.
    for point in projection.sites[0].points:
        t0 = point.t_score - 0.57 * point.percent_change / (100.0 * ref.sd)
        assert t0 == pytest.approx((0.57 - ref.mean) / ref.sd, abs=1e-9)


def test_every_drug_has_a_response_entry_and_a_burden_rank() -> None:
    from osteotarget.model.codes import DRUGS
    from osteotarget.projection.response import drug_infos

    kb = knowledge()
    burden = kb.table("responses.policy.burden")
    infos = drug_infos()
    for drug in DRUGS:
        assert drug in infos
        assert drug in burden
    assert burden["alendronate"] < burden["zoledronate"] < burden["denosumab"]
    assert burden["denosumab"] < burden["romosozumab"] == burden["teriparatide"]


# --- review fixes ------------------------------------------------------------------------


def test_stale_scan_on_treatment_is_projected_from_the_scan_date() -> None:
    """A1: on denosumab since 2020-01 with one pre-treatment scan (TH −3.0); as of 2025-01
    five years of denosumab have been taken since that scan, so the patient is projected
    higher than an untreated patient with the same scan."""
    dens = _densitometry([(date(2019, 12, 1), 0.576, -3.0)])
    target = Target(metric="t_score", operator=">", value=-2.5, rationale="x")
    regimen = [[RegimenStep(drug="denosumab")]]
    as_of = date(2025, 1, 15)
    treated = _patient([{"drug": "denosumab", "start": "2020-01-15", "end": None}])
    untreated = _patient([])
    on = forecast_options(treated, as_of, dens, regimen, [target], 24)  # type: ignore[arg-type]
    off = forecast_options(untreated, as_of, dens, regimen, [target], 24)  # type: ignore[arg-type]
    assert [p.month for p in on[0].projected_t_scores] == [12, 24]  # indexed from as_of
    for a, b in zip(on[0].projected_t_scores, off[0].projected_t_scores, strict=True):
        assert a.t_score > b.t_score
    assert on[0].probability_of_target is not None and off[0].probability_of_target is not None
    assert on[0].probability_of_target > off[0].probability_of_target
    # Month 12 after as_of is 72 months of denosumab after the scan (FREEDOM + extension).
    projection = project_options(treated, as_of, dens, regimen, [target], 24)[0]  # type: ignore[arg-type]
    assert projection is not None
    path = site_path(TH, parse_regimen("denosumab"), None, 72)
    assert path is not None
    # Calibration (docs/model.md §10) scales the mean path by the baseline factor.
    expected = (float(path.multiplier[72]) - 1) * 100 * gain(TH, "denosumab", -3.0)
    assert projection.sites[0].points[0].percent_change == pytest.approx(expected)
    assert any("projected from the scan of 2019-12-01" in a for a in projection.assumptions)


def test_cli_prior_same_drug_continues_the_course(capsys: pytest.CaptureFixture[str]) -> None:
    """A2: --prior denosumab:60 then denosumab continues the curve at 60 months."""
    args = [*BASE, "--t-score", "-3.0", "--regimen", "denosumab", "--format", "json"]
    assert main(args) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert main([*args, "--prior", "denosumab:60"]) == 0
    continuing = json.loads(capsys.readouterr().out)
    gain_fresh = fresh["expected_t_scores"]["12"] + 3.0
    gain_continuing = continuing["expected_t_scores"]["12"] + 3.0
    assert 0 < gain_continuing < gain_fresh
    path = site_path(TH, parse_regimen("denosumab"), None, 12, elapsed=60)
    assert path is not None
    # Calibration (docs/model.md §10) scales the mean path by the baseline factor.
    assert continuing["sites"][0]["points"][0]["bmd_percent_change"] == pytest.approx(
        (float(path.multiplier[12]) - 1) * 100 * gain(TH, "denosumab", -3.0), abs=0.05
    )
    assert any("continuing denosumab" in a for a in continuing["assumptions"])
    # A different last prior drug stays a prior-therapy modifier.
    assert main([*BASE, "--t-score", "-3", "--regimen", "romosozumab:12", "--format", "json",
                 "--prior", "denosumab:60"]) == 0  # fmt: skip
    after = json.loads(capsys.readouterr().out)
    # Phase 2 extension 0.9 %, scaled by the calibrated baseline factor from T −3.0 (§10).
    assert after["sites"][0]["points"][0]["bmd_percent_change"] == pytest.approx(
        0.9 * gain(TH, "romosozumab", -3.0), abs=0.05
    )


def test_numbers_not_in_the_evidence_notes_are_unverified() -> None:
    """A4: alendronate TH 48 mo 3.4% and FRAME romosozumab→denosumab TH 36 mo 8.8% are not
    in data.md / rules.md / evidence-review.md; the default target cites Lewiecki 2017."""
    kb = knowledge()
    aln = kb.quantity("responses.drugs.alendronate.total_hip.points[1]")
    frame = kb.quantity("responses.sequences.denosumab_after_romosozumab.total_hip.points[1]")
    assert (aln.value, frame.value) == (3.4, 8.8)
    assert aln.evidence == frame.evidence == "unverified"
    target = kb.quantity("responses.policy.cli_defaults.target_t_score")
    assert target.cite == "lewiecki2017"
    assert kb.citation("lewiecki2017").doi == "10.1007/s11914-017-0350-7"
    result = project(th(-3.0), parse_regimen("alendronate"), [TargetSpec(-2.5)], 48)
    assert aln.path in result.unverified


def test_mixed_analysis_sets_make_the_derived_step_unverified() -> None:
    """A6: abaloparatide→alendronate divides ACTIVExtend 25-month totals by the ACTIVE
    label 18-month values; the derived step is unverified and says so."""
    result = project(
        th(-3.0), parse_regimen("abaloparatide:18,alendronate"), [TargetSpec(-2.5)], 36
    )
    path = "responses.sequences.alendronate_after_abaloparatide.total_hip.points[0]"
    assert path in result.unverified
    assert any("analysis sets are mixed" in a for a in result.assumptions)
    # A sequence whose totals and at-switch value come from one source is not flagged.
    arch = project(th(-3.0), parse_regimen("romosozumab:12,alendronate"), [TargetSpec(-2.5)], 24)
    assert not any("analysis sets are mixed" in a for a in arch.assumptions)
    assert not any("alendronate_after_romosozumab" in u for u in arch.unverified)


@pytest.mark.parametrize("regimen", ["denosumab", "romosozumab:12,denosumab", "alendronate"])
def test_uninformative_observation_gives_the_band_of_no_observation(regimen: str) -> None:
    """A8: one spread formula. A 1-month observation with ordinary scan precision is
    almost uninformative (weight ≈ 0), so the band equals the forecast without it."""
    base = th(-3.0)[0]
    reg = parse_regimen(regimen)
    (drug, months), *rest = reg
    curve = step_curve(drug, None, TH)
    assert curve is not None
    # One month into the course, the first step has one month fewer to run.
    later: Regimen = ((drug, None if months is None else months - 1), *rest)
    # The patient's population expectation is the calibrated one (baseline factor, §10).
    expected = float(curve.percent[1]) * gain(TH, drug, base.t_score)
    observed = forecast_site(base, later, None, 48, 1, Observed(1, expected))
    plain = forecast_site(base, reg, None, 49)  # the same path, from the course start
    assert observed is not None and plain is not None and observed.shrinkage is not None
    assert observed.shrinkage.weight < 0.01
    np.testing.assert_allclose(observed.mean_percent, plain.mean_percent[1:], atol=1e-9)
    assert np.all(observed.sd_t >= plain.sd_t[1:] * 0.99)
    np.testing.assert_allclose(observed.sd_t, plain.sd_t[1:], rtol=0.01)


def _course_scans(start_scan: date) -> Densitometry:
    return _densitometry([(start_scan, 0.572, -3.0), (date(2025, 1, 20), 0.610, -2.7)])


def test_on_treatment_update_needs_a_start_scan_within_the_window() -> None:
    """A9: the observed change runs between the two scans (months between them), and the
    start scan must lie within policy on_treatment.start_scan_window_months of the start."""
    from osteotarget.model import TherapyCourse
    from osteotarget.projection.options import _observed, start_scan_window

    course = TherapyCourse(drug="denosumab", start=date(2024, 1, 10))
    assert start_scan_window() == 6
    near = _course_scans(date(2023, 10, 20)).sites[0]
    update = _observed(near, TH, course, 1.8)
    assert update is not None
    assert update[1].months == 15  # 2023-10-20 → 2025-01-20, not 12 from the course start
    assert update[1].percent_change == pytest.approx((0.610 / 0.572 - 1) * 100)
    far = _course_scans(date(2022, 1, 5)).sites[0]
    assert _observed(far, TH, course, 1.8) is None


def test_ties_are_greedy_groups_within_the_tolerance() -> None:
    """A10: 0.5449 and 0.5451 are within 0.01 (the rounding grid put them in different
    buckets); the tie then goes to fewer steps."""
    from osteotarget.projection import Projection
    from osteotarget.projection.api import tie_groups
    from osteotarget.projection.batch import best_by_rank

    def option(p: float | None, regimen: str) -> Projection:
        reg = parse_regimen(regimen)
        return Projection(reg, 36, p, (), steps=len(reg), burden=1)

    options = [option(0.5451, "romosozumab:12,denosumab"), option(0.5449, "denosumab")]
    assert rank_order(options) == [1, 0]
    assert tie_groups([0.56, 0.551, 0.545, None]) == [0, 0, 1, 4]
    # Greedy from the top: 0.545 is 0.015 below 0.56, so not tied with it.
    spread = [option(0.545, "denosumab"), option(0.56, "romosozumab:12,denosumab")]
    assert rank_order(spread) == [1, 0]
    # The vectorised path groups the same way.
    rows = np.array([[0.5451, 0.5449], [0.545, 0.56], [np.nan, np.nan]])
    preference = [1, 0]  # column 1 (one step) preferred on a tie
    np.testing.assert_array_equal(best_by_rank(rows, preference, 0.01), [1, 1, -1])


def test_one_normal_cdf_scalar_and_vectorised_agree() -> None:
    """D5: one scalar Φ (math.erfc) and one vectorised Φ (A&S erf), agreeing to 1e-6; the
    single-patient and batch probabilities use them."""
    from osteotarget.projection.uncertainty import normal_cdf_scalar, probability_scalar

    xs = np.linspace(-8, 8, 321)
    vector = normal_cdf(xs)
    scalar = np.array([normal_cdf_scalar(float(x)) for x in xs])
    np.testing.assert_allclose(vector, scalar, rtol=0, atol=1e-6)
    np.testing.assert_allclose(scalar, [NormalDist().cdf(float(x)) for x in xs], atol=1e-12)
    assert probability_scalar(0.3, 1.0, ">", 0.0) == normal_cdf_scalar(0.3)
    assert probability_scalar(0.3, 1.0, "<", 0.0) == normal_cdf_scalar(-0.3)


def test_cli_refuses_t_score_and_bmd_that_disagree(capsys: pytest.CaptureFixture[str]) -> None:
    """B6: both given and |T − T(BMD)| > reference.policy.tolerance_t → exit 2."""
    assert main([*BASE, "--t-score", "-3.0", "--bmd", "0.9", "--regimen", "denosumab"]) == 2
    err = capsys.readouterr().err
    assert "--t-score" in err and "--bmd" in err
    ref = reference_for(TH)
    assert ref is not None
    consistent = ref.mean - 3.0 * ref.sd + 0.01
    assert main([*BASE, "--t-score", "-3.0", "--bmd", f"{consistent:.3f}",
                 "--regimen", "denosumab"]) == 0  # fmt: skip


def test_regimen_months_are_bounded_and_label_limits_stated() -> None:
    """B7: months beyond the model's horizon are refused; beyond the label limit
    (romosozumab 12 months) or the drug's last data point the output says so."""
    with pytest.raises(RegimenError, match="longest horizon"):
        parse_regimen("denosumab:100000")
    romo = project(th(-3.0), parse_regimen("romosozumab:24"), [TargetSpec(-2.5)], 24)
    assert any("exceeds the label limit of 12 months" in a for a in romo.assumptions)
    assert any("data end at 12 months" in a for a in romo.assumptions)
    teri = project(th(-3.0), parse_regimen("teriparatide:36"), [TargetSpec(-2.5)], 36)
    assert any("teriparatide: 36 months" in a for a in teri.assumptions)
    within = project(th(-3.0), parse_regimen("romosozumab:12,denosumab"), [TargetSpec(-2.5)], 36)
    assert not any("label limit" in a for a in within.assumptions)
    aln = project(th(-3.0), parse_regimen("alendronate"), [TargetSpec(-2.5)], 72)
    assert any("data end at 48 months" in a for a in aln.assumptions)


@pytest.mark.parametrize("age", ["200", "131", "nan", "-1"])
def test_cli_age_is_bounded(age: str, capsys: pytest.CaptureFixture[str]) -> None:
    """B8: --age within responses.policy.age_years (0…130)."""
    args = ["project", "--sex", "female", "--age", age, "--site", "total_hip",
            "--t-score", "-3", "--regimen", "denosumab"]  # fmt: skip
    assert main(args) == 2
    assert "--age" in capsys.readouterr().err


def test_t_and_bmd_conversions_are_inverse_with_spine_fallback() -> None:
    """D2: one conversion pair, spine through the policy reference."""
    from osteotarget.projection.forecast import bmd_for_t, site_reference, t_for_bmd

    for site in PROJECTED_SITES:
        assert t_for_bmd(site, bmd_for_t(site, -2.3)) == pytest.approx(-2.3)
        assert Baseline.from_t_score(site, -2.3).bmd == pytest.approx(bmd_for_t(site, -2.3))
    spine = site_reference("lumbar_spine")
    assert bmd_for_t("lumbar_spine", 0.0) == pytest.approx(spine.mean)


def test_facility_precision_from_the_trend_is_used() -> None:
    """D7: SiteTrend.precision_percent (when present) is the scan precision used."""
    from osteotarget.projection.forecast import precision_percent
    from osteotarget.projection.options import _precision

    trend = _densitometry([(date(2026, 1, 5), 0.572, -3.0)]).sites[0]
    assert _precision(trend, TH) == precision_percent(TH)
    own = trend.model_copy(update={"precision_percent": 0.9})
    assert _precision(own, TH) == 0.9


# --- calibration: baseline-dependent response and per-drug spread (docs/model.md §10) ---


def test_lower_baseline_gains_more_in_percent_after_romosozumab() -> None:
    """Goal attainment (Cosman 2021, 2024): from a lower total-hip baseline, romosozumab
    sequences gain more in percent; the factor is bounded and the femoral neck has none."""
    from osteotarget.projection.baseline import baseline_effect

    regimen = parse_regimen("romosozumab:12,denosumab")
    low = forecast_site(th(-3.2)[0], regimen, None, 36)
    high = forecast_site(th(-2.6)[0], regimen, None, 36)
    assert low is not None and high is not None
    assert low.mean_percent[36] > high.mean_percent[36]
    effect = baseline_effect(TH, "romosozumab")
    assert effect is not None
    assert effect.factor(-6.0) == effect.max_factor
    assert effect.factor(2.0) == effect.min_factor
    assert baseline_effect("femoral_neck", "romosozumab") is None
    assert any("baseline T-score" in a for a in low.provenance.assumptions)
    assert "responses.calibration.baseline_effect.slope_per_t.total_hip.anabolic" in (
        low.provenance.unverified
    )


def test_spread_is_per_drug_where_data_reports_it() -> None:
    """DATA (Leder 2013): denosumab and teriparatide have their own SDs of individual
    response; other drugs use the RMS over DATA's arms (assumption); all times the site's
    calibrated spread scale."""
    from osteotarget.projection.uncertainty import spread_scale

    scale, _ = spread_scale("lumbar_spine")
    assert response_spread("lumbar_spine", "denosumab").sd_percent == pytest.approx(3.4 * scale)
    assert response_spread("lumbar_spine", "teriparatide").sd_percent == pytest.approx(5.9 * scale)
    pooled = response_spread("lumbar_spine", "alendronate").sd_percent
    assert pooled == pytest.approx(response_spread("lumbar_spine").sd_percent)


def test_batch_path_matches_the_object_path_with_calibration() -> None:
    """rank_many applies the same baseline factor and per-drug spread as project()."""
    regimens = [parse_regimen(t) for t in ("romosozumab:12,denosumab", "alendronate")]
    t = np.array([-3.4, -3.0, -2.6])
    batch = rank_many({TH: t}, regimens, -2.5, 36)
    for i, t0 in enumerate(t):
        for j, regimen in enumerate(regimens):
            single = project(th(float(t0)), regimen, [TargetSpec(-2.5)], 36)
            assert single.probability_of_target is not None
            assert batch.probability[i, j] == pytest.approx(single.probability_of_target, abs=1e-6)


# --- fast path: the same numbers without Projection objects ------------------------------


def test_fast_options_equal_the_full_projection_for_the_spec_examples() -> None:
    """forecast_options answers fresh starts on the fast path (quick.quick_project) and
    courses through the full projection; every Option equals the full projection's."""
    from pathlib import Path

    from osteotarget.densitometry import assess_densitometry
    from osteotarget.projection.options import _option
    from osteotarget.therapy.catalogue import regimens

    as_of = date(2026, 11, 23)
    steps = [list(r.steps) for r in regimens()]
    targets = [Target(metric="t_score", operator=">", value=-2.5, rationale="x")]
    fixtures = Path(__file__).parents[1] / "fixtures" / "spec_examples"
    compared = 0
    for path in sorted(fixtures.glob("*.json")):
        patient = parse_patient(json.loads(path.read_text()))
        dens = assess_densitometry(patient, as_of)
        fast = forecast_options(patient, as_of, dens, steps, targets, 36)
        full = project_options(patient, as_of, dens, steps, targets, 36)
        for option, projection, regimen in zip(fast, full, steps, strict=True):
            assert projection is not None
            assert option.model_dump() == _option(regimen, projection).model_dump()
            compared += 1
    assert compared >= 40
    only = project_options(patient, as_of, dens, steps, targets, 36, full_for={0})
    assert only[0] is not None and all(p is None for p in only[1:])


def test_rank_regimens_top_k_builds_only_the_options_shown() -> None:
    regimens = [
        parse_regimen(t)
        for t in ("alendronate", "denosumab", "romosozumab:12,denosumab", "zoledronate")
    ]
    baselines = [*th(-3.1), Baseline.from_t_score("lumbar_spine", -3.3)]
    targets = [TargetSpec(-2.5)]
    full = rank_regimens(baselines, regimens, targets, 36)
    top = rank_regimens(baselines, regimens, targets, 36, top_k=2)
    assert [p.regimen for p in top] == [p.regimen for p in full[:2]]
    assert [p.probability_of_target for p in top] == [p.probability_of_target for p in full[:2]]
    assert top[0].assumptions == full[0].assumptions
