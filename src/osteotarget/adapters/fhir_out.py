"""Records and assessments out as FHIR R4, validated with fhir.resources before they leave.

An assessment becomes a RiskAssessment (risk category and reasons), one Goal per target,
a CarePlan (intent ``proposal``: decision support never orders) and one DetectedIssue per
critical alert. A record becomes Patient, Observation, Condition and MedicationStatement /
MedicationAdministration resources; fields with no standard code travel in the
osteotarget ``record-extras`` extension so a round trip loses nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from osteotarget.adapters.codemaps import ICD10, LOINC, RXNORM, SNOMED, UCUM, codemaps
from osteotarget.adapters.fhir_common import (
    CS_BASE,
    CS_DRUG,
    EXT_ADHERENCE,
    EXT_EXTRAS,
    EXT_FRACTURE_SOURCE,
    EXT_FRAGILITY,
    EXT_STOP_REASON,
    EXT_WITH_BMD,
    LEFT,
    RIGHT,
)
from osteotarget.knowledge import knowledge
from osteotarget.model import Patient
from osteotarget.model.assessment import Assessment, RegimenStep

NAMESPACE = uuid.UUID("6f1f4f0e-3c55-4b8e-9a55-0d0f6b1b7a10")
MANUFACTURER_NAMES = {
    "hologic": "Hologic",
    "ge_lunar": "GE Lunar",
    "norland": "Norland",
    "other": "Other",
}
SEVERITY = {"critical": "high", "warning": "moderate", "info": "low"}


def _uuid(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '|'.join(parts))}"


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Parse with fhir.resources (R4B models, wire-compatible with R4) and dump back."""
    model = get_fhir_model_class(resource["resourceType"])
    parsed = model.model_validate(resource)
    out: dict[str, Any] = json.loads(parsed.model_dump_json(exclude_none=True))
    return out


def _bundle(entries: list[tuple[str, dict[str, Any]]], bundle_id: str) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": validated(res)} for url, res in entries],
    }
    return validated(bundle)


def _drug_coding(drug: str) -> dict[str, Any]:
    """RxNorm ingredient (with RxNorm's name as display), else the osteotarget drug code."""
    meds = codemaps().medications
    for code, name in meds.get("ingredients", {}).items():
        if name == drug:
            display = meds.get("display", {}).get(drug, drug)
            return {"system": RXNORM, "code": code, "display": display}
    return {"system": CS_DRUG, "code": drug, "display": drug.replace("_", " ")}


def _concept(drug: str) -> dict[str, Any]:
    coding = _drug_coding(drug)
    return {"coding": [coding], "text": str(coding["display"])}


def _regimen_text(regimen: list[RegimenStep] | None) -> str:
    if not regimen:
        return ""
    return " then ".join(f"{s.drug}" + (f" {s.months} mo" if s.months else "") for s in regimen)


# ---- record -> FHIR ------------------------------------------------------------------------


