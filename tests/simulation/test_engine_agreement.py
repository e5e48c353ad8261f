"""Treat-to-target decisions come from the engine's own pathway table: a sample of simulated
patients at decision points is turned into real patient records and ``assess`` (profile
t2t2024) must give the same primary action (recommendations[0].action) in most cases.

Measured on this fixed sample (seed 3, 400 patients, 6 years): 179 of 205 decision
points agree (87%). Known differences
(docs/simulation.md §4): the simulation's simplified risk category (the engine also reads
age, FRAX-type factors and fracture site, so it escalates some patients the simulation
keeps), the path-to-target judgement (the engine projects from the full record), a
bisphosphonate holiday (the record shows it as a stopped course), and the baseline fracture
site (not kept by the simulation).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from osteotarget.engine import assess
from osteotarget.model.validate import parse_patient
from osteotarget.simulation.bmd import densitometry
from osteotarget.simulation.cohort import synth_cohort
from osteotarget.simulation.decide import decide_all, encode, pathway_for
from osteotarget.simulation.engine_check import record_for
from osteotarget.simulation.model import Options, Simulation
from osteotarget.simulation.params import resolve_strategy

MINIMUM_AGREEMENT = 0.8


def _samples() -> tuple[Simulation, list[dict[str, object]]]:
    cohort = synth_cohort(400, 3, date(2026, 1, 1))
    sim = Simulation(cohort, resolve_strategy("t2t"), Options(years=6, seed=3))
    sim.sample_every = 7
    result = sim.run()
    return sim, result.samples


def test_simulated_decisions_agree_with_assess() -> None:
    sim, samples = _samples()
    dens = densitometry()
    agree, total = 0, 0
    differences: Counter[tuple[str, str, str]] = Counter()
    courses: set[str] = set()
    for sample in samples:
        record, as_of = record_for(sim.c, sample, dens.ref_mean, dens.ref_sd)
        engine_action = assess(parse_patient(record), as_of, "t2t2024").recommendations[0].action
        total += 1
        courses.add(str(sample["facts"]["course"]))  # type: ignore[index]
        if engine_action == sample["action"]:
            agree += 1
        else:
            differences[(str(sample["row"]), str(sample["action"]), str(engine_action))] += 1
    assert total >= 100
    assert {"untreated", "antiresorptive"} <= courses
    assert agree / total >= MINIMUM_AGREEMENT, (agree, total, differences.most_common(10))


def test_each_distinct_fact_combination_is_decided_once_by_the_table() -> None:
    pathway = pathway_for("t2t2024")
    base = {name: pathway.fact_values(name)[0] for name in pathway.facts}
    base.update({"course": "untreated", "risk": "high", "dxa": "current"})
    import numpy as np

    facts = {k: np.array([v] * 5, dtype=object) for k, v in base.items()}
    facts["risk"] = np.array(["high", "high", "low", "low", "high"], dtype=object)
    decided = decide_all(pathway, encode(pathway, facts, 5))
    assert decided.distinct == 2
    single = {k: str(v[2]) for k, v in facts.items()}
    assert decided.action[2] == pathway.decide(single).action
    assert decided.action[0] == pathway.decide({k: str(v[0]) for k, v in facts.items()}).action
