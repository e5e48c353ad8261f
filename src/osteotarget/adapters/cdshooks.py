"""CDS Hooks (the current specification): discovery, prefetch, and cards from an assessment.

patient-view: one card per alert (indicator by severity), then one summary card with the
risk, targets and next step; each with its source (the guideline profile and the citation)
and a link to the patient page. order-select / order-sign: warnings for the drugs being
ordered (contraindications, course limits, sequence cautions). Suggestions are offered only
where a concrete action exists (a drug to start).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from osteotarget.adapters.codemaps import LOINC, RXNORM, codemaps
from osteotarget.adapters.fhir_in import _codings, _text
from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import Alert, Assessment, Recommendation

SUMMARY_LIMIT = 140
PATIENT_VIEW = "osteotarget-patient-view"
ORDER_SELECT = "osteotarget-order-select"
ORDER_SIGN = "osteotarget-order-sign"
INDICATOR = {"critical": "critical", "warning": "warning", "info": "info"}
ORDER_ALERTS = {
    "cardiovascular_contraindication",
    "anabolic_course_limit",
    "renal_contraindication",
    "sequence_caution",
    "hypocalcaemia",
    "vitamin_d_low",
    "denosumab_stopped_without_follow_on",
}
SUGGEST_ACTIONS = {"start", "switch", "escalate", "add", "consolidate", "follow_on", "resume"}


def prefetch_templates() -> dict[str, str]:
    maps = codemaps()
    obs_codes = [
        *maps.observations.get("dxa", {}),
        *maps.observations.get("frax", {}),
        *maps.observations.get("vital", {}),
    ]
    lab_codes = list(maps.labs.get("loinc", {}))
    pid = "{{context.patientId}}"
    return {
        "patient": f"Patient/{pid}",
        "dxa": f"Observation?patient={pid}&code=" + ",".join(f"{LOINC}|{c}" for c in obs_codes),
        "labs": f"Observation?patient={pid}&code=" + ",".join(f"{LOINC}|{c}" for c in lab_codes),
        "conditions": f"Condition?patient={pid}",
        "medicationStatements": f"MedicationStatement?patient={pid}",
        "medicationRequests": f"MedicationRequest?patient={pid}",
        "medicationAdministrations": f"MedicationAdministration?patient={pid}",
        "procedures": f"Procedure?patient={pid}",
    }


def discovery() -> dict[str, Any]:
    templates = prefetch_templates()
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": PATIENT_VIEW,
                "title": "osteotarget: treat-to-target osteoporosis",
                "description": "Fracture risk, bone density targets, ranked options and the "
                "next step for osteoporosis care (decision support; never orders).",
                "prefetch": templates,
                "usageRequirements": "Reads DXA, FRAX, labs, fractures and osteoporosis "
                "medications; falls back to the FHIR server when prefetch is missing.",
            },
            {
                "hook": "order-select",
                "id": ORDER_SELECT,
                "title": "osteotarget: osteoporosis drug order check",
                "description": "Warns on contraindications, course limits and sequence "
                "cautions for osteoporosis drugs being selected.",
                "prefetch": templates,
            },
            {
                "hook": "order-sign",
                "id": ORDER_SIGN,
                "title": "osteotarget: osteoporosis drug order check at signing",
                "description": "The same checks as order-select, before the order is signed.",
                "prefetch": templates,
            },
        ]
    }


# ---- prefetch and FHIR server fallback --------------------------------------------------


def _flatten(item: Any) -> list[dict[str, Any]]:
    if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
        return []
    if item["resourceType"] == "Bundle":
        out: list[dict[str, Any]] = []
        for entry in item.get("entry") or []:
            if isinstance(entry, dict):
                out.extend(_flatten(entry.get("resource")))
        return out
    return [item]


def resources_from_prefetch(prefetch: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Resources found in prefetch, and the template keys that were missing."""
    resources: list[dict[str, Any]] = []
    missing = []
    for key in prefetch_templates():
        if prefetch.get(key) is None:
            missing.append(key)
        else:
            resources.extend(_flatten(prefetch[key]))
    return resources, missing


