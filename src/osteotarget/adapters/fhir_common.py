"""Shared pieces of the FHIR reader: input parsing, the report types, field helpers that
never raise on a wrong JSON type, and the constants of the osteotarget extensions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FULL_URL = "__fullUrl"
EXT_BASE = "https://osteotarget.org/fhir/StructureDefinition/"
EXT_EXTRAS = EXT_BASE + "record-extras"
EXT_FRACTURE_SOURCE = EXT_BASE + "fracture-source"
EXT_FRAGILITY = EXT_BASE + "fragility"
EXT_WITH_BMD = EXT_BASE + "frax-with-bmd"
EXT_ADHERENCE = EXT_BASE + "adherence"
EXT_STOP_REASON = EXT_BASE + "stop-reason"
CS_BASE = "https://osteotarget.org/fhir/CodeSystem/"
CS_DRUG = CS_BASE + "drug"
LEFT, RIGHT = "7771000", "24028007"
SKIP_STATUS = {"entered-in-error", "cancelled", "refuted", "not-taken", "not-done", "draft"}
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
SEX_EXTENSIONS = (US_CORE + "us-core-individual-sex", US_CORE + "us-core-sex")
BIRTH_SEX = US_CORE + "us-core-birthsex"
SEX_CODES = {"248152002": "female", "248153007": "male", "female": "female", "male": "male",
             "F": "female", "M": "male"}  # fmt: skip
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
LEVELS = ("refused", "flagged", "converted")
NATIVE_BMD_UNITS = {"g/cm2", "g/cm^2", "g/cm²"}
MANUFACTURERS = (("hologic", "hologic"), ("lunar", "ge_lunar"), ("ge ", "ge_lunar"),
                 ("ge_lunar", "ge_lunar"), ("norland", "norland"))  # fmt: skip


class FhirInputError(ValueError):
    """The body is not a Bundle, a resource or NDJSON of resources."""


@dataclass(frozen=True, slots=True)
class Issue:
    resource: str
    message: str
    system: str = ""
    code: str = ""
    display: str = ""
    level: str = "refused"

    def as_dict(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "level": self.level,
            "message": self.message,
            "system": self.system,
            "code": self.code,
            "display": self.display,
        }


@dataclass
class Conversion:
    """Records by patient id, the issues, and each resource's outcome."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    # patient id -> item key (osteotarget.model.merge.item_key) -> resources it was read from
    sources: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def outcome(self) -> dict[str, str]:
        """Each resource -> read | converted | flagged | refused (the worst of its issues)."""
        worst: dict[str, str] = {label: "read" for label in self.resources}
        rank = {"read": 0, "converted": 1, "flagged": 2, "refused": 3}
        for issue in self.issues:
            now = worst.get(issue.resource, "read")
            if rank.get(issue.level, 3) > rank[now]:
                worst[issue.resource] = issue.level
        return worst

    def report(self) -> dict[str, Any]:
        outcome = self.outcome()
        counts = {k: 0 for k in ("read", "converted", "flagged", "refused")}
        for value in outcome.values():
            counts[value] += 1
        return {
            "counts": counts,
            "resources": outcome,
            "issues": [i.as_dict() for i in self.issues],
        }

    @property
    def unread(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "refused"]


def parse_resources(text: str) -> list[dict[str, Any]]:
    """A Bundle, one resource, or NDJSON (one resource per line) -> resources."""
    stripped = text.strip()
    if not stripped:
        raise FhirInputError("the body is empty")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        data = None
    if data is None:
        out: list[dict[str, Any]] = []
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FhirInputError(f"line {number}: not valid JSON ({exc.msg})") from None
            out.extend(_unbundle(item, f"line {number}"))
        return out
    return _unbundle(data, "body")


def _unbundle(data: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirInputError(f"{where}: not a FHIR resource (no resourceType)")
    if data["resourceType"] != "Bundle":
        return [data]
    out: list[dict[str, Any]] = []
    for entry in data.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            resource = entry["resource"]
            if resource.get("resourceType") in ("Patient", "Medication") and isinstance(
                entry.get("fullUrl"), str
            ):
                resource = {**resource, FULL_URL: entry["fullUrl"]}
            out.extend(_unbundle(resource, where))
    return out


def ref_id(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str):
        return None
    if text.startswith("urn:uuid:"):
        return text
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient":
        return parts[-1]
    return None


def full_date(value: Any) -> str | None:
    if isinstance(value, str) and FULL_DATE.match(value):
        return value[:10]
    return None


def impute_date(value: Any) -> tuple[str | None, bool]:
    """A FHIR date -> (YYYY-MM-DD, imputed?). A partial date takes the middle of its period:
    "2019" -> 2019-07-01, "2019-05" -> 2019-05-15 (the documented rule, always flagged)."""
    full = full_date(value)
    if full is not None:
        return full, False
    if isinstance(value, str):
        match = PARTIAL_DATE.match(value.strip())
        if match:
            year, month = match.group(1), match.group(2)
            if month is None:
                return f"{year}-07-01", True
            if "01" <= month <= "12":
                return f"{year}-{month}-15", True
    return None, False


def codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return []
    return [c for c in codings if isinstance(c, dict)]


def status_of(resource: dict[str, Any]) -> str:
    status = resource.get("status")
    if status is not None and not isinstance(status, str):
        raise MalformedResource(f"status is {type(status).__name__}, not a code")
    return status or ""


class MalformedResource(ValueError):
    """A field of the wrong JSON type: the resource is reported, never a crash."""


def text_of(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text") or "")]
    parts += [str(c.get("display") or "") for c in codings(concept)]
    return " ".join(p for p in parts if p)


def extension(resource: dict[str, Any], url: str) -> Any:
    extensions = resource.get("extension")
    if not isinstance(extensions, list):
        return None
    for ext in extensions:
        if isinstance(ext, dict) and ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '?')}"


def days_between(first: str, second: str) -> int:
    return abs((date.fromisoformat(second) - date.fromisoformat(first)).days)


def device_of(display: str, res: dict[str, Any]) -> dict[str, Any]:
    lowered = display.lower() + " "
    manufacturer = "other"
    for needle, name in MANUFACTURERS:
        if needle in lowered:
            manufacturer = name
            break
    model = display
    for prefix in ("Hologic", "GE Lunar", "GE_Lunar", "Norland", "Other"):
        if model.lower().startswith(prefix.lower()):
            model = model[len(prefix) :].strip()
    device: dict[str, Any] = {"manufacturer": manufacturer}
    if model:
        device["model"] = model
    performers = [p for p in res.get("performer") or [] if isinstance(p, dict)]
    if performers and performers[0].get("display"):
        device["facility"] = str(performers[0]["display"])
    return device
