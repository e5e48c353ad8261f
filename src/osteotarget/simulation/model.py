"""The vectorised microsimulation: one strategy, one run, monthly steps (docs/simulation.md).

State is a set of arrays over patients. Each month: regimen steps advance, some patients
stop treatment, BMD moves along the projection's curves, fractures are drawn, and patients
due a DXA are scanned (with precision error) and get the strategy's decision. Random
numbers come from streams keyed by (seed, run, purpose) so strategies in the same run see
the same patients, responses, scan errors and fracture draws (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from osteotarget.base.profile import load_profile
from osteotarget.projection.uncertainty import normal_cdf
from osteotarget.simulation import bmd as B
from osteotarget.simulation.bmd import FloatArray, IntArray
from osteotarget.simulation.cohort import Cohort
from osteotarget.simulation.decide import decide_all, encode, pathway_for
from osteotarget.simulation.fractures import monthly_probabilities
from osteotarget.simulation.params import (
    OUTCOMES,
    RISKS,
    CareParams,
    FractureParams,
    Regimen,
    Strategy,
    care_params,
    fracture_params,
    parse_regimen,
)

_MAX_STEPS = 16
_ANTIRESORPTIVES = ("alendronate", "zoledronate", "denosumab")
_ANABOLIC = "romosozumab:12,denosumab"
_ANABOLIC_START = "romosozumab:12"
_CONSOLIDATE = "denosumab"
_FOLLOW_ON = "zoledronate"


@dataclass(frozen=True, slots=True)
class Options:
    years: int = 10
    seed: int = 0
    run: int = 0
    oral_adherent_share: float | None = None
    annual_discontinuation: float | None = None
    target_t: float | None = None


@dataclass
class RunResult:
    strategy: str
    run: int
    months: int
    at_target: FloatArray  # share with true T > target at each month 0..M
    cumulative: dict[str, FloatArray]  # cumulative fractures per outcome by month
    patient: dict[str, npt.NDArray[np.generic]]  # per-patient outcome columns
    drug_months: dict[str, float]
    decisions: dict[str, int] = field(default_factory=dict)
    distinct_fact_combinations: int = 0
    samples: list[dict[str, object]] = field(default_factory=list)


def _stream(options: Options, purpose: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([options.seed, options.run, purpose]))


def minimum_target(profile: str = "t2t2024") -> float:
    rules = load_profile(profile).get("targets.t_score_rules") or []
    for rule in rules:
        if rule.get("when") == "always" and "value" in rule:
            return float(rule["value"])
    raise KeyError(f"profile {profile} has no minimum ('always') total-hip target")


class Simulation:
    def __init__(self, cohort: Cohort, strategy: Strategy, options: Options) -> None:
        self.c, self.s, self.o = cohort, strategy, options
        self.fp: FractureParams = fracture_params()
        base = care_params()
        self.cp: CareParams = base
        self.adherent_share = (
            base.oral_adherent_share
            if options.oral_adherent_share is None
            else options.oral_adherent_share
        )
        self.stop_rate = (
            base.annual_discontinuation
            if options.annual_discontinuation is None
            else options.annual_discontinuation
        )
        self.target = (
            options.target_t
            if options.target_t is not None
            else minimum_target(strategy.profile or "t2t2024")
        )
        self.book = B.CurveBook()
        self.tables = B.DrugTables()
        self.dens = B.densitometry()
        self.regimens: list[Regimen] = []
        self.reg_drugs: list[IntArray] = []
        self.reg_months: list[IntArray] = []
        n = cohort.n
        self.n = n
        # random streams (common across strategies)
        self.z = _stream(options, 1).standard_normal((n, _MAX_STEPS))
        self.adherent_draw = _stream(options, 2).random(n)
        self.rng_stop = _stream(options, 3)
        self.rng_scan = _stream(options, 4)
        self.rng_fx = _stream(options, 5)
        # state
        self.t0 = cohort.t_score.astype(np.float64)
        self.bmd0 = self.dens.ref_mean + self.t0 * self.dens.ref_sd
        self.drug = np.zeros(n, dtype=np.int64)
        self.prev = np.zeros(n, dtype=np.int64)
        self.reg = np.full(n, -1, dtype=np.int64)
        self.reg_first = np.zeros(n, dtype=np.int64)
        self.step_len = np.full(n, -1, dtype=np.int64)
        self.step_last = np.zeros(n, dtype=bool)
        self.pos = np.zeros(n, dtype=np.int64)
        self.step_start = np.zeros(n, dtype=np.int64)
        self.step_base = np.ones(n)
        self.step_no = np.zeros(n, dtype=np.int64)
        self.course_start = np.zeros(n, dtype=np.int64)
        self.course_meas = np.full(n, np.nan)
        self.off_base = np.ones(n)
        self.off_start = np.zeros(n, dtype=np.int64)
        self.off_loss = np.zeros(n)
        self.off_loss_months = np.ones(n)
        self.ever_treated = np.zeros(n, dtype=bool)
        self.holiday = np.zeros(n, dtype=bool)
        self.dmab_stopped = np.zeros(n, dtype=bool)
        self.anabolic_done = np.zeros(n, dtype=bool)
        self.switches = np.zeros(n, dtype=np.int64)
        self.since_fx = cohort.months_since_fracture.astype(np.float64)
        self.prior_fx = np.isfinite(self.since_fx)
        self.fx_on_course = np.zeros(n, dtype=bool)
        self.level = np.ones(n)
        self.meas_t = self.t0.copy()
        self.next_scan = np.zeros(n, dtype=np.int64)
        # outcomes
        self.fx = {k: np.zeros(n, dtype=np.int64) for k in OUTCOMES}
        self.scans = np.zeros(n, dtype=np.int64)
        self.injections = np.zeros(n)
        self.infusions = np.zeros(n)
        self.drug_months = np.zeros((len(B.DRUGS) + 1,))
        self.first_target = np.full(n, -1, dtype=np.int64)
        self.decisions: dict[str, int] = {}
        self.distinct = 0
        self.samples: list[dict[str, object]] = []
        self.sample_every = 0
        self.risk0 = self.risk_category(np.zeros(n, dtype=np.int64) + 0, self.t0)
        inj = np.zeros(len(B.DRUGS) + 1)
        inf = np.zeros(len(B.DRUGS) + 1)
        for name, per in self.cp.injections.items():
            inj[B.drug_index(name)] = per  # type: ignore[arg-type]
        for name, per in self.cp.infusions.items():
            inf[B.drug_index(name)] = per  # type: ignore[arg-type]
        self.inj_per_month, self.inf_per_month = inj, inf

    # ---- regimens -----------------------------------------------------------------------
    def regimen_id(self, regimen: Regimen) -> int:
        if regimen not in self.regimens:
            self.regimens.append(regimen)
            self.reg_drugs.append(np.array([B.drug_index(d) for d, _ in regimen]))
            self.reg_months.append(np.array([-1 if m is None else m for _, m in regimen]))
        return self.regimens.index(regimen)

    def start(self, idx: IntArray, regimen: Regimen, month: int) -> None:
        if idx.size == 0:
            return
        rid = self.regimen_id(regimen)
        self.reg[idx] = rid
        self.reg_first[idx] = self.reg_drugs[rid][0]
        self.pos[idx] = 0
        self.holiday[idx] = False
        self.dmab_stopped[idx] = False
        self.anabolic_done[idx] = False
        self.ever_treated[idx] = True
        self.course_start[idx] = month
        self.course_meas[idx] = self.meas_t[idx]
        self.fx_on_course[idx] = False
        self._set_step(idx, month)

    def _set_step(self, idx: IntArray, month: int) -> None:
        new = np.empty(idx.size, dtype=np.int64)
        length = np.empty(idx.size, dtype=np.int64)
        for rid in np.unique(self.reg[idx]):
            sel = self.reg[idx] == rid
            new[sel] = self.reg_drugs[int(rid)][self.pos[idx][sel]]
            length[sel] = self.reg_months[int(rid)][self.pos[idx][sel]]
        self.step_len[idx] = length
        n_steps = np.array([len(d) for d in self.reg_drugs], dtype=np.int64)
        self.step_last[idx] = n_steps[self.reg[idx]] - 1 == self.pos[idx]
        was = self.drug[idx]
        self.prev[idx] = np.where(was > 0, was, self.prev[idx])
        self.drug[idx] = new
        self.step_start[idx] = month
        self.step_base[idx] = self.level[idx]
        self.step_no[idx] = np.minimum(self.step_no[idx] + 1, _MAX_STEPS - 1)

    def stop(self, idx: IntArray, month: int, holiday: bool = False) -> None:
        if idx.size == 0:
            return
        d = self.drug[idx]
        self.off_base[idx] = self.level[idx]
        self.off_start[idx] = month
        lose = self.tables.loses_gain[d]
        self.off_loss[idx] = lose * np.maximum(self.level[idx] - self.step_base[idx], 0.0)
        self.off_loss_months[idx] = self.tables.offset_months[d]
        self.dmab_stopped[idx] = lose > 0
        self.anabolic_done[idx] = self.tables.anabolic[d]
        self.prev[idx] = np.where(d > 0, d, self.prev[idx])
        self.drug[idx] = 0
        self.reg[idx] = -1
        self.holiday[idx] = holiday

    # ---- state ----------------------------------------------------------------------------
    def natural(self, month: int) -> float:
        return float((1.0 + self.fp.natural_percent_per_year / 100.0) ** (month / 12.0))  # noqa: knowledge (percent, months)

    def update_level(self, month: int) -> None:
        on = self.drug > 0
        if on.any():
            i = np.flatnonzero(on)
            d = self.drug[i]
            effect = np.where(
                self.tables.oral[d] & (self.adherent_draw[i] >= self.adherent_share),
                self.cp.poor_effect,
                1.0,
            )
            self.level[i] = B.on_treatment_level(
                self.book,
                self.tables,
                d,
                self.prev[i],
                month - self.step_start[i],
                self.step_base[i],
                self.z[i, self.step_no[i]],
                effect,
                self.t0[i],
                self.reg_first[i],
            )
        off = ~on
        if off.any():
            j = np.flatnonzero(off)
            since = month - self.off_start[j]
            nat = (1.0 + self.fp.natural_percent_per_year / 100.0) ** (since / 12.0)  # noqa: knowledge (percent, months)
            loss = self.off_loss[j] * np.minimum(since / self.off_loss_months[j], 1.0)
            self.level[j] = (self.off_base[j] - loss) * nat

    def t_true(self) -> FloatArray:
        out: FloatArray = self.t0 + (self.level - 1.0) * self.bmd0 / self.dens.ref_sd
        return out

    def risk_category(self, month_offset: IntArray, t_score: FloatArray) -> npt.NDArray[np.int64]:
        cp = self.cp
        recent = self.since_fx <= cp.recent_fracture_months
        prior = np.isfinite(self.since_fx) | self.prior_fx
        cat = np.zeros(self.n, dtype=np.int64)
        cat[t_score <= cp.moderate_t] = 1
        cat[(t_score <= cp.high_t) | prior] = 2
        cat[(t_score <= cp.very_high_t) | recent] = 3
        return cat

    # ---- the month loop -------------------------------------------------------------------
    def run(self) -> RunResult:
        months = self.o.years * 12
        at_target = np.zeros(months + 1)
        cumulative = {k: np.zeros(months + 1) for k in OUTCOMES}
        interval = self.s.dxa_interval_months if self.s.kind == "step" else self._profile_interval()
        self.interval = interval
        stop_p = 1.0 - (1.0 - self.stop_rate) ** (1.0 / 12.0)  # noqa: knowledge (per month)
        for month in range(months + 1):
            if month > 0:
                self._advance(month)
                stops = (self.drug > 0) & (self.rng_stop.random(self.n) < stop_p)
                self.stop(np.flatnonzero(stops), month)
            self.update_level(month)
            t = self.t_true()
            if month > 0:
                self._fractures(month, t)
            due = self.next_scan == month
            if due.any():
                self._scan(np.flatnonzero(due), month, t)
                self.next_scan[due] = month + interval
            anabolic_end = (self.drug == 0) & self.anabolic_done & (self.off_start == month)
            if self.s.kind == "t2t" and anabolic_end.any():
                self._scan(np.flatnonzero(anabolic_end & ~due), month, t)
            self.update_level(month)
            t = self.t_true()
            hit = t > self.target
            at_target[month] = hit.mean() if self.n else 0.0
            self.first_target[(self.first_target < 0) & hit] = month
            for k in OUTCOMES:
                cumulative[k][month] = self.fx[k].sum()
            self.drug_months += (
                np.bincount(self.drug, minlength=len(B.DRUGS) + 1) if month > 0 else 0
            )
            if month > 0:
                self.injections += self.inj_per_month[self.drug]
                self.infusions += self.inf_per_month[self.drug]
        return self._result(months, at_target, cumulative)

    def _profile_interval(self) -> int:
        value = load_profile(self.s.profile).get("monitoring.dxa_interval_months")
        if isinstance(value, dict):
            return int(value["value"])
        return int(value) if value is not None else self.cp.dxa_interval_months

    def _advance(self, month: int) -> None:
        on = np.flatnonzero(self.drug > 0)
        if on.size == 0:
            return
        lengths = self.step_len[on]
        done = (lengths >= 0) & (month - self.step_start[on] >= lengths)
        idx = on[done]
        if idx.size == 0:
            return
        last = self.step_last[idx]
        self.stop(idx[last], month)
        more = idx[~last]
        self.pos[more] += 1
        self._set_step(more, month)

    def _fractures(self, month: int, t: FloatArray) -> None:
        nat = self.natural(month)
        t_untreated = self.t0 + (nat - 1.0) * self.bmd0 / self.dens.ref_sd
        attributable = (self.level / nat - 1.0) * 100.0  # noqa: knowledge (percent)
        attributable_sd = (self.level - nat) * self.bmd0 / self.dens.ref_sd
        age = self.c.age + month / 12.0  # noqa: knowledge (months)
        probs = monthly_probabilities(
            self.fp, age, self.c.female, t_untreated, attributable, attributable_sd, self.since_fx
        )
        u = self.rng_fx.random((len(OUTCOMES), self.n))
        any_fx = np.zeros(self.n, dtype=bool)
        for j, k in enumerate(OUTCOMES):
            hit = u[j] < probs[k]
            self.fx[k] += hit
            any_fx |= hit
        self.since_fx += 1.0
        self.since_fx[any_fx] = 0.0
        self.prior_fx |= any_fx
        on_long = (self.drug > 0) & (month - self.course_start >= self.cp.fracture_after_months)
        self.fx_on_course |= any_fx & (on_long | self.holiday)

    # ---- scans and decisions ----------------------------------------------------------------
    def _scan(self, idx: IntArray, month: int, t: FloatArray) -> None:
        if idx.size == 0:
            return
        bmd = self.bmd0[idx] * self.level[idx]
        noise = self.rng_scan.standard_normal(self.n)[idx]
        sd_t = self.dens.precision_percent / 100.0 * bmd / self.dens.ref_sd  # noqa: knowledge (percent)
        self.meas_t[idx] = t[idx] + noise * sd_t
        self.scans[idx] += 1
        self.lsc_t = self.dens.lsc_multiplier * sd_t
        if self.s.kind == "step":
            self._step_decide(idx, month, sd_t)
        else:
            self._t2t_decide(idx, month, sd_t)

    def _lost(self, idx: IntArray, sd_t: FloatArray) -> npt.NDArray[np.bool_]:
        base = self.course_meas[idx]
        loss = np.where(np.isnan(base), 0.0, base - self.meas_t[idx])
        out: npt.NDArray[np.bool_] = loss > self.dens.lsc_multiplier * sd_t
        return out

    def _step_decide(self, idx: IntArray, month: int, sd_t: FloatArray) -> None:
        risk = self.risk_category(np.zeros(self.n, dtype=np.int64), self.meas_t)[idx]
        on = self.drug[idx] > 0
        failed = on & (self.fx_on_course[idx] | self._lost(idx, sd_t))
        # switch on failure to the next regimen
        for level, regimen in enumerate(self.s.switch_to, start=1):
            sel = idx[failed & (self.switches[idx] == level - 1)]
            self.switches[sel] = level
            self.start(sel, regimen, month)
        self._count("switch", int(failed.sum()))
        # start (or restart the current line) where untreated and indicated
        off = ~on
        for name, regimen in self.s.first.items():
            cat = RISKS.index(name)
            sel = idx[off & (risk == cat)]
            line0 = sel[self.switches[sel] == 0]
            self.start(line0, regimen, month)
            self._count("start", int(line0.size))
            for level, later in enumerate(self.s.switch_to, start=1):
                self.start(sel[self.switches[sel] == level], later, month)

    def _count(self, action: str, k: int) -> None:
        if k:
            self.decisions[action] = self.decisions.get(action, 0) + k

    # -- treat-to-target --
    def _probability(self, idx: IntArray, regimen: Regimen, t_now: FloatArray) -> FloatArray:
        """P(true T above target after the decision horizon) starting *regimen* now."""
        from osteotarget.projection.trajectory import site_path

        h = self.cp.horizon_months
        out = np.empty(idx.size)
        prev = np.where(self.drug[idx] > 0, self.drug[idx], self.prev[idx])
        first = B.drug_index(regimen[0][0])
        for p in np.unique(prev):
            sel = prev == p
            path = site_path(B.SITE, regimen, B.drug_name(int(p)), h)
            gain = (float(path.multiplier[h]) - 1.0) if path is not None else 0.0
            factor = self.tables.baseline_factor(np.full(int(sel.sum()), first), self.t0[idx][sel])
            bmd = self.bmd0[idx][sel] * self.level[idx][sel]
            mean = t_now[sel] + gain * factor * bmd / self.dens.ref_sd
            sd = self.tables.sd_rate[first] * h / 100.0 * bmd / self.dens.ref_sd  # noqa: knowledge (percent)
            out[sel] = normal_cdf((mean - self.target) / np.maximum(sd, 1e-9))  # noqa: knowledge (guard)
        return out

    def _continuing(self, idx: IntArray, t_now: FloatArray) -> FloatArray:
        h = self.cp.horizon_months
        out = np.zeros(idx.size)
        d, p = self.drug[idx], self.prev[idx]
        tau = np.minimum(
            self.drug[idx] * 0 + 0 + (self._month - self.step_start[idx]), self.book.grid_end
        )
        bmd = self.bmd0[idx] * self.level[idx]
        for key in np.unique(d * 64 + p):
            sel = (d * 64 + p) == key
            drug = int(key) // 64
            if drug == 0:
                continue
            curve = self.book.curve(drug, int(key) % 64)
            a = curve[tau[sel]]
            b = curve[np.minimum(tau[sel] + h, self.book.grid_end)]
            gain = (b / a - 1.0) * self.tables.baseline_factor(
                np.full(int(sel.sum()), drug), self.t0[idx][sel]
            )
            mean = t_now[sel] + gain * bmd[sel] / self.dens.ref_sd
            sd = self.tables.sd_rate[drug] * h / 100.0 * bmd[sel] / self.dens.ref_sd  # noqa: knowledge (percent)
            out[sel] = normal_cdf((mean - self.target) / np.maximum(sd, 1e-9))  # noqa: knowledge (guard)
        return out

    def t2t_facts(
        self, idx: IntArray, month: int, sd_t: FloatArray
    ) -> dict[str, npt.NDArray[np.object_] | str]:
        """The pathway's named facts for patients *idx* at a scan (vectorised)."""
        self._month = month
        cp = self.cp
        m = idx.size
        t_now = self.meas_t[idx]
        d = self.drug[idx]
        on = d > 0
        risk_codes = self.risk_category(np.zeros(self.n, dtype=np.int64), self.meas_t)[idx]
        risk = np.array(RISKS, dtype=object)[risk_codes]
        # course
        course = np.full(m, "untreated", dtype=object)
        course[~on & self.ever_treated[idx]] = "off_treatment"
        course[~on & self.holiday[idx]] = "holiday"
        course[~on & self.anabolic_done[idx] & ~self.holiday[idx]] = "anabolic_complete"
        course[on & ~self.tables.anabolic[d]] = "antiresorptive"
        course[on & self.tables.anabolic[d]] = "anabolic_ongoing"
        # start choice: the antiresorptive most likely to reach the target, or an anabolic
        # at very high risk when no antiresorptive is likely to
        probs = np.stack(
            [self._probability(idx, parse_regimen(r), t_now) for r in _ANTIRESORPTIVES]
        )
        best = probs.max(axis=0)
        first_likely = np.where(
            (probs >= cp.likely).any(axis=0),
            (probs >= cp.likely).argmax(axis=0),
            probs.argmax(axis=0),
        )
        self._choice = first_likely
        start_choice = np.where(
            (risk_codes == 3) & (best < cp.likely), "anabolic", "antiresorptive"
        ).astype(object)
        # response on the current antiresorptive
        lost = self._lost(idx, sd_t)
        response = np.full(m, "adequate", dtype=object)
        response[on & self.fx_on_course[idx]] = "fracture"
        response[on & lost] = "failure"
        target = np.where(t_now > self.target, "met", "not_met").astype(object)
        # path: on a path when continuing is likely to reach the target
        cont = self._continuing(idx, t_now)
        path = np.full(m, "on_path", dtype=object)
        off_path = on & (cont < cp.likely) & (t_now <= self.target)
        anabolic_p = self._probability(idx, parse_regimen(_ANABOLIC), t_now)
        better_ar = best - cont >= cp.material_gain
        better_an = anabolic_p - cont >= cp.material_gain
        path[off_path] = "no_better"
        path[off_path & better_an] = "better_anabolic_only"
        path[off_path & better_ar] = "better_antiresorptive"
        # bisphosphonate review point
        months_on = month - self.course_start[idx]
        review_at = np.where(self.tables.oral[d], cp.review_months_oral, cp.review_months_iv)
        review = np.full(m, "not_due", dtype=object)
        at_review = on & self.tables.bisphosphonate[d] & (months_on >= review_at)
        still_at_risk = (t_now <= cp.high_t) | self.fx_on_course[idx] | (risk_codes == 3)
        review[at_review & still_at_risk] = "continue"
        review[at_review & ~still_at_risk] = "holiday"
        # holiday
        holiday = np.full(m, "ongoing", dtype=object)
        on_holiday = ~on & self.holiday[idx]
        holiday[on_holiday & (month - self.off_start[idx] >= cp.holiday_review_months)] = (
            "review_due"
        )
        holiday[on_holiday & (self.fx_on_course[idx] | lost)] = "resume"
        denosumab = np.where(~on & self.dmab_stopped[idx], "stopped", "none").astype(object)
        adherence = np.where(
            on & self.tables.oral[d] & (self.adherent_draw[idx] >= self.adherent_share),
            "poor",
            "good",
        ).astype(object)
        return {
            "denosumab": denosumab,
            "kidney_bone": "no",
            "correct_first": "no",
            "population": "adult",
            # Simulated patients are adults with a DXA at every decision (risk determined);
            # secondary causes are taken as worked up before entry (docs/simulation.md §4).
            "risk_basis": "determined",
            "secondary_cause": "no",
            "imminent_risk": "no",  # read only with a suspected secondary cause
            "risk": risk,
            "course": course,
            "dxa": "current",
            "start_choice": start_choice,
            "dose_labs": "current",
            "adherence": adherence,
            "response": response,
            "target": target,
            "path": path,
            "review": review,
            "holiday": holiday,
        }

    def _t2t_decide(self, idx: IntArray, month: int, sd_t: FloatArray) -> None:
        pathway = pathway_for(self.s.profile)
        facts = self.t2t_facts(idx, month, sd_t)
        decided = decide_all(pathway, encode(pathway, facts, idx.size))
        self.distinct = max(self.distinct, decided.distinct)
        choice = self._choice
        if self.sample_every and idx.size:
            for j in range(0, idx.size, self.sample_every):
                self.samples.append(
                    {
                        "patient": int(idx[j]),
                        "month": month,
                        "facts": {
                            k: (v if isinstance(v, str) else str(v[j])) for k, v in facts.items()
                        },
                        "action": str(decided.action[j]),
                        "row": str(decided.row[j]),
                        "measured_t": float(self.meas_t[idx[j]]),
                        "drug": B.drug_name(int(self.drug[idx[j]])) or "",
                        "course_start": int(self.course_start[idx[j]]),
                        "previous_drug": B.drug_name(int(self.prev[idx[j]])) or "",
                        "off_start": int(self.off_start[idx[j]]),
                        "since_fracture": float(self.since_fx[idx[j]]),
                    }
                )
        action = decided.action
        for name in np.unique(action):
            self._count(str(name), int((action == name).sum()))
        start = (action == "start") | (action == "resume")
        anabolic = start & (facts["start_choice"] == "anabolic")
        self.start(idx[anabolic], parse_regimen(_ANABOLIC_START), month)
        for k, name in enumerate(_ANTIRESORPTIVES):
            self.start(idx[start & ~anabolic & (choice == k)], parse_regimen(name), month)
        self.start(idx[action == "escalate"], parse_regimen(_ANABOLIC_START), month)
        switch = np.flatnonzero(action == "switch")
        if switch.size:
            on_dmab = self.drug[idx[switch]] == B.drug_index("denosumab")
            self.start(idx[switch[on_dmab]], parse_regimen("zoledronate"), month)
            self.start(idx[switch[~on_dmab]], parse_regimen("denosumab"), month)
        self.start(idx[action == "consolidate"], parse_regimen(_CONSOLIDATE), month)
        self.start(idx[action == "follow_on"], parse_regimen(_FOLLOW_ON), month)
        hol = idx[(action == "holiday") & (self.drug[idx] > 0)]
        self.stop(hol, month, holiday=True)
        review = idx[(action == "reassess") & self.holiday[idx]]
        self.off_start[review] = np.where(
            self.off_start[review] < month, self.off_start[review], month
        )

    def _result(
        self, months: int, at_target: FloatArray, cumulative: dict[str, FloatArray]
    ) -> RunResult:
        py = self.n * self.o.years
        t_end = self.t_true()
        patient: dict[str, npt.NDArray[np.generic]] = {
            "id": self.c.ids,
            "risk": np.array(RISKS, dtype=object)[self.risk0],
            "baseline_t": self.t0,
            "final_t": t_end,
            "last_measured_t": self.meas_t,
            "months_to_target": self.first_target,
            "scans": self.scans,
            "injections": self.injections,
            "infusions": self.infusions,
            **{f"fractures_{k}": v for k, v in self.fx.items()},
        }
        drug_months = {
            str(B.drug_name(i) or "none"): float(v)
            for i, v in enumerate(self.drug_months)
            if i > 0 and v > 0
        }
        del py
        return RunResult(
            strategy=self.s.name,
            run=self.o.run,
            months=months,
            at_target=at_target,
            cumulative=cumulative,
            patient=patient,
            drug_months=drug_months,
            decisions=dict(self.decisions),
            distinct_fact_combinations=self.distinct,
            samples=self.samples,
        )


def simulate_one(
    cohort: Cohort, strategy: Strategy, options: Options, sample_every: int = 0
) -> RunResult:
    sim = Simulation(cohort, strategy, options)
    sim.sample_every = sample_every
    return sim.run()
