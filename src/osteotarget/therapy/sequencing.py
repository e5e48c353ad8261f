"""Treatment-sequence cautions (denosumab → PTH analogue; anabolic after a long
antiresorptive course) from ``knowledge/rules/sequencing.toml``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from osteotarget.knowledge import KnowledgeBase, knowledge


@dataclass(frozen=True, slots=True)
class SequenceCaution:
    severity: str
    text: str
    citations: tuple[str, ...]


def sequence_cautions(
    prior_drugs: Sequence[str], new_drugs: Sequence[str]
) -> list[SequenceCaution]:
    """Cautions for starting *new_drugs* (in order) after *prior_drugs* were taken."""
    kb = knowledge()
    if not _KB or _KB[0] is not kb or len(_FOUND) > _FOUND_MAX:
        _FOUND.clear()
        _KB[:] = [kb]
    key = (tuple(prior_drugs), tuple(new_drugs))
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = _cautions(*key)
    return list(found)


# A pure function of the drugs and the knowledge base (loaded once, immutable): kept.
_FOUND: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[SequenceCaution, ...]] = {}
_FOUND_MAX = 4096  # entries, not clinical
_KB: list[KnowledgeBase] = []


def _cautions(
    prior_drugs: tuple[str, ...], new_drugs: tuple[str, ...]
) -> tuple[SequenceCaution, ...]:
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
    return tuple(out)
