"""One loader for every knowledge file, validated at load time.

Rules (a knowledge file that breaks one is refused with the file and key named):

* every number is *cited*: either written as a quantity table
  ``{value = 0.942, unit = "g/cm2", cite = "looker1998", evidence = "unverified"}``
  or placed inside a table that declares ``cite`` and ``evidence`` for all bare numbers
  below it (a nearer declaration wins);
* every ``cite`` key (and every key in a ``citations = [...]`` list) resolves to an entry
  of ``citations.toml`` or of a file under ``citations/`` (authors, title, year and a DOI,
  PMID or URL);
* every evidence tag is one of ``verified`` (seen in retrieved primary text), ``secondary``
  (seen only in a secondary source) or ``unverified`` (recalled or not found: configurable,
  shown as unverified wherever it is used).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

EvidenceTag = Literal["verified", "secondary", "unverified"]
EVIDENCE_TAGS: tuple[EvidenceTag, ...] = ("verified", "secondary", "unverified")
_CITATION_FIELDS_REQUIRED = ("authors", "title", "year")
_CITATION_LOCATORS = ("doi", "pmid", "url")


class KnowledgeError(ValueError):
    """A knowledge file breaks a provenance rule; the message names file and key."""


@dataclass(frozen=True, slots=True)
class Citation:
    key: str
    authors: str
    title: str
    year: int
    journal: str = ""
    doi: str = ""
    pmid: str = ""
    url: str = ""
    note: str = ""

    def short(self) -> str:
        first = self.authors.split(",")[0].strip()
        locator = (
            f"doi:{self.doi}" if self.doi else (f"PMID {self.pmid}" if self.pmid else self.url)
        )
        journal = f" {self.journal}" if self.journal else ""
        return f"{first} et al.{journal} {self.year}. {locator}".strip()


@dataclass(frozen=True, slots=True)
class Quantity:
    """A cited number: where it lives, its value, and how well it was checked."""

    path: str
    value: float
    cite: str
    evidence: EvidenceTag
    unit: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """All knowledge files, merged by file stem: ``kb.get("reference.nhanes_iii")``."""

    data: Mapping[str, Any]
    citations: Mapping[str, Citation]
    quantities: Mapping[str, Quantity]
    version: str

    def get(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"knowledge has no entry '{path}' (missing '{part}')")
            node = node[part]
        return node

    def table(self, path: str) -> Mapping[str, Any]:
        node = self.get(path)
        if not isinstance(node, Mapping):
            raise KeyError(f"knowledge entry '{path}' is not a table")
        return cast(Mapping[str, Any], node)

    def quantity(self, path: str) -> Quantity:
        try:
            return self.quantities[path]
        except KeyError:
            raise KeyError(f"knowledge has no cited number '{path}'") from None

    def number(self, path: str) -> float:
        return self.quantity(path).value

    def citation(self, key: str) -> Citation:
        try:
            return self.citations[key]
        except KeyError:
            raise KeyError(f"unknown citation key '{key}'") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _walk(
    node: Mapping[str, Any],
    path: str,
    inherited: tuple[str, str] | None,
    out: dict[str, Quantity],
    source: str,
) -> None:
    cite = node.get("cite")
    evidence = node.get("evidence")
    if (cite is None) != (evidence is None):
        raise KnowledgeError(f"{source}: '{path}' declares only one of cite/evidence")
    if cite is not None and not isinstance(cite, str):
        raise KnowledgeError(f"{source}: '{path}' cite must be one citation key (a string)")
    if evidence is not None and evidence not in EVIDENCE_TAGS:
        raise KnowledgeError(
            f"{source}: '{path}' evidence tag '{evidence}' is not one of {', '.join(EVIDENCE_TAGS)}"
        )
    here = (str(cite), str(evidence)) if cite is not None else inherited
    if "value" in node and _is_number(node["value"]):
        if cite is None:
            raise KnowledgeError(f"{source}: quantity '{path}' has no cite/evidence")
        out[path] = Quantity(
            path=path,
            value=float(node["value"]),
            cite=str(cite),
            evidence=cast(EvidenceTag, str(evidence)),
            unit=str(node.get("unit", "")),
            note=str(node.get("note", "")),
        )
        return
    for key, value in node.items():
        child = f"{path}.{key}" if path else key
        _visit(value, child, here, out, source)


def _visit(
    value: Any, path: str, inherited: tuple[str, str] | None, out: dict[str, Quantity], source: str
) -> None:
    if isinstance(value, Mapping):
        _walk(value, path, inherited, out, source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _visit(item, f"{path}[{index}]", inherited, out, source)
    elif _is_number(value):
        if inherited is None:
            raise KnowledgeError(
                f"{source}: number {value!r} at '{path}' has no citation "
                "(write it as {value=…, cite=…, evidence=…} or declare cite/evidence on its table)"
            )
        out[path] = Quantity(
            path=path,
            value=float(value),
            cite=inherited[0],
            evidence=cast(EvidenceTag, inherited[1]),
        )


def _parse_citations(raw: Mapping[str, Any]) -> dict[str, Citation]:
    citations: dict[str, Citation] = {}
    for key, entry in raw.items():
        if not isinstance(entry, Mapping):
            raise KnowledgeError(f"citations.toml: '{key}' is not a table")
        missing = [f for f in _CITATION_FIELDS_REQUIRED if not entry.get(f)]
        if missing:
            raise KnowledgeError(f"citations.toml: '{key}' lacks {', '.join(missing)}")
        if not isinstance(entry["year"], int) or isinstance(entry["year"], bool):
            raise KnowledgeError(f"citations.toml: '{key}' year must be a whole number")
        if not any(entry.get(f) for f in _CITATION_LOCATORS):
            raise KnowledgeError(f"citations.toml: '{key}' needs a doi, pmid or url")
        unknown = set(entry) - {
            "authors", "title", "year", "journal", "doi", "pmid", "url", "note",
        }  # fmt: skip
        if unknown:
            raise KnowledgeError(f"citations.toml: '{key}' has unknown fields {sorted(unknown)}")
        citations[key] = Citation(key=key, **{k: v for k, v in entry.items()})
    return citations


def _iter_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.toml") if p.is_file())


def _cites_in(node: Any) -> Iterator[str]:
    """Every ``cite``/``citations`` reference in a tree (rules cite without numbers too)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "cite" and isinstance(value, str):
                yield value
            elif key == "citations" and isinstance(value, list):
                for v in value:
                    if not isinstance(v, str):
                        raise KnowledgeError(f"citations list holds a non-key {v!r}")
                    yield v
            else:
                yield from _cites_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _cites_in(item)


