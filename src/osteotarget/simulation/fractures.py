"""Monthly fracture probabilities (docs/simulation.md §2; knowledge/simulation/fracture.toml).

    rate_k(age, sex) × gradient_k(sex)^(reference_t − T_untreated) × prior(time since fracture)
    × RR_k(treatment)

RR for hip and vertebral fractures: the FNIH/SABRE line (projection/fracture.py) at the
total-hip % change attributable to treatment (current vs untreated path), never above 1.
Other fractures: the osteoporotic gradient per SD of that change (an assumption).
"""

from __future__ import annotations

import numpy as np

from osteotarget.projection.fracture import fnih_line
from osteotarget.simulation.bmd import FloatArray
from osteotarget.simulation.params import OUTCOMES, FractureParams

_MONTHS_PER_YEAR = 12.0  # noqa: knowledge (calendar)


def prior_ratio(params: FractureParams, months_since: FloatArray) -> FloatArray:
    """Time-dependent ratio after a fracture (log-linear between the published points,
    held outside them); 1 without a fracture (months_since = inf)."""
    (y1, r1), (y2, r2) = params.imminent
    years = months_since / _MONTHS_PER_YEAR
    frac = np.clip((years - y1) / (y2 - y1), 0.0, 1.0)
    ratio = np.exp(np.log(r1) + frac * (np.log(r2) - np.log(r1)))
    out: FloatArray = np.where(np.isfinite(months_since), ratio, 1.0)
    return out


def monthly_probabilities(
    params: FractureParams,
    age: FloatArray,
    female: np.ndarray,
    t_untreated: FloatArray,
    attributable_percent: FloatArray,
    attributable_sd: FloatArray,
    months_since_fracture: FloatArray,
) -> dict[str, FloatArray]:
    prior = prior_ratio(params, months_since_fracture)
    sex = np.where(female, 1.0, params.male_ratio)
    below = params.reference_t - t_untreated
    gain = np.maximum(attributable_percent, 0.0)
    out: dict[str, FloatArray] = {}
    for k in OUTCOMES:
        g_f, g_m = params.gradient[k]
        gradient = np.where(female, g_f, g_m)
        rate = (
            params.base_per_year[k]
            * params.age_ratio_per_year[k] ** (age - 50.0)  # noqa: knowledge (rate is given at 50)
            * sex
            * gradient**below
            * prior
        )
        if k in ("hip", "vertebral"):
            line = fnih_line("hip" if k == "hip" else "vertebral")
            rr = np.minimum(np.exp(line.intercept + line.slope * gain), 1.0)
        else:
            rr = np.minimum(gradient ** (-np.maximum(attributable_sd, 0.0)), 1.0)
        out[k] = 1.0 - np.exp(-rate * rr / _MONTHS_PER_YEAR)
    return out
