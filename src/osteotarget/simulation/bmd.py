"""Total-hip BMD paths for the simulation, from the projection model (docs/model.md).

Each treatment step follows the projection's mean curve for (drug, drug before), scaled by
the projection's baseline effect, plus an individual response ``z × SD-rate × months``
(the projection's spread model). Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, get_args

import numpy as np
import numpy.typing as npt

from osteotarget.model.codes import Drug
from osteotarget.projection.baseline import baseline_effect
from osteotarget.projection.forecast import precision_percent, site_reference
from osteotarget.projection.response import drug_infos, max_months
from osteotarget.projection.trajectory import site_path
from osteotarget.projection.uncertainty import response_spread

SITE: Final = "total_hip"
DRUGS: tuple[Drug, ...] = get_args(Drug)
NONE = 0  # drug index 0: no drug
ORAL = frozenset({"alendronate", "risedronate", "ibandronate"})
BISPHOSPHONATES = frozenset({"alendronate", "risedronate", "ibandronate", "zoledronate"})

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def drug_index(drug: Drug | None) -> int:
    return 0 if drug is None else DRUGS.index(drug) + 1


def drug_name(index: int) -> Drug | None:
    return None if index == 0 else DRUGS[index - 1]


@dataclass
class CurveBook:
    """Mean multiplier curves by (drug, previous drug), built on first use."""

    grid_end: int = field(default_factory=max_months)
    _curves: dict[tuple[int, int], FloatArray] = field(default_factory=dict)

    def curve(self, drug: int, previous: int) -> FloatArray:
        key = (drug, previous)
        if key not in self._curves:
            name = drug_name(drug)
            assert name is not None
            path = site_path(SITE, ((name, None),), drug_name(previous), self.grid_end)
            if path is None:  # no data for the site: no change
                self._curves[key] = np.ones(self.grid_end + 1)
            else:
                self._curves[key] = np.asarray(path.multiplier, dtype=np.float64)
        return self._curves[key]


class DrugTables:
    """Per-drug constants as arrays indexed by drug index."""

    def __init__(self) -> None:
        n = len(DRUGS) + 1
        self.sd_rate = np.zeros(n)  # % per month (SD of individual response)
        self.baseline_pivot = np.zeros(n)
        self.baseline_slope = np.zeros(n)
        self.baseline_low = np.ones(n)
        self.baseline_high = np.ones(n)
        self.loses_gain = np.zeros(n)  # fraction of the step gain lost on stopping
        self.offset_months = np.ones(n)
        self.oral = np.zeros(n, dtype=bool)
        self.bisphosphonate = np.zeros(n, dtype=bool)
        self.anabolic = np.zeros(n, dtype=bool)
        infos = drug_infos()
        for i, drug in enumerate(DRUGS, start=1):
            spread = response_spread(SITE, drug)
            self.sd_rate[i] = spread.sd_percent / spread.reference_month
            effect = baseline_effect(SITE, drug)
            if effect is not None:
                self.baseline_pivot[i] = effect.pivot_t
                self.baseline_slope[i] = effect.slope
                self.baseline_low[i] = effect.min_factor
                self.baseline_high[i] = effect.max_factor
            info = infos[drug]
            if info.on_stop == "lose_step_gain" and info.offset_months > 0:
                self.loses_gain[i] = info.offset_fraction
                self.offset_months[i] = info.offset_months
            self.oral[i] = drug in ORAL
            self.bisphosphonate[i] = drug in BISPHOSPHONATES
            self.anabolic[i] = drug in ("teriparatide", "abaloparatide", "romosozumab")

    def baseline_factor(self, drug: IntArray, t_score: FloatArray) -> FloatArray:
        raw = 1.0 + self.baseline_slope[drug] * (self.baseline_pivot[drug] - t_score)
        return np.clip(raw, self.baseline_low[drug], self.baseline_high[drug])


@dataclass(frozen=True, slots=True)
class Densitometry:
    """Reference mean/SD (T-score ↔ BMD) and DXA precision at the total hip."""

    ref_mean: float
    ref_sd: float
    precision_percent: float
    lsc_multiplier: float


def densitometry() -> Densitometry:
    from osteotarget.densitometry.precision import lsc_multiplier

    ref = site_reference(SITE)
    return Densitometry(
        ref_mean=ref.mean,
        ref_sd=ref.sd,
        precision_percent=precision_percent(SITE),
        lsc_multiplier=lsc_multiplier(),
    )


def on_treatment_level(
    book: CurveBook,
    tables: DrugTables,
    drug: IntArray,
    previous: IntArray,
    tau: IntArray,
    step_base: FloatArray,
    z: FloatArray,
    effect: FloatArray,
    t0: FloatArray,
    regimen_first: IntArray,
) -> FloatArray:
    """BMD multiplier (vs baseline) of patients on a step, *tau* months into it. The
    baseline effect is the one of the regimen's first drug (as in the projection)."""
    out = np.empty(drug.size)
    tau_c = np.minimum(tau, book.grid_end)
    key = drug * 64 + previous
    for k in np.unique(key):
        sel = key == k
        curve = book.curve(int(k) // 64, int(k) % 64)
        out[sel] = curve[tau_c[sel]] - 1.0
    gain = out * tables.baseline_factor(regimen_first, t0) * effect
    spread = z * tables.sd_rate[drug] * tau_c / 100.0  # noqa: knowledge (percent)
    result: FloatArray = step_base * (1.0 + gain + spread)
    return result