def fetch_missing(
    fhir_server: str,
    access_token: str | None,
    patient_id: str,
    missing: list[str],
    timeout: float,
) -> list[dict[str, Any]]:
    """Query the EHR's FHIR server for the prefetch keys it did not send (the spec's fallback)."""
    headers = {"Accept": "application/fhir+json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    templates = prefetch_templates()
    out: list[dict[str, Any]] = []
    base = fhir_server.rstrip("/")
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for key in missing:
            query = templates[key].replace("{{context.patientId}}", patient_id)
            response = client.get(f"{base}/{query}")
            if response.status_code == 404:
                continue
            response.raise_for_status()
            bundle = response.json()
            out.extend(_flatten(bundle))
            next_links = [
                link.get("url")
                for link in (bundle.get("link") or [])
                if isinstance(link, dict) and link.get("relation") == "next"
            ]
            pages = 0
            while next_links and next_links[0] and pages < 20:
                pages += 1
                page = client.get(str(next_links[0]))
                page.raise_for_status()
                data = page.json()
                out.extend(_flatten(data))
                next_links = [
                    link.get("url")
                    for link in (data.get("link") or [])
                    if isinstance(link, dict) and link.get("relation") == "next"
                ]
    return out


# ---- cards --------------------------------------------------------------------------------


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) < SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 2].rstrip() + "…"


def _source(assessment: Assessment, citations: list[str]) -> dict[str, Any]:
    source: dict[str, Any] = {
        "label": f"osteotarget · {assessment.profile} profile",
        "topic": {
            "system": "https://osteotarget.org/fhir/CodeSystem/card-topic",
            "code": "osteoporosis",
            "display": "Osteoporosis treat-to-target",
        },
    }
    kb = knowledge()
    for key in citations:
        if key in kb.citations:
            cite = kb.citations[key]
            source["label"] = f"osteotarget · {assessment.profile} · {cite.short()}"[:200]
            if cite.doi:
                source["url"] = f"https://doi.org/{cite.doi}"
            elif cite.url.startswith("http"):
                source["url"] = cite.url
            break
    return source


def _card(
    assessment: Assessment,
    summary: str,
    indicator: str,
    detail: str,
    citations: list[str],
    links: list[dict[str, Any]],
    suggestions: list[dict[str, Any]] | None = None,
    key: str = "",
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{assessment.patient_id}|{assessment.as_of}|{key}")
        ),
        "summary": _summary(summary),
        "indicator": indicator,
        "detail": detail,
        "source": _source(assessment, citations),
        "links": links,
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    return card


def _alert_card(
    assessment: Assessment, alert: Alert, links: list[dict[str, Any]]
) -> dict[str, Any]:
    cites = ", ".join(alert.citations)
    detail = alert.message + (f"\n\nBasis: {cites}" if cites else "")
    return _card(
        assessment,
        alert.message,
        INDICATOR[alert.severity],
        detail,
        alert.citations,
        links,
        key=f"alert|{alert.code}|{alert.message}",
    )


def _suggestion(assessment: Assessment, rec: Recommendation) -> dict[str, Any] | None:
    if rec.action not in SUGGEST_ACTIONS or not rec.regimen:
        return None
    drug = rec.regimen[0].drug
    codes = [c for c, d in codemaps().medications.get("ingredients", {}).items() if d == drug]
    concept: dict[str, Any] = {"text": drug}
    if codes:
        concept["coding"] = [{"system": RXNORM, "code": codes[0], "display": drug}]
    return {
        "label": f"Propose {drug} ({rec.action})"[:80],
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{assessment.patient_id}|suggest|{drug}")),
        "actions": [
            {
                "type": "create",
                "description": f"Draft a {drug} order for the clinician to review",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "subject": {"reference": f"Patient/{assessment.patient_id}"},
                    "medicationCodeableConcept": concept,
                },
            }
        ],
    }