def load_knowledge(root: Path | None = None) -> KnowledgeBase:
    """Load and validate every TOML file under *root* (default: the packaged files).

    Files are keyed by their path relative to *root* without suffix, with ``/`` as ``.``
    (``profiles/t2t2024.toml`` → ``profiles.t2t2024``).
    """
    base = root if root is not None else Path(str(resources.files("osteotarget.knowledge")))
    digest = hashlib.sha256()
    data: dict[str, Any] = {}
    citations: dict[str, Citation] = {}
    quantities: dict[str, Quantity] = {}
    for file in _iter_files(base):
        rel = file.relative_to(base)
        raw_bytes = file.read_bytes()
        digest.update(str(rel).encode() + b"\0" + raw_bytes)
        try:
            parsed = tomllib.loads(raw_bytes.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeError(f"{rel}: not valid TOML: {exc}") from exc
        if rel.name == "citations.toml" or rel.parts[0] == "citations":
            for key, entry in _parse_citations(parsed).items():
                if key in citations and citations[key] != entry:
                    raise KnowledgeError(f"{rel}: citation key '{key}' is defined twice")
                citations[key] = entry
            continue
        key = ".".join(rel.with_suffix("").parts)
        node: dict[str, Any] = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = parsed
        _walk(parsed, key, None, quantities, str(rel))
    if not citations:
        raise KnowledgeError(f"{base}: citations.toml is missing or empty")
    for quantity in quantities.values():
        if quantity.cite not in citations:
            raise KnowledgeError(f"'{quantity.path}': citation key '{quantity.cite}' is unknown")
    for ref in _cites_in(data):
        if ref not in citations:
            raise KnowledgeError(f"citation key '{ref}' is used but not in citations.toml")
    return KnowledgeBase(
        data=data, citations=citations, quantities=quantities, version=digest.hexdigest()[:12]
    )


@lru_cache(maxsize=1)
def knowledge() -> KnowledgeBase:
    """The packaged knowledge base, loaded once per process."""
    return load_knowledge()
