"""Treatment-sequence cautions (denosumab → PTH analogue; anabolic after a long
antiresorptive course) from ``knowledge/rules/sequencing.toml``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from osteotarget.knowledge import knowledge


@dataclass(frozen=True, slots=True)
class SequenceCaution:
    severity: str
    text: str
    citations: tuple[str, ...]


def sequence_cautions(
    prior_drugs: Sequence[str], new_drugs: Sequence[str]
) -> list[SequenceCaution]:
    """Cautions for starting *new_drugs* (in order) after *prior_drugs* were taken."""
    out: list[SequenceCaution] = []
    first_new = new_drugs[0] if new_drugs else None
    for rule in knowledge().get("rules.sequencing.cautions"):
        after = set(rule["after"])
        if first_new in rule["before"] and after.intersection(prior_drugs):
            out.append(
                SequenceCaution(
                    severity=str(rule["severity"]),
                    text=str(rule["text"]),
                    citations=tuple(str(c) for c in rule["citations"]),
                )
            )
    return out
