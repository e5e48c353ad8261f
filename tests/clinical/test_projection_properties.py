"""Monotonicity of the projection (hypothesis).

Source of the curves: FREEDOM (Austin 2012; Papapoulos 2012/2015) for denosumab, which
keeps gaining through 10 years; FRAME (Cosman 2022) for romosozumab → denosumab; ARCH and
Lewiecki 2021 for alendronate. Spread: DATA (Leder 2013) SDs.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from osteotarget.projection import Baseline, TargetSpec, parse_regimen, project
from osteotarget.projection.response import PROJECTED_SITES, ProjectedSite

REGIMENS = [
    "alendronate",
    "zoledronate",
    "denosumab",
    "romosozumab:12,denosumab",
    "teriparatide:24,denosumab",
    "abaloparatide:18,alendronate",
]
KEEPS_GAINING = ["denosumab", "romosozumab:12,denosumab"]

t_scores = st.floats(min_value=-5.0, max_value=0.0, allow_nan=False)
targets = st.floats(min_value=-3.5, max_value=-1.0, allow_nan=False)
sites = st.sampled_from(PROJECTED_SITES)


def prob(site: ProjectedSite, t: float, regimen: str, target: float, months: int) -> float:
    result = project(
        [Baseline.from_t_score(site, t)], parse_regimen(regimen), [TargetSpec(target)], months
    )
    assert result.probability_of_target is not None
    return result.probability_of_target


@settings(max_examples=60, deadline=None)
@given(site=sites, t=t_scores, dt=st.floats(0.01, 2.0), target=targets,
       regimen=st.sampled_from(REGIMENS), months=st.integers(6, 120))  # fmt: skip
def test_higher_baseline_t_score_never_lowers_probability_or_expected_t(
    site: ProjectedSite, t: float, dt: float, target: float, regimen: str, months: int
) -> None:
    """FREEDOM/FRAME/ARCH curves: starting higher cannot make the target harder to reach."""
    # Within 1e-6: near certainty (p ≈ 0.999995) the tails of the two normal spreads differ
    # in the ninth decimal (found by hypothesis); probabilities are shown to whole percents.
    higher = prob(site, t + dt, regimen, target, months)
    assert higher >= prob(site, t, regimen, target, months) - 1e-6
    low = project([Baseline.from_t_score(site, t)], parse_regimen(regimen), [], months)
    high = project([Baseline.from_t_score(site, t + dt)], parse_regimen(regimen), [], months)
    assert high.expected_t_scores(site)[months] > low.expected_t_scores(site)[months]


@settings(max_examples=60, deadline=None)
@given(site=sites, t=t_scores, target=targets, dv=st.floats(0.01, 2.0),
       regimen=st.sampled_from(REGIMENS), months=st.integers(6, 120))  # fmt: skip
def test_a_stricter_target_is_never_more_likely(
    site: ProjectedSite, t: float, target: float, dv: float, regimen: str, months: int
) -> None:
    """Any regimen: P(T > v) falls as v rises."""
    assert prob(site, t, regimen, target + dv, months) <= prob(site, t, regimen, target, months)


@settings(max_examples=60, deadline=None)
@given(site=sites, t=t_scores, regimen=st.sampled_from(KEEPS_GAINING),
       months=st.integers(1, 119), extra=st.integers(1, 60))  # fmt: skip
def test_expected_t_rises_with_horizon_for_drugs_that_keep_gaining(
    site: ProjectedSite, t: float, regimen: str, months: int, extra: int
) -> None:
    """FREEDOM extension (Papapoulos 2012/2015): denosumab keeps gaining through 8–10 y."""
    later = min(months + extra, 120)
    result = project([Baseline.from_t_score(site, t)], parse_regimen(regimen), [], later)
    path = project([Baseline.from_t_score(site, t)], parse_regimen(regimen), [], months)
    assert result.expected_t_scores(site)[later] >= path.expected_t_scores(site)[months]


@settings(max_examples=60, deadline=None)
@given(site=sites, t=st.floats(-5.0, -3.0), regimen=st.sampled_from(KEEPS_GAINING),
       months=st.integers(6, 119), extra=st.integers(1, 60))  # fmt: skip
def test_probability_rises_with_horizon_while_below_target(
    site: ProjectedSite, t: float, regimen: str, months: int, extra: int
) -> None:
    """Denosumab (FREEDOM) and romosozumab → denosumab (FRAME): while the expected T-score is
    still below the target (−2.5), a longer horizon is never less likely to reach it. (Once
    the mean is past the target, the widening spread can lower the probability slightly;
    docs/model.md §4.)"""
    later = min(months + extra, 120)
    base = project([Baseline.from_t_score(site, t)], parse_regimen(regimen), [], months)
    assume(base.expected_t_scores(site)[months] < -2.5)
    assert prob(site, t, regimen, -2.5, later) >= prob(site, t, regimen, -2.5, months)
