"""FHIR R4 resources (a Bundle, or NDJSON of resources) -> patient records of the contract.

Reads Patient, Observation (DXA, FRAX, labs, height and weight), Condition (fractures,
comorbidities, risk factors), MedicationStatement / MedicationRequest /
MedicationAdministration (RxNorm) and Procedure. Every code no map knows is reported in
``issues`` with the resource it came from; nothing is dropped silently and nothing is guessed:
the record that comes out is validated by the model like any other.

Each issue has a ``level``: ``refused`` (the item was not read), ``flagged`` (read by a
documented rule the user should know about: a partial date imputed, a code read for what it
is though senders misuse it, a course without dose dates) or ``converted`` (a unit converted
by UCUM). :func:`read_fhir` is the one entry point for every door (API, CLI, CDS Hooks): text
in, records plus a per-resource report out. The reading rules are in docs/api.md.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from osteotarget.adapters import fhir_common as common
from osteotarget.adapters.codemaps import ICD10, LOINC, RXNORM, SNOMED, CodeMaps, codemaps
from osteotarget.adapters.fhir_common import (
    BIRTH_SEX,
    CS_BASE,
    CS_DRUG,
    EXT_ADHERENCE,
    EXT_EXTRAS,
    EXT_FRACTURE_SOURCE,
    EXT_FRAGILITY,
    EXT_STOP_REASON,
    EXT_WITH_BMD,
    FHIR_ID,
    FULL_URL,
    LEFT,
    NATIVE_BMD_UNITS,
    RIGHT,
    SEX_CODES,
    SEX_EXTENSIONS,
    SKIP_STATUS,
    Conversion,
    FhirInputError,
    Issue,
    MalformedResource,
    impute_date,
    parse_resources,
)
from osteotarget.model.codes import DRUGS

__all__ = [
    "CS_BASE",
    "CS_DRUG",
    "EXT_ADHERENCE",
    "EXT_EXTRAS",
    "EXT_FRACTURE_SOURCE",
    "EXT_FRAGILITY",
    "EXT_STOP_REASON",
    "EXT_WITH_BMD",
    "FHIR_ID",
    "LEFT",
    "RIGHT",
    "Conversion",
    "FhirInputError",
    "Issue",
    "parse_resources",
    "read_fhir",
    "records_from_resources",
]


def read_fhir(text: str) -> Conversion:
    """A Bundle, one resource or NDJSON -> records plus a per-resource report.

    Raises :class:`FhirInputError` only when the text is not FHIR JSON at all."""
    return records_from_resources(parse_resources(text))


class _Builder:
    def __init__(self, maps: CodeMaps) -> None:
        self.maps = maps
        self.patients: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.visits: dict[str, dict[str, dict[tuple[str, str | None], dict[str, Any]]]] = (
            defaultdict(dict)
        )  # patient -> date -> (site, side) -> measurement
        self.sources: dict[tuple[str, str, str, str | None, str], str] = {}
        self.devices: dict[tuple[str, str], dict[str, Any]] = {}
        self.frax: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.vitals: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
        self.meds: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.lists: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.fracture_items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.flags: dict[str, dict[str, bool]] = defaultdict(dict)
        self.issues: list[Issue] = []
        self.global_meds: dict[str, dict[str, Any]] = {}
        self.prov: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def came_from(self, pid: str, key: str, label: str) -> None:
        if label not in self.prov[pid][key]:
            self.prov[pid][key].append(label)

    def issue(
        self,
        resource: dict[str, Any],
        message: str,
        coding: dict[str, Any] | None = None,
        level: str = "refused",
    ) -> None:
        coding = coding or {}
        self.issues.append(
            Issue(
                common.label(resource),
                message,
                str(coding.get("system", "")),
                str(coding.get("code", "")),
                str(coding.get("display", "")),
                level,
            )
        )

    def date(self, res: dict[str, Any], *names: str) -> str | None:
        """The first date found among ``names`` (a Period gives its start); partial dates
        are imputed to the middle of their period and flagged."""
        for name in names:
            value = res.get(name)
            if isinstance(value, dict):
                value = value.get("start")
            found, imputed = impute_date(value)
            if found:
                if imputed:
                    self.issue(
                        res,
                        f"{name} '{value}' is a partial date: read as {found} (middle of the "
                        "period)",
                        level="flagged",
                    )
                return found
        return None

    def subject(self, resource: dict[str, Any]) -> str | None:
        ref = common.ref_id(resource.get("subject") or resource.get("patient"))
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
        if pid is None:
            identifiers = res.get("identifier")
            first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
            pid = first.get("value") if isinstance(first, dict) else None
        if not isinstance(pid, str) or not FHIR_ID.match(pid):
            shown = "" if pid is None else f" {str(pid)[:80]!r}"
            self.issue(
                res,
                f"Patient id{shown} is not a FHIR id (1-64 of A-Z a-z 0-9 - .): not read",
            )
            return
        record: dict[str, Any] = {"id": pid}
        gender = res.get("gender")
        sex = gender if gender in ("female", "male") else self._sex_extension(res)
        if sex is not None:
            record["sex"] = sex
        else:
            self.issue(res, f"gender '{gender}' is not female or male; the record needs sex")
        birth, imputed = impute_date(res.get("birthDate"))
        if birth:
            record["birth_date"] = birth
            if imputed:
                self.issue(
                    res,
                    f"birthDate '{res['birthDate']}' is a partial date: read as {birth} "
                    "(middle of the period)",
                    level="flagged",
                )
        extras = common.extension(res, EXT_EXTRAS)
        if isinstance(extras, str):
            try:
                loaded = json.loads(extras)
            except json.JSONDecodeError:
                loaded = None
            if isinstance(loaded, dict):
                record.update(loaded)
            else:
                self.issue(res, "osteotarget record-extras extension is not a JSON object")
        self.patients[pid] = record
        for name in ("sex", "birth_date"):
            if name in record:
                self.came_from(pid, name, common.label(res))
        if full_url:
            self.aliases[full_url] = pid

    def _sex_extension(self, res: dict[str, Any]) -> str | None:
        for url in (*SEX_EXTENSIONS, BIRTH_SEX):
            value = common.extension(res, url)
            code = value.get("code") if isinstance(value, dict) else value
            sex = SEX_CODES.get(str(code)) if code is not None else None
            if sex is not None:
                name = url.rsplit("/", 1)[-1]
                self.issue(res, f"no gender: sex read as {sex} from the {name} extension",
                           level="flagged")  # fmt: skip
                return sex
        return None

    # ---- Observation ---------------------------------------------------------------------

    def observation(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or common.status_of(res) in SKIP_STATUS:
            return
        when = self.date(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
        obs = self.maps.observations
        loinc_codes = [c for c in common.codings(res.get("code")) if c.get("system") == LOINC]
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
        first = (loinc_codes or common.codings(res.get("code")) or [{}])[0]
        self.issue(res, "Observation code not in the code maps: not read", first)

    def _quantity(self, res: dict[str, Any], coding: dict[str, Any]) -> tuple[float, str] | None:
        q = res.get("valueQuantity")
        value = q.get("value") if isinstance(q, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.issue(res, "no numeric valueQuantity: not read", coding)
            return None
        assert isinstance(q, dict)
        unit = q.get("code") if q.get("code") not in (None, "1") else q.get("unit")
        return float(value), str(unit or "")

    def _dxa_kind(
        self, res: dict[str, Any], entry: dict[str, Any], unit: str, coding: dict[str, Any]
    ) -> tuple[str, float] | None:
        """The kind fixed by the code (or stated by the unit) and the factor to the record's
        unit; None (reported) when the value's kind or unit cannot be established."""
        bmd_units: dict[str, float] = self.maps.observations.get("bmd_units", {})
        lowered = unit.strip().lower().replace(" ", "")
        factor = next((f for u, f in bmd_units.items() if u.lower() == lowered), None)
        by_unit = (
            "bmd"
            if factor is not None
            else "z_score"
            if "z-score" in lowered or "zscore" in lowered
            else "t_score"
            if "t-score" in lowered or "tscore" in lowered
            else None
        )
        kind = entry.get("kind") or by_unit
        if kind is None:
            self.issue(
                res,
                f"unit '{unit}' does not say whether this is a BMD, a T-score or a Z-score, "
                "and the code does not fix it: not read",
                coding,
            )
            return None
        if kind == "bmd":
            if factor is None:
                self.issue(
                    res,
                    f"BMD with unit '{unit}' (not an area density such as g/cm2): not read",
                    coding,
                )
                return None
            return kind, float(factor)
        if by_unit is not None and by_unit != kind:
            self.issue(res, f"unit '{unit}' does not fit this code ({kind}): not read", coding)
            return None
        return str(kind), 1.0

    def _side(self, res: dict[str, Any], side: str | None) -> tuple[str | None, str | None]:
        """(side, region) from bodySite: a SNOMED laterality coding, else the words
        left/right in its text (then the text is not kept as a region)."""
        concept = res.get("bodySite")
        if not isinstance(concept, dict):
            return side, None
        text = concept.get("text") if isinstance(concept.get("text"), str) else None
        coded = None
        for c in common.codings(concept):
            if c.get("code") == LEFT:
                coded = "left"
            elif c.get("code") == RIGHT:
                coded = "right"
        if coded is not None:
            return side or coded, text
        if text is not None and side is None:
            words = set(re.findall(r"[a-z]+", text.lower()))
            found = {"left", "right"} & words
            if len(found) == 1:
                return found.pop(), None
        return side, text

    def _dxa(
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
        if when is None:
            self.issue(res, "DXA Observation without a date: not read", coding)
            return
        number, unit = value
        kind_factor = self._dxa_kind(res, entry, unit, coding)
        if kind_factor is None:
            return
        kind, factor = kind_factor
        if kind == "bmd" and unit.strip().lower().replace(" ", "") not in NATIVE_BMD_UNITS:
            converted = round(number * factor, 4)
            self.issue(
                res, f"BMD {number:g} {unit} converted to {converted:g} g/cm2", coding, "converted"
            )
            number = converted
        if "flag" in entry:
            self.issue(res, str(entry["flag"]), coding, "flagged")
        side, region = self._side(res, entry.get("side"))
        site = str(entry["site"])
        measurement = (
            self.visits[pid]
            .setdefault(when, {})
            .setdefault((site, side), {"site": site, **({"side": side} if side else {})})
        )
        key = (pid, when, site, side, kind)
        if kind in measurement and measurement[kind] != number:
            self.issue(
                res,
                f"{site} {kind} {number:g} on {when} conflicts with {measurement[kind]:g} from "
                f"{self.sources.get(key, 'another resource')}: not read",
                coding,
            )
            return
        measurement[kind] = number
        self.sources[key] = common.label(res)
        self.came_from(pid, f"dxa|{when}", common.label(res))
        if region:
            measurement["region"] = region
        device = res.get("device")
        display = str(device.get("display") or "") if isinstance(device, dict) else ""
        if display:
            self.devices[(pid, when)] = common.device_of(display, res)

    def _frax(
        self, res: dict[str, Any], pid: str, when: str | None, outcome: str, coding: dict[str, Any]
    ) -> None:
        value = self._quantity(res, coding)
        if value is None:
            return
        if when is None:
            self.issue(res, "FRAX Observation without a date: not read", coding)
            return
        entry = self.frax[pid].setdefault(when, {"date": when})
        entry[outcome] = value[0]
        entry.setdefault("__labels", []).append(common.label(res))
        with_bmd = common.extension(res, EXT_WITH_BMD)
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
        if value is None:
            return
        if when is None:
            self.issue(res, f"{test} without a date: not read", coding)
            return
        unit = self.maps.labs.get("units", {}).get(value[1])
        if unit is None:
            self.issue(res, f"{test}: unit '{value[1]}' is not in the code maps: not read", coding)
            return
        self.lists[pid]["labs"].append(
            {"date": when, "test": test, "value": value[0], "unit": unit}
        )
        self.came_from(pid, f"labs|{when}|{test}", common.label(res))

    # ---- Condition / Procedure -----------------------------------------------------------

    def _condition_entry(
        self, concept: Any, table: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        codings = common.codings(concept)
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
        verification = common.text_of(res.get("verificationStatus")).lower()
        if any(s in verification for s in ("refuted", "entered-in-error")):
            return
        entry, coding = self._condition_entry(res.get("code"), self.maps.conditions)
        if entry is None:
            self.issue(res, "Condition code not in the code maps: not read", coding)
            return
        onset = self.date(res, "onsetDateTime", "onsetPeriod", "recordedDate")
        resolved = self.date(res, "abatementDateTime", "abatementPeriod")
        self._apply(res, pid, entry, onset, resolved, coding)

    def procedure(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or common.status_of(res) in SKIP_STATUS:
            return
        entry, coding = self._condition_entry(res.get("code"), self.maps.procedures)
        if entry is None:
            self.issue(res, "Procedure code not in the code maps: not read", coding)
            return
        if "ignore" in entry:
            return
        self._apply(
            res, pid, entry, self.date(res, "performedDateTime", "performedPeriod"), None, coding
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
            source = common.extension(res, EXT_FRACTURE_SOURCE)
            fragility = common.extension(res, EXT_FRAGILITY)
            if isinstance(source, str):
                fracture["source"] = source
            if isinstance(fragility, bool):
                fracture["fragility"] = fragility
            code = str(coding.get("code", "")).replace(".", "").upper()
            seventh = code[6] if coding.get("system") in ICD10 and len(code) >= 7 else ""
            rules = self.maps.observations.get("fracture_events", {})
            subsequent = seventh in rules.get("subsequent_7th", [])
            self.fracture_items[pid].append(
                {"fracture": fracture, "label": common.label(res), "subsequent": subsequent}
            )
        elif "condition" in entry:
            item: dict[str, Any] = {"code": entry["condition"]}
            if onset:
                item["onset"] = onset
            if resolved:
                item["resolved"] = resolved
            if item not in self.lists[pid]["conditions"]:
                self.lists[pid]["conditions"].append(item)
            self.came_from(pid, f"conditions|{item['code']}|{onset or ''}", common.label(res))
        elif "risk_factor" in entry:
            clinical = common.text_of(res.get("clinicalStatus")).lower()
            if not any(s in clinical for s in ("inactive", "resolved", "remission")):
                self.flags[pid][str(entry["risk_factor"])] = True

    def fracture_events(self, pid: str) -> list[dict[str, Any]]:
        """One entry per fracture event: ICD-10-CM subsequent-encounter/sequela codes are not
        new events when an initial one of the same site exists; items of one site within
        ``window_days`` of the event's first date are the same event (earliest date kept)."""
        rules = self.maps.observations.get("fracture_events", {})
        window = int(rules.get("window_days", 0))
        items = sorted(
            self.fracture_items[pid], key=lambda i: (i["fracture"]["date"], i["subsequent"])
        )
        initial_sites = {i["fracture"]["site"] for i in items if not i["subsequent"]}
        events: list[tuple[dict[str, Any], str]] = []
        for item in items:
            fracture, label = item["fracture"], item["label"]
            site = fracture["site"]
            if item["subsequent"] and site in initial_sites:
                self.issues.append(
                    Issue(
                        label,
                        f"{site} fracture: a subsequent-encounter or sequela code, "
                        "counted with the initial event",
                        level="flagged",
                    )
                )
                continue
            same = next(
                (
                    (event, first)
                    for event, first in events
                    if event["site"] == site
                    and common.days_between(first, fracture["date"]) <= window
                ),
                None,
            )
            if same is not None:
                self.came_from(pid, f"fractures|{same[1]}|{site}", label)
                self.issues.append(
                    Issue(
                        label,
                        f"{site} fracture of {fracture['date']}: same event as "
                        f"{same[1]} (within {window} days)",
                        level="flagged",
                    )
                )
                continue
            if item["subsequent"]:
                self.issues.append(
                    Issue(
                        label,
                        f"{site} fracture known only from a subsequent-encounter "
                        "code: its date may be later than the fracture",
                        level="flagged",
                    )
                )
            events.append((fracture, fracture["date"]))
            self.came_from(pid, f"fractures|{fracture['date']}|{site}", label)
        return [event for event, _ in events]

    # ---- medications ---------------------------------------------------------------------

    def _medication_concept(self, res: dict[str, Any]) -> Any:
        concept = res.get("medicationCodeableConcept")
        if concept is not None:
            return concept
        med = res.get("medication")
        if isinstance(med, dict) and "concept" in med:
            return med["concept"]
        ref = res.get("medicationReference") or (
            med.get("reference") if isinstance(med, dict) else None
        )
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return None
        if target.startswith("#"):  # contained: only within this resource
            contained = res.get("contained")
            for item in contained if isinstance(contained, list) else []:
                if (
                    isinstance(item, dict)
                    and item.get("resourceType") == "Medication"
                    and item.get("id") == target[1:]
                ):
                    return item.get("code")
            return None
        found = self.global_meds.get(target)
        return found.get("code") if found else None

    def medication(self, res: dict[str, Any]) -> None:
        pid = self.subject(res)
        if pid is None or common.status_of(res) in SKIP_STATUS:
            return
        concept = self._medication_concept(res)
        drug, coding, by_name = self.drug_of(concept)
        if drug is None:
            self.issue(
                res, f"{res['resourceType']} medication not in the code maps: not read", coding
            )
            return
        if by_name:
            self.issue(
                res,
                f"medication code not in the code maps; read as {drug} by its name",
                coding,
                "flagged",
            )
        kind = res["resourceType"]
        start = (
            self.date(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant")
            if kind != "MedicationRequest"
            else self.date(res, "authoredOn")
        )
        end = None
        period = res.get("effectivePeriod")
        if isinstance(period, dict):
            end = impute_date(period.get("end"))[0]
        if start is None:
            self.issue(res, f"{kind} without a date: not read", coding)
            return
        self.meds[pid][drug].append(
            {
                "kind": kind,
                "start": start,
                "end": end,
                "status": common.status_of(res),
                "adherence": common.extension(res, EXT_ADHERENCE),
                "stop_reason": common.extension(res, EXT_STOP_REASON),
                "label": common.label(res),
            }
        )

    def drug_of(self, concept: Any) -> tuple[str | None, dict[str, Any], bool]:
        codings = common.codings(concept)
        meds = self.maps.medications
        for c in codings:
            if c.get("system") == RXNORM:
                code = str(c.get("code", ""))
                drug = meds.get("ingredients", {}).get(code) or meds.get("products", {}).get(code)
                if drug:
                    return str(drug), c, False
            if c.get("system") == CS_DRUG and c.get("code") in DRUGS:
                return str(c["code"]), c, False
        first = codings[0] if codings else {}
        by_name = self.maps.drug_by_name(common.text_of(concept))
        return by_name, first, by_name is not None

    def courses(self, pid: str) -> list[dict[str, Any]]:
        """One course per drug. For drugs given at intervals, only MedicationAdministration
        dates are doses: a statement or order date is never a dose (a course known only
        from them has no dose dates, and that is reported)."""
        dose_drugs = set(self.maps.medications.get("dosing", {}).get("dose_events", []))
        out = []
        for drug, events in sorted(self.meds[pid].items()):
            events.sort(key=lambda e: e["start"])
            course: dict[str, Any] = {"drug": drug, "start": events[0]["start"]}
            for event in events:
                self.came_from(pid, f"therapies|{drug}|{course['start']}", event["label"])
            ongoing = any(
                e["end"] is None and e["status"] in ("active", "intended", "on-hold")
                for e in events
            )
            ends = [e["end"] or e["start"] for e in events]
            if drug in dose_drugs:
                doses = sorted(
                    {e["start"] for e in events if e["kind"] == "MedicationAdministration"}
                )
                course["doses"] = doses
                if doses:
                    ends.append(doses[-1])
                elif not self._known_without_doses(pid, drug):
                    self.issues.append(
                        Issue(
                            events[0]["label"],
                            f"{drug}: known only from {events[0]['kind']}; no dose dates "
                            "(no MedicationAdministration), so none is assumed",
                            level="flagged",
                        )
                    )
            course["end"] = None if ongoing else max(ends)
            for key in ("adherence", "stop_reason"):
                values = [e[key] for e in events if isinstance(e[key], str)]
                if values:
                    course[key] = values[-1]
            out.append(course)
        return out

    def _known_without_doses(self, pid: str, drug: str) -> bool:
        """Our own export of a course without doses says so in its adherence extension; a
        round trip then adds no flag."""
        return all(isinstance(e["adherence"], str) for e in self.meds[pid][drug])

    # ---- assembly ------------------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for pid, base in self.patients.items():
            try:
                out[pid] = self._record(pid, base)
            except (TypeError, ValueError, AttributeError) as exc:
                self.issues.append(
                    Issue(f"Patient/{pid}", f"malformed: {_why(exc)}: the record is not read")
                )
        return out

    def _record(self, pid: str, base: dict[str, Any]) -> dict[str, Any]:
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
            complete = [m for m in measurements.values() if "bmd" in m or "t_score" in m]
            for m in measurements.values():
                if m not in complete:
                    self.issues.append(
                        Issue(
                            f"Patient/{pid}",
                            f"DXA {when} {m['site']}: a Z-score without a BMD or T-score "
                            "is not a measurement of the record: not read",
                        )
                    )
            if not complete:
                continue
            visit = {"date": when, "device": device, "measurements": complete}
            if isinstance(vfa, dict) and when in vfa:
                visit["vfa"] = vfa[when]
            visits.append(visit)
        if visits:
            record["dxa"] = visits
        frax = []
        for when, entry in sorted(self.frax[pid].items()):
            if "mof" not in entry:
                entry.pop("__labels", None)
                self.issues.append(
                    Issue(f"Patient/{pid}", f"FRAX of {when} has a hip but no MOF value: not read")
                )
                continue
            if "with_bmd" not in entry or "country" not in entry:
                self.issues.append(
                    Issue(
                        f"Patient/{pid}",
                        f"FRAX of {when}: country or with/without BMD not stated; "
                        "recorded as country 'unspecified', without BMD",
                        level="flagged",
                    )
                )
            labels = entry.pop("__labels", [])
            item = {"country": "unspecified", "with_bmd": False, **entry}
            for label in labels:
                self.came_from(pid, f"frax|{when}|{item['with_bmd']}", label)
            frax.append(item)
        if frax:
            record["frax"] = frax
        for name, items in self.lists[pid].items():
            record[name] = items
        fractures = self.fracture_events(pid)
        if fractures:
            record["fractures"] = fractures
        courses = self.courses(pid)
        if courses:
            record["therapies"] = courses
        if self.flags[pid]:
            factors = dict(record.get("risk_factors") or {})
            factors.update(self.flags[pid])
            record["risk_factors"] = factors
        return record


HANDLERS = {
    "Observation": "observation",
    "Condition": "condition",
    "Procedure": "procedure",
    "MedicationStatement": "medication",
    "MedicationRequest": "medication",
    "MedicationAdministration": "medication",
}
CONTEXT_ONLY = {"Bundle", "Medication", "Encounter", "DiagnosticReport", "Practitioner",
                "Organization", "OperationOutcome"}  # fmt: skip


def records_from_resources(resources: Iterable[dict[str, Any]]) -> Conversion:
    """Group resources by Patient and build one record per Patient.

    A resource with a field of the wrong JSON type (``status`` as an array, ``coding`` not a
    list, ...) is reported as refused; it never stops the others."""
    builder = _Builder(codemaps())
    items = list(resources)
    labels: list[str] = []
    for res in items:
        kind = res.get("resourceType")
        labels.append(common.label(res))
        if kind == "Patient":
            full_url = res.get(FULL_URL)
            try:
                builder.patient(res, full_url if isinstance(full_url, str) else None)
            except (MalformedResource, TypeError, AttributeError, ValueError) as exc:
                builder.issue(res, f"malformed: {_why(exc)}: not read")
        elif kind == "Medication" and isinstance(res.get("id"), str):
            builder.global_meds["Medication/" + res["id"]] = res
            if isinstance(res.get(FULL_URL), str):
                builder.global_meds[res[FULL_URL]] = res
    for res in items:
        method = HANDLERS.get(str(res.get("resourceType")))
        if method is None:
            if str(res.get("resourceType")) not in CONTEXT_ONLY | {"Patient"}:
                builder.issue(res, f"{res.get('resourceType')} is not read by osteotarget")
            continue
        try:
            getattr(builder, method)(res)
        except (MalformedResource, TypeError, AttributeError, ValueError) as exc:
            builder.issue(res, f"malformed: {_why(exc)}: not read")
    records = builder.records()
    sources = {pid: {k: list(v) for k, v in builder.prov[pid].items()} for pid in records}
    return Conversion(records, builder.issues, labels, sources)


def _why(exc: Exception) -> str:
    if isinstance(exc, MalformedResource):
        return str(exc)
    return f"a field has the wrong type ({type(exc).__name__})"