def record_to_bundle(patient: Patient, base: str | None = None) -> dict[str, Any]:
    """The record as a collection Bundle. Every fullUrl is absolute: with ``base`` (the FHIR
    base of this service) the Patient's is ``{base}/Patient/{id}`` and references are
    relative to it; without, the Patient is a ``urn:uuid`` and referenced by it."""
    maps = codemaps()
    pid = patient.id
    patient_url = f"{base.rstrip('/')}/Patient/{pid}" if base else _uuid("patient", pid)
    subject = {"reference": f"Patient/{pid}" if base else patient_url}
    entries: list[tuple[str, dict[str, Any]]] = []

    def add(kind: str, key: str, resource: dict[str, Any]) -> None:
        rid = str(uuid.uuid5(NAMESPACE, f"{pid}|{kind}|{key}"))
        entries.append((f"urn:uuid:{rid}", {"resourceType": kind, "id": rid, **resource}))

    extras = patient.model_dump(
        mode="json", include={"menopause", "falls", "function", "risk_factors"}, exclude_none=True
    )
    extras_conditions = []
    z_extra: dict[str, float] = {}
    patient_res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    entries.append((patient_url, patient_res))

    export_codes = {
        (v["site"], v["export"]): code
        for code, v in maps.observations.get("dxa", {}).items()
        if "export" in v
    }
    for visit in patient.dxa:
        device = MANUFACTURER_NAMES[visit.device.manufacturer]
        if visit.device.model:
            device += f" {visit.device.model}"
        for m in visit.measurements:
            for kind in ("bmd", "t_score", "z_score"):
                value = getattr(m, kind)
                if value is None:
                    continue
                code = export_codes.get((m.site, kind))
                if code is None:
                    if kind == "z_score":  # no Z-score code for this site: the extension
                        z_key = f"{visit.date}|{m.site}|{m.side or ''}|{m.region or ''}"
                        z_extra[z_key] = value
                    continue
                unit = {"bmd": "g/cm2", "t_score": "{T-score}", "z_score": "{Z-score}"}[kind]
                res: dict[str, Any] = {
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "imaging",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [{"system": LOINC, "code": code}],
                        "text": f"{m.site} {kind}",
                    },
                    "subject": subject,
                    "effectiveDateTime": visit.date.isoformat(),
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                    "device": {"display": device},
                }
                if visit.device.facility:
                    res["performer"] = [{"display": visit.device.facility}]
                body_site: dict[str, Any] = {}
                if m.side:
                    body_site["coding"] = [
                        {
                            "system": SNOMED,
                            "code": LEFT if m.side == "left" else RIGHT,
                            "display": m.side,
                        }
                    ]
                if m.region:
                    body_site["text"] = m.region
                if body_site:
                    res["bodySite"] = body_site
                add("Observation", f"dxa|{visit.date}|{m.site}|{m.side}|{m.region}|{kind}", res)
    frax_codes = {v["outcome"]: code for code, v in maps.observations.get("frax", {}).items()}
    for fx in patient.frax:
        for outcome, value in (("mof", fx.mof), ("hip", fx.hip)):
            if value is None:
                continue
            add(
                "Observation",
                f"frax|{fx.date}|{outcome}",
                {
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": frax_codes[outcome]}]},
                    "subject": subject,
                    "effectiveDateTime": fx.date.isoformat(),
                    "valueQuantity": {"value": value, "unit": "%", "system": UCUM, "code": "%"},
                    "method": {"text": fx.country},
                    "extension": [{"url": EXT_WITH_BMD, "valueBoolean": fx.with_bmd}],
                },
            )
    vital_codes = {
        v["field"]: (code, v["unit"]) for code, v in maps.observations.get("vital", {}).items()
    }
    for field_name in ("height_cm", "weight_kg"):
        value = getattr(patient, field_name)
        if value is not None:
            code, unit = vital_codes[field_name]
            add(
                "Observation",
                field_name,
                {
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": code}]},
                    "subject": subject,
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                },
            )
    ucum = {v: k for k, v in reversed(list(maps.labs.get("units", {}).items()))}
    for i, lab in enumerate(patient.labs):
        add(
            "Observation",
            f"lab|{i}|{lab.date}|{lab.test}",
            {
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "laboratory",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [{"system": LOINC, "code": maps.labs["export"][lab.test]}],
                    "text": lab.test,
                },
                "subject": subject,
                "effectiveDateTime": lab.date.isoformat(),
                "valueQuantity": {
                    "value": lab.value,
                    "unit": lab.unit,
                    "system": UCUM,
                    "code": ucum.get(lab.unit, lab.unit),
                },
            },
        )
    icd: dict[str, str] = {}
    for code, entry in maps.conditions.get("icd10", {}).items():
        for value in entry.values():
            icd.setdefault(str(value), code)

    def icd_coding(value: str) -> dict[str, Any] | None:
        code = icd.get(value)
        if code is None:
            return None
        dotted = code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
        return {"system": ICD10[0], "code": dotted, "display": value}

    for i, fr in enumerate(patient.fractures):
        coding = icd_coding(fr.site)
        add(
            "Condition",
            f"fracture|{i}|{fr.date}|{fr.site}",
            {
                "code": {"coding": [coding] if coding else [], "text": f"{fr.site} fracture"},
                "subject": subject,
                "onsetDateTime": fr.date.isoformat(),
                "extension": [
                    {"url": EXT_FRACTURE_SOURCE, "valueString": fr.source},
                    {"url": EXT_FRAGILITY, "valueBoolean": fr.fragility},
                ],
            },
        )
    for i, cond in enumerate(patient.conditions):
        coding = icd_coding(cond.code)
        if coding is None:
            extras_conditions.append(cond.model_dump(mode="json", exclude_none=True))
            continue
        res = {"code": {"coding": [coding], "text": cond.code}, "subject": subject}
        if cond.onset:
            res["onsetDateTime"] = cond.onset.isoformat()
        if cond.resolved:
            res["abatementDateTime"] = cond.resolved.isoformat()
        add("Condition", f"condition|{i}|{cond.code}", res)
    dose_drugs = set(maps.medications.get("dosing", {}).get("dose_events", []))
    for i, course in enumerate(patient.therapies):
        period: dict[str, Any] = {"start": course.start.isoformat()}
        if course.end:
            period["end"] = course.end.isoformat()
        ext = [{"url": EXT_ADHERENCE, "valueString": course.adherence}]
        if course.stop_reason:
            ext.append({"url": EXT_STOP_REASON, "valueString": course.stop_reason})
        add(
            "MedicationStatement",
            f"therapy|{i}|{course.drug}|{course.start}",
            {
                "status": "active" if course.end is None else "completed",
                "medicationCodeableConcept": _concept(course.drug),
                "subject": subject,
                "effectivePeriod": period,
                "extension": ext,
            },
        )
        if course.drug in dose_drugs:
            for dose in course.doses:
                add(
                    "MedicationAdministration",
                    f"dose|{i}|{course.drug}|{dose}",
                    {
                        "status": "completed",
                        "medicationCodeableConcept": _concept(course.drug),
                        "subject": subject,
                        "effectiveDateTime": dose.isoformat(),
                    },
                )
    if z_extra:
        extras["dxa_z"] = z_extra
    vfa = {v.date.isoformat(): v.vfa.model_dump(mode="json") for v in patient.dxa if v.vfa}
    if vfa:
        extras["dxa_vfa"] = vfa
    if extras_conditions:
        extras["conditions"] = extras_conditions
    if extras:
        patient_res["extension"] = [
            {"url": EXT_EXTRAS, "valueString": json.dumps(extras, sort_keys=True)}
        ]
    return _bundle(entries, str(uuid.uuid5(NAMESPACE, f"record|{pid}")))


