"""Treat-to-target decisions from the engine's own pathway table.

The simulator computes the pathway's named facts for every patient at a decision point
(vectorised, as small integer codes), groups patients by their fact combination, and asks
:meth:`osteotarget.plan.pathway.Pathway.decide` (the evaluator ``plan/next_step.py`` uses)
once per distinct combination. No rule of the table is copied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from osteotarget.base.profile import load_profile
from osteotarget.knowledge import knowledge
from osteotarget.plan.pathway import Pathway, load_pathway


@cache
def pathway_for(profile: str) -> Pathway:
    return load_pathway(knowledge(), load_profile(profile))


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per patient: the row's action and row id (as strings from small lookup arrays)."""

    action: npt.NDArray[np.object_]
    row: npt.NDArray[np.object_]
    distinct: int


def fact_names(pathway: Pathway) -> tuple[str, ...]:
    return tuple(pathway.facts)


def encode(
    pathway: Pathway, facts: Mapping[str, npt.NDArray[np.object_] | str], n: int
) -> np.ndarray:
    """Fact values (arrays of strings, or one string for all) → an (n, facts) int8 matrix."""
    names = fact_names(pathway)
    missing = set(names) - set(facts)
    if missing:
        raise KeyError(f"simulation does not compute pathway fact(s): {', '.join(sorted(missing))}")
    codes = np.zeros((n, len(names)), dtype=np.int8)
    for j, name in enumerate(names):
        values = pathway.fact_values(name)
        column = facts[name]
        if isinstance(column, str):
            codes[:, j] = values.index(column)
        else:
            text = np.asarray(column, dtype=str)
            filled = np.zeros(n, dtype=bool)
            for i, value in enumerate(values):
                hit = text == value
                codes[hit, j] = i
                filled |= hit
            if not filled.all():
                bad = str(text[~filled][0])
                raise KeyError(f"pathway fact {name} has no value '{bad}'")
    return codes


def decide_all(pathway: Pathway, codes: np.ndarray) -> Decisions:
    """One pathway evaluation per distinct fact combination."""
    names = fact_names(pathway)
    if codes.shape[0] == 0:
        empty = np.empty(0, dtype=object)
        return Decisions(action=empty, row=empty, distinct=0)
    # one int64 key per row (mixed radix over the facts' value counts), then unique keys
    radix = np.array([len(pathway.fact_values(name)) for name in names], dtype=np.int64)
    weights = np.concatenate(([1], np.cumprod(radix[:-1])))
    keys = codes.astype(np.int64) @ weights
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    unique = codes[first]
    actions = np.empty(unique.shape[0], dtype=object)
    rows = np.empty(unique.shape[0], dtype=object)
    for i, combo in enumerate(unique):
        facts = {
            name: pathway.fact_values(name)[int(c)] for name, c in zip(names, combo, strict=True)
        }
        row = pathway.decide(facts)
        actions[i], rows[i] = row.action, row.id
    inverse = inverse.reshape(-1)
    return Decisions(action=actions[inverse], row=rows[inverse], distinct=int(unique.shape[0]))
