"""FHIR R4 resources (a Bundle, or NDJSON of resources) -> patient records of the contract.

Reads Patient, Observation (DXA, FRAX, labs, height and weight), Condition (fractures,
comorbidities, risk factors), MedicationStatement / MedicationRequest /
MedicationAdministration (RxNorm) and Procedure. Every code no map knows is reported in
``issues`` with the resource it came from; nothing is dropped silently and nothing is guessed:
the record that comes out is validated by the model like any other.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from osteotarget.adapters.codemaps import ICD10, LOINC, RXNORM, SNOMED, CodeMaps, codemaps

FULL_URL = "__fullUrl"
EXT_BASE = "https://osteotarget.org/fhir/StructureDefinition/"
EXT_EXTRAS = EXT_BASE + "record-extras"
EXT_FRACTURE_SOURCE = EXT_BASE + "fracture-source"
EXT_FRAGILITY = EXT_BASE + "fragility"
EXT_WITH_BMD = EXT_BASE + "frax-with-bmd"
EXT_ADHERENCE = EXT_BASE + "adherence"
EXT_STOP_REASON = EXT_BASE + "stop-reason"
LEFT, RIGHT = "7771000", "24028007"
SKIP_STATUS = {"entered-in-error", "cancelled", "refuted", "not-taken", "not-done", "draft"}
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

    def as_dict(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "message": self.message,
            "system": self.system,
            "code": self.code,
            "display": self.display,
        }


@dataclass
class Conversion:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


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
            if resource.get("resourceType") == "Patient" and isinstance(entry.get("fullUrl"), str):
                resource = {**resource, FULL_URL: entry["fullUrl"]}
            out.extend(_unbundle(resource, where))
    return out


def _ref_id(ref: Any) -> str | None:
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


def _date(value: Any) -> str | None:
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return None


def _when(resource: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start")
        found = _date(value)
        if found:
            return found
    return None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text") or "")]
    parts += [str(c.get("display") or "") for c in _codings(concept)]
    return " ".join(p for p in parts if p)


def _ext(resource: dict[str, Any], url: str) -> Any:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def _label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '?')}"


class _Builder:
    def __init__(self, maps: CodeMaps) -> None:
        self.maps = maps
        self.patients: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.visits: dict[str, dict[str, dict[tuple[str, str | None], dict[str, Any]]]] = (
            defaultdict(dict)
        )  # patient -> date -> (site, side) -> measurement
        self.devices: dict[tuple[str, str], dict[str, Any]] = {}
        self.frax: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.vitals: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
        self.meds: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.lists: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.flags: dict[str, dict[str, bool]] = defaultdict(dict)
        self.issues: list[Issue] = []
        self.contained_meds: dict[str, dict[str, Any]] = {}

    def issue(
        self, resource: dict[str, Any], message: str, coding: dict[str, Any] | None = None
    ) -> None:
        coding = coding or {}
        self.issues.append(
            Issue(
                _label(resource),
                message,
                str(coding.get("system", "")),
                str(coding.get("code", "")),
                str(coding.get("display", "")),
            )
        )

    def subject(self, resource: dict[str, Any]) -> str | None:
        ref = _ref_id(resource.get("subject") or resource.get("patient"))
        if ref is None and len(self.patients) == 1:
            return next(iter(self.patients))
        if ref is None:
            self.issue(resource, "no subject Patient reference: not read")
            return None
        pid = self.aliases.get(ref, ref)
        if pid not in self.patients:
            self.issue(resource, "its Patient is not in the input: not read")
            return None
        return pid

    # ---- Patient -------------------------------------------------------------------------

    def patient(self, res: dict[str, Any], full_url: str | None) -> None:
        pid = res.get("id")
        if not isinstance(pid, str) or not pid:
            identifiers = [i for i in res.get("identifier") or [] if isinstance(i, dict)]
            pid = str(identifiers[0].get("value")) if identifiers else None
        if not pid:
            self.issue(res, "Patient without id or identifier: not read")
            return
        record: dict[str, Any] = {"id": pid}
        gender = res.get("gender")
        if gender in ("female", "male"):
            record["sex"] = gender
        else:
            self.issue(res, f"gender '{gender}' is not female or male; the record needs sex")
        if res.get("birthDate"):
            record["birth_date"] = str(res["birthDate"])[:10]
        extras = _ext(res, EXT_EXTRAS)
        if isinstance(extras, str):
            try:
                record.update(json.loads(extras))
            except json.JSONDecodeError:
                self.issue(res, "osteotarget record-extras extension is not JSON")
        self.patients[pid] = record
        if full_url:
            self.aliases[full_url] = pid

    # ---- Observation ---------------------------------------------------------------------

    def observation(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or res.get("status") in SKIP_STATUS:
            return
        when = _when(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
        obs = self.maps.observations
        loinc_codes = [c for c in _codings(res.get("code")) if c.get("system") == LOINC]
        for coding in loinc_codes:
            code = str(coding.get("code"))
            if code in obs.get("dxa", {}):
                return self._dxa(res, pid, when, obs["dxa"][code], coding)
            if code in obs.get("frax", {}):
                return self._frax(res, pid, when, obs["frax"][code]["outcome"], coding)
            if code in obs.get("vital", {}):
                return self._vital(res, pid, when, obs["vital"][code], coding)
            if code in self.maps.labs.get("loinc", {}):
                return self._lab(res, pid, when, self.maps.labs["loinc"][code], coding)
            if code in obs.get("known_unreliable", {}):
                note = obs["known_unreliable"][code]["note"]
                return self.issue(res, f"not read: {note}", coding)
        first = (loinc_codes or _codings(res.get("code")) or [{}])[0]
        self.issue(res, "Observation code not in the code maps: not read", first)

    def _quantity(self, res: dict[str, Any], coding: dict[str, Any]) -> tuple[float, str] | None:
        q = res.get("valueQuantity")
        if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
            self.issue(res, "no numeric valueQuantity: not read", coding)
            return None
        return float(q["value"]), str(q.get("code") or q.get("unit") or "")

    def _dxa(
        self,
        res: dict[str, Any],
        pid: str,
        when: str | None,
        entry: dict[str, Any],
        coding: dict[str, Any],
    ) -> None:
        value = self._quantity(res, coding)
        if value is None or when is None:
            if when is None:
                self.issue(res, "DXA Observation without a date: not read", coding)
            return
        number, unit = value
        lowered = unit.lower()
        by_unit = "bmd" if "g/cm" in lowered else "z_score" if "z" in lowered else "t_score"
        kind = entry.get("kind") or by_unit
        if (kind == "bmd") != (by_unit == "bmd") and lowered:
            self.issue(res, f"unit '{unit}' does not fit this code ({kind}): not read", coding)
            return
        side = entry.get("side")
        region = None
        for concept in [res.get("bodySite")]:
            if isinstance(concept, dict) and isinstance(concept.get("text"), str):
                region = concept["text"]
            for c in _codings(concept):
                if c.get("code") == LEFT:
                    side = "left"
                elif c.get("code") == RIGHT:
                    side = "right"
        site = str(entry["site"])
        measurement = (
            self.visits[pid]
            .setdefault(when, {})
            .setdefault((site, side), {"site": site, **({"side": side} if side else {})})
        )
        measurement[kind] = number
        if region:
            measurement["region"] = region
        device = res.get("device")
        display = str(device.get("display") or "") if isinstance(device, dict) else ""
        if display:
            self.devices[(pid, when)] = _device(display, res)

    def _frax(
        self, res: dict[str, Any], pid: str, when: str | None, outcome: str, coding: dict[str, Any]
    ) -> None:
        value = self._quantity(res, coding)
        if value is None or when is None:
            return
        entry = self.frax[pid].setdefault(when, {"date": when})
        entry[outcome] = value[0]
        with_bmd = _ext(res, EXT_WITH_BMD)
        if isinstance(with_bmd, bool):
            entry["with_bmd"] = with_bmd
        method = res.get("method")
        country = method.get("text") if isinstance(method, dict) else None
        if isinstance(country, str) and len(country) >= 2:
            entry["country"] = country

    def _vital(
        self,
        res: dict[str, Any],
        pid: str,
        when: str | None,
        entry: dict[str, Any],
        coding: dict[str, Any],
    ) -> None:
        value = self._quantity(res, coding)
        if value is None:
            return
        if value[1] and value[1] != entry["unit"]:
            self.issue(res, f"unit '{value[1]}' is not {entry['unit']}: not read", coding)
            return
        field_name = str(entry["field"])
        latest = self.vitals[pid].get(field_name)
        if latest is None or (when or "") >= latest[0]:
            self.vitals[pid][field_name] = (when or "", value[0])

    def _lab(
        self, res: dict[str, Any], pid: str, when: str | None, test: str, coding: dict[str, Any]
    ) -> None:
        value = self._quantity(res, coding)
        if value is None or when is None:
            return
        unit = self.maps.labs.get("units", {}).get(value[1])
        if unit is None:
            self.issue(res, f"{test}: unit '{value[1]}' is not in the code maps: not read", coding)
            return
        self.lists[pid]["labs"].append(
            {"date": when, "test": test, "value": value[0], "unit": unit}
        )

    # ---- Condition / Procedure -----------------------------------------------------------

    def _condition_entry(
        self, concept: Any, table: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        codings = _codings(concept)
        for c in codings:
            system, code = c.get("system"), str(c.get("code", ""))
            if system == SNOMED and code in table.get("snomed", {}):
                return table["snomed"][code], c
            if system in ICD10 and table is self.maps.conditions:
                found = self.maps.icd10(code)
                if found is not None:
                    return found, c
        return None, (codings[0] if codings else {})

    def condition(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None:
            return
        verification = _text(res.get("verificationStatus")).lower()
        if any(s in verification for s in ("refuted", "entered-in-error")):
            return
        entry, coding = self._condition_entry(res.get("code"), self.maps.conditions)
        if entry is None:
            self.issue(res, "Condition code not in the code maps: not read", coding)
            return
        onset = _when(res, "onsetDateTime", "onsetPeriod", "recordedDate")
        resolved = _when(res, "abatementDateTime", "abatementPeriod")
        self._apply(res, pid, entry, onset, resolved, coding)

    def procedure(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or res.get("status") in SKIP_STATUS:
            return
        entry, coding = self._condition_entry(res.get("code"), self.maps.procedures)
        if entry is None:
            self.issue(res, "Procedure code not in the code maps: not read", coding)
            return
        if "ignore" in entry:
            return
        self._apply(
            res, pid, entry, _when(res, "performedDateTime", "performedPeriod"), None, coding
        )

    def _apply(
        self,
        res: dict[str, Any],
        pid: str,
        entry: dict[str, Any],
        onset: str | None,
        resolved: str | None,
        coding: dict[str, Any],
    ) -> None:
        if "fracture" in entry:
            if onset is None:
                self.issue(res, "fracture without a date: not read", coding)
                return
            fracture: dict[str, Any] = {"date": onset, "site": entry["fracture"]}
            source = _ext(res, EXT_FRACTURE_SOURCE)
            fragility = _ext(res, EXT_FRAGILITY)
            if isinstance(source, str):
                fracture["source"] = source
            if isinstance(fragility, bool):
                fracture["fragility"] = fragility
            self.lists[pid]["fractures"].append(fracture)
        elif "condition" in entry:
            item: dict[str, Any] = {"code": entry["condition"]}
            if onset:
                item["onset"] = onset
            if resolved:
                item["resolved"] = resolved
            self.lists[pid]["conditions"].append(item)
        elif "risk_factor" in entry:
            clinical = _text(res.get("clinicalStatus")).lower()
            if not any(s in clinical for s in ("inactive", "resolved", "remission")):
                self.flags[pid][str(entry["risk_factor"])] = True

    # ---- medications ---------------------------------------------------------------------

    def medication(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or res.get("status") in SKIP_STATUS:
            return
        concept = res.get("medicationCodeableConcept")
        if concept is None:
            med = res.get("medication")
            if isinstance(med, dict) and "concept" in med:
                concept = med["concept"]
            else:
                ref = res.get("medicationReference") or (med or {}).get("reference")
                target = ref.get("reference") if isinstance(ref, dict) else None
                found = self.contained_meds.get(str(target).lstrip("#"))
                concept = found.get("code") if found else None
        drug, coding, by_name = self.drug_of(concept)
        if drug is None:
            self.issue(
                res, f"{res['resourceType']} medication not in the code maps: not read", coding
            )
            return
        if by_name:
            self.issue(
                res, f"medication code not in the code maps; read as {drug} by its name", coding
            )
        kind = res["resourceType"]
        start = (
            _when(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant")
            if kind != "MedicationRequest"
            else _when(res, "authoredOn")
        )
        end = None
        period = res.get("effectivePeriod")
        if isinstance(period, dict):
            end = _date(period.get("end"))
        if start is None:
            self.issue(res, f"{kind} without a date: not read", coding)
            return
        self.meds[pid][drug].append(
            {
                "kind": kind,
                "start": start,
                "end": end,
                "status": str(res.get("status", "")),
                "adherence": _ext(res, EXT_ADHERENCE),
                "stop_reason": _ext(res, EXT_STOP_REASON),
            }
        )

    def drug_of(self, concept: Any) -> tuple[str | None, dict[str, Any], bool]:
        codings = _codings(concept)
        meds = self.maps.medications
        for c in codings:
            if c.get("system") == RXNORM:
                code = str(c.get("code", ""))
                drug = meds.get("ingredients", {}).get(code) or meds.get("products", {}).get(code)
                if drug:
                    return str(drug), c, False
        first = codings[0] if codings else {}
        by_name = self.maps.drug_by_name(_text(concept))
        return by_name, first, by_name is not None

    def courses(self, pid: str) -> list[dict[str, Any]]:
        dose_drugs = set(self.maps.medications.get("dosing", {}).get("dose_events", []))
        out = []
        for drug, events in sorted(self.meds[pid].items()):
            events.sort(key=lambda e: e["start"])
            course: dict[str, Any] = {"drug": drug, "start": events[0]["start"]}
            ongoing = any(
                e["end"] is None and e["status"] in ("active", "intended", "on-hold")
                for e in events
            )
            ends = [e["end"] or e["start"] for e in events]
            if drug in dose_drugs:
                doses = sorted(
                    {e["start"] for e in events if e["kind"] == "MedicationAdministration"}
                    or {e["start"] for e in events}
                )
                course["doses"] = doses
                ends.append(doses[-1])
            course["end"] = None if ongoing else max(ends)
            for key in ("adherence", "stop_reason"):
                values = [e[key] for e in events if isinstance(e[key], str)]
                if values:
                    course[key] = values[-1]
            out.append(course)
        return out

    # ---- assembly ------------------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for pid, base in self.patients.items():
            record = dict(base)
            vfa = record.pop("dxa_vfa", {})
            dxa_z = record.pop("dxa_z", {})
            for field_name, (_, value) in self.vitals[pid].items():
                record.setdefault(field_name, value)
            visits = []
            for when, measurements in sorted(self.visits[pid].items()):
                device = self.devices.get((pid, when), {"manufacturer": "other"})
                for m in measurements.values():
                    z_key = f"{when}|{m['site']}|{m.get('side') or ''}|{m.get('region') or ''}"
                    if isinstance(dxa_z, dict) and z_key in dxa_z:
                        m.setdefault("z_score", dxa_z[z_key])
                visit = {
                    "date": when,
                    "device": device,
                    "measurements": list(measurements.values()),
                }
                if isinstance(vfa, dict) and when in vfa:
                    visit["vfa"] = vfa[when]
                visits.append(visit)
            if visits:
                record["dxa"] = visits
            frax = []
            for when, entry in sorted(self.frax[pid].items()):
                if "mof" not in entry:
                    self.issues.append(
                        Issue(
                            f"Patient/{pid}", f"FRAX of {when} has a hip but no MOF value: not read"
                        )
                    )
                    continue
                if "with_bmd" not in entry or "country" not in entry:
                    self.issues.append(
                        Issue(
                            f"Patient/{pid}",
                            f"FRAX of {when}: country or with/without BMD not stated; "
                            "recorded as country 'unspecified', without BMD",
                        )
                    )
                frax.append({"country": "unspecified", "with_bmd": False, **entry})
            if frax:
                record["frax"] = frax
            for name, items in self.lists[pid].items():
                record[name] = items
            courses = self.courses(pid)
            if courses:
                record["therapies"] = courses
            if self.flags[pid]:
                factors = dict(record.get("risk_factors") or {})
                factors.update(self.flags[pid])
                record["risk_factors"] = factors
            out[pid] = record
        return out


def _device(display: str, res: dict[str, Any]) -> dict[str, Any]:
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


HANDLERS = {
    "Observation": "observation",
    "Condition": "condition",
    "Procedure": "procedure",
    "MedicationStatement": "medication",
    "MedicationRequest": "medication",
    "MedicationAdministration": "medication",
}


def records_from_resources(resources: Iterable[dict[str, Any]]) -> Conversion:
    """Group resources by Patient and build one record per Patient."""
    builder = _Builder(codemaps())
    items = list(resources)
    for res in items:
        if res.get("resourceType") == "Patient":
            full_url = res.get(FULL_URL)
            builder.patient(res, full_url if isinstance(full_url, str) else None)
        elif res.get("resourceType") == "Medication" and res.get("id"):
            builder.contained_meds[str(res["id"])] = res
            builder.contained_meds["Medication/" + str(res["id"])] = res
        for contained in res.get("contained") or []:
            if isinstance(contained, dict) and contained.get("resourceType") == "Medication":
                builder.contained_meds[str(contained.get("id"))] = contained
    for res in items:
        method = HANDLERS.get(str(res.get("resourceType")))
        if method is not None:
            getattr(builder, method)(res)
    return Conversion(builder.records(), builder.issues)