# ---- assessment -> FHIR --------------------------------------------------------------------


def _value(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _authority(keys: list[str]) -> str | None:
    """DetectedIssue.reference is a URI: the first citation with a DOI or a web address."""
    citations = knowledge().citations
    for key in keys:
        cite = citations.get(key)
        if cite is None:
            continue
        if cite.doi:
            return f"https://doi.org/{cite.doi}"
        if cite.url.startswith(("https://", "http://")):
            return str(cite.url)
    return None


def _citation_text(keys: list[str], assessment: Assessment) -> list[dict[str, Any]]:
    texts = {c.key: c.text for c in assessment.citations}
    return [{"text": f"[{k}] {texts.get(k, '')}".strip()} for k in keys]


def assessment_to_bundle(assessment: Assessment) -> dict[str, Any]:
    pid = assessment.patient_id
    subject = {"reference": f"Patient/{pid}"}
    key = f"{pid}|{assessment.as_of}|{assessment.profile}"
    entries: list[tuple[str, dict[str, Any]]] = []
    when = assessment.as_of.isoformat()

    risk_url = _uuid(key, "risk")
    risk: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": subject,
        "occurrenceDateTime": when,
        "method": {
            "coding": [{"system": CS_BASE + "profile", "code": assessment.profile}],
            "text": f"osteotarget {assessment.engine_version}, "
            f"knowledge {assessment.knowledge_version}",
        },
    }
    if assessment.risk is not None:
        risk["prediction"] = [
            {
                "outcome": {"text": "fragility fracture"},
                "qualitativeRisk": {
                    "coding": [
                        {"system": CS_BASE + "risk-category", "code": assessment.risk.category}
                    ],
                    "text": assessment.risk.headline,
                },
            }
        ]
        risk["basis"] = []
        notes = [{"text": r.text} for r in assessment.risk.reasons]
        if notes:
            risk["note"] = notes
    else:
        risk["note"] = [{"text": "risk category not determined by this engine version"}]
    risk.pop("basis", None)
    entries.append((risk_url, risk))

    export_t = {
        v["site"]: code
        for code, v in codemaps().observations.get("dxa", {}).items()
        if v.get("export") == "t_score"
    }
    goal_urls = []
    for i, target in enumerate(assessment.targets):
        url = _uuid(key, "goal", str(i))
        goal_urls.append(url)
        measure: dict[str, Any] = {"text": f"{target.site or ''} {target.metric}".strip()}
        if target.metric == "t_score" and target.site in export_t:
            measure["coding"] = [{"system": LOINC, "code": export_t[target.site]}]
        detail: dict[str, Any] = {"measure": measure}
        if target.value is not None:
            quantity: dict[str, Any] = {"value": target.value}
            if target.operator in ("<", "<=", ">=", ">"):
                quantity["comparator"] = target.operator
            detail["detailQuantity"] = quantity
        overdue = target.by is not None and target.by < assessment.as_of
        if target.by is not None:
            detail["dueDate"] = target.by.isoformat()
        goal: dict[str, Any] = {
            "resourceType": "Goal",
            "lifecycleStatus": "proposed",
            "description": {
                "text": f"{target.metric} {target.operator} {_value(target.value)}".strip()
                + f" — {target.rationale}"
            },
            "subject": subject,
            "startDate": when,
            "target": [detail],
        }
        if target.met is not None:
            goal["achievementStatus"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                        "code": "achieved" if target.met else "not-achieved",
                    }
                ]
            }
        if target.citations:
            goal["note"] = _citation_text(target.citations, assessment)
        if overdue and target.by is not None:
            # due before this assessment: the goal started earlier, so no startDate after
            # its due date (Goal.startDate would otherwise be later than target.dueDate)
            goal.pop("startDate")
            goal.setdefault("note", []).append(
                {"text": f"due {target.by.isoformat()}, before this assessment ({when})"}
            )
        entries.append((url, goal))

    activities = []
    for rec in assessment.recommendations:
        detail = {
            "status": "not-started",
            "description": f"{rec.action}: {_regimen_text(rec.regimen)} — {rec.rationale}".replace(
                ":  —", " —"
            ),
        }
        if rec.regimen:
            detail["kind"] = "MedicationRequest"
            detail["productCodeableConcept"] = _concept(rec.regimen[0].drug)
        if rec.when is not None:
            detail["scheduledString"] = rec.when.isoformat()
        activities.append({"detail": detail})
    monitoring = assessment.monitoring
    for label, value in (
        ("next DXA", monitoring.next_dxa),
        ("next dose", monitoring.next_dose),
        ("next bone turnover markers", monitoring.next_btm),
    ):
        if value is not None:
            activities.append(
                {
                    "detail": {
                        "status": "scheduled",
                        "description": label,
                        "scheduledString": value.isoformat(),
                    }
                }
            )
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "proposal",
        "title": "osteotarget treat-to-target plan",
        "description": assessment.disclaimer,
        "subject": subject,
        "created": when,
    }
    if goal_urls:
        careplan["goal"] = [{"reference": u} for u in goal_urls]
    if activities:
        careplan["activity"] = activities
    entries.append((_uuid(key, "careplan"), careplan))

    for i, alert in enumerate(assessment.alerts):
        if alert.severity != "critical":
            continue
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "final",
            "severity": SEVERITY[alert.severity],
            "code": {
                "coding": [{"system": CS_BASE + "alert", "code": alert.code}],
                "text": alert.code,
            },
            "patient": subject,
            "identifiedDateTime": when,
            "detail": alert.message,
        }
        authority = _authority(alert.citations)
        if authority:
            issue["reference"] = authority
        entries.append((_uuid(key, "issue", str(i)), issue))
    return _bundle(entries, str(uuid.uuid5(NAMESPACE, f"assessment|{key}")))
