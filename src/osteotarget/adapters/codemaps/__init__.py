"""Code maps (TOML data files) from FHIR codes to the record's words; a site can extend them.

Files shipped here load first; then every ``*.toml`` in the folder named by
``OSTEOTARGET_CODEMAPS`` (a site's own), merged table by table (the site's entries win).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
UCUM = "http://unitsofmeasure.org"


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@dataclass(frozen=True)
class CodeMaps:
    observations: dict[str, Any]
    labs: dict[str, Any]
    conditions: dict[str, Any]
    medications: dict[str, Any]
    procedures: dict[str, Any]

    def icd10(self, code: str) -> dict[str, Any] | None:
        """Longest ICD-10 prefix match (dots ignored)."""
        key = code.replace(".", "").upper()
        table: dict[str, Any] = self.conditions.get("icd10", {})
        for end in range(len(key), 2, -1):
            if key[:end] in table:
                entry: dict[str, Any] = table[key[:end]]
                return entry
        return None

    def drug_by_name(self, text: str) -> str | None:
        lowered = text.lower()
        for drug, needles in self.medications.get("names", {}).items():
            if any(n in lowered for n in needles):
                return str(drug)
        return None


def _load(name: str, extra: list[Path]) -> dict[str, Any]:
    text = (resources.files("osteotarget.adapters.codemaps") / f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    for path in extra:
        if path.stem == name or path.stem.startswith(name + "."):
            _merge(data, tomllib.loads(path.read_text("utf-8")))
    return data


@lru_cache(maxsize=4)
def _cached(site_folder: str) -> CodeMaps:
    extra = sorted(Path(site_folder).glob("*.toml")) if site_folder else []
    return CodeMaps(
        observations=_load("observations", extra),
        labs=_load("labs", extra),
        conditions=_load("conditions", extra),
        medications=_load("medications", extra),
        procedures=_load("procedures", extra),
    )


def codemaps() -> CodeMaps:
    """The shipped maps merged with the site's (files named like the shipped ones)."""
    return _cached(os.environ.get("OSTEOTARGET_CODEMAPS", ""))
