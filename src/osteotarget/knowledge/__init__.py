"""Knowledge files (TOML) with provenance, and their one validating loader."""

from osteotarget.knowledge.loader import (
    EVIDENCE_TAGS,
    Citation,
    EvidenceTag,
    KnowledgeBase,
    KnowledgeError,
    Quantity,
    knowledge,
    load_knowledge,
)

__all__ = [
    "EVIDENCE_TAGS",
    "Citation",
    "EvidenceTag",
    "KnowledgeBase",
    "KnowledgeError",
    "Quantity",
    "knowledge",
    "load_knowledge",
]