def patient_view_cards(
    assessment: Assessment, patient_url: str, smart_url: str | None = None
) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = [
        {"label": "Open in osteotarget", "url": patient_url, "type": "absolute"}
    ]
    if smart_url:
        links.append({"label": "Launch osteotarget (SMART)", "url": smart_url, "type": "smart"})
    order = {"critical": 0, "warning": 1, "info": 2}
    cards = [
        _alert_card(assessment, alert, links)
        for alert in sorted(assessment.alerts, key=lambda a: order[a.severity])
    ]
    parts = []
    if assessment.risk is not None:
        parts.append(f"Fracture risk {assessment.risk.category.replace('_', ' ')}")
    t_targets = [t for t in assessment.targets if t.metric == "t_score" and t.value is not None]
    if t_targets:
        t = t_targets[0]
        parts.append(f"target {t.site or ''} T {t.operator} {t.value:g}".replace("  ", " "))
    next_step = assessment.recommendations[0] if assessment.recommendations else None
    if next_step is not None:
        parts.append(f"next: {next_step.action}")
    if not parts:
        parts.append("Osteoporosis assessment available")
    detail_lines = []
    if assessment.risk is not None:
        detail_lines += [f"- {r.text}" for r in assessment.risk.reasons]
    detail_lines += [
        f"- Target: {t.metric} {t.operator} {t.value} ({t.rationale})" for t in assessment.targets
    ]
    detail_lines += [f"- {r.action}: {r.rationale}" for r in assessment.recommendations]
    suggestions = [s for s in (_suggestion(assessment, r) for r in assessment.recommendations) if s]
    citations = [c for r in assessment.recommendations for c in r.citations]
    if assessment.risk is not None:
        citations += [c for r in assessment.risk.reasons for c in r.citations]
    cards.append(
        _card(
            assessment,
            "; ".join(parts),
            "info",
            "\n".join(detail_lines) + f"\n\n{assessment.disclaimer}",
            citations,
            links,
            suggestions,
            key="summary",
        )
    )
    return cards


def drugs_in_orders(draft_orders: Any) -> list[str]:
    """Osteoporosis drugs among the draft orders (a Bundle of MedicationRequests)."""
    maps = codemaps()
    drugs: list[str] = []
    for res in _flatten(draft_orders):
        if res.get("resourceType") not in ("MedicationRequest", "MedicationStatement"):
            continue
        concept = res.get("medicationCodeableConcept") or (res.get("medication") or {}).get(
            "concept"
        )
        drug = None
        for c in _codings(concept):
            if c.get("system") == RXNORM:
                code = str(c.get("code"))
                drug = maps.medications["ingredients"].get(code) or maps.medications.get(
                    "products", {}
                ).get(code)
                if drug:
                    break
        drug = drug or maps.drug_by_name(_text(concept))
        if drug and drug not in drugs:
            drugs.append(str(drug))
    return drugs


def order_cards(assessment: Assessment, drugs: list[str], patient_url: str) -> list[dict[str, Any]]:
    links = [{"label": "Open in osteotarget", "url": patient_url, "type": "absolute"}]
    cards = []
    for drug in drugs:
        for option in assessment.options:
            if not option.regimen or option.regimen[0].drug != drug:
                continue
            if not option.eligible and option.excluded_because:
                reasons = "; ".join(option.excluded_because)
                cards.append(
                    _card(
                        assessment,
                        f"{drug}: not recommended for this patient — {reasons}",
                        "critical"
                        if any("contraindicat" in r for r in option.excluded_because)
                        else "warning",
                        f"{drug} is excluded because: {reasons}",
                        option.citations,
                        links,
                        key=f"order|{drug}|excluded",
                    )
                )
            for caution in option.cautions:
                summary = caution if caution.startswith(f"{drug}:") else f"{drug}: {caution}"
                cards.append(
                    _card(
                        assessment,
                        summary,
                        "warning",
                        caution,
                        option.citations,
                        links,
                        key=f"order|{drug}|{caution}",
                    )
                )
            break
        for alert in assessment.alerts:
            if alert.code in ORDER_ALERTS:
                card = _alert_card(assessment, alert, links)
                card["summary"] = _summary(f"{drug} order: {alert.message}")
                card["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{card['uuid']}|{drug}"))
                cards.append(card)
    return cards
