"""CDS Hooks (the current specification): discovery, prefetch, and cards from an assessment.

patient-view: one card per alert (indicator by severity), then one summary card with the
risk, targets and next step; each with its source (the guideline profile and the citation)
and a link to the patient page. order-select / order-sign: warnings for the drugs being
ordered (contraindications, course limits, sequence cautions). Suggestions are offered only
where a concrete action exists (a drug to start).

Prefetch (CDS Hooks 2.0) is read by :mod:`osteotarget.adapters.cds_prefetch`; cards name
the data that could not be read. The behaviour is documented in docs/api.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from osteotarget.adapters.cds_prefetch import flatten, prefetch_templates
from osteotarget.adapters.codemaps import RXNORM, codemaps
from osteotarget.adapters.fhir_common import codings as _codings
from osteotarget.adapters.fhir_common import text_of as _text
from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import Alert, Assessment, Recommendation
from osteotarget.model.codes import DRUGS

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


def caveat_text(unread: list[str], refused: int, stored_used: bool) -> str:
    """What the cards must say about data that were present but unread, or not available."""
    parts = []
    if unread:
        parts.append("not read from the EHR: " + ", ".join(unread))
    if refused:
        parts.append(f"{refused} EHR item(s) present but not readable")
    if not parts:
        return ""
    text = "Incomplete data (" + "; ".join(parts) + ")"
    if stored_used:
        text += "; osteotarget's stored record was used alongside"
    return text


def patient_view_cards(
    assessment: Assessment,
    patient_url: str,
    smart_url: str | None = None,
    caveat: str = "",
    notes: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Alert cards (critical first), then the summary card. The summary leads with the most
    urgent item (the first recommendation, as the engine orders them by urgency); when data
    were missing or unread it says so first and never reports a low risk from them."""
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
    if caveat:
        parts.append("Incomplete data")
    next_step = assessment.recommendations[0] if assessment.recommendations else None
    if next_step is not None:
        drug = f" {next_step.regimen[0].drug}" if next_step.regimen else ""
        parts.append(f"Next: {next_step.action}{drug}")
    if assessment.risk is not None:
        category = assessment.risk.category
        if (caveat and category == "low") or not assessment.risk.determined:
            parts.append("fracture risk not determined (data missing)")
        else:
            parts.append(f"fracture risk {category.replace('_', ' ')}")
    t_targets = [t for t in assessment.targets if t.metric == "t_score" and t.value is not None]
    if t_targets:
        t = t_targets[0]
        parts.append(f"target {t.site or ''} T {t.operator} {t.value:g}".replace("  ", " "))
    if not parts:
        parts.append("Osteoporosis assessment available")
    detail_lines = [f"**{caveat}.**", ""] if caveat else []
    if assessment.risk is not None:
        detail_lines += [f"- {r.text}" for r in assessment.risk.reasons]
    detail_lines += [
        f"- Target: {t.metric} {t.operator} {t.value} ({t.rationale})" for t in assessment.targets
    ]
    detail_lines += [f"- {r.action}: {r.rationale}" for r in assessment.recommendations]
    if notes:
        detail_lines += ["", "Read from the EHR with a note:"]
        detail_lines += [f"- {n}" for n in notes[:10]]
    suggestions = [s for s in (_suggestion(assessment, r) for r in assessment.recommendations) if s]
    citations = [c for r in assessment.recommendations for c in r.citations]
    if assessment.risk is not None:
        citations += [c for r in assessment.risk.reasons for c in r.citations]
    cards.append(
        _card(
            assessment,
            "; ".join(parts),
            "warning" if caveat else "info",
            "\n".join(detail_lines) + f"\n\n{assessment.disclaimer}",
            citations,
            links,
            suggestions,
            key="summary",
        )
    )
    return cards


def _order_concept(res: dict[str, Any], orders: list[dict[str, Any]]) -> Any:
    """The medication of a draft order: a CodeableConcept, or a reference to a Medication
    contained in that order (``#id``) or given in the draft orders Bundle."""
    concept = res.get("medicationCodeableConcept")
    med = res.get("medication")
    if concept is None and isinstance(med, dict):
        concept = med.get("concept")
    if concept is not None:
        return concept
    ref = res.get("medicationReference") or (
        med.get("reference") if isinstance(med, dict) else None
    )
    target = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        pool = res.get("contained")
        pool = pool if isinstance(pool, list) else []
        wanted = target[1:]
    else:
        pool, wanted = orders, target.rsplit("/", 1)[-1]
    for item in pool:
        if (
            isinstance(item, dict)
            and item.get("resourceType") == "Medication"
            and item.get("id") == wanted
        ):
            return item.get("code")
    return None


def drugs_in_orders(draft_orders: Any) -> list[str]:
    """Osteoporosis drugs among the draft orders (a Bundle of MedicationRequests)."""
    maps = codemaps()
    drugs: list[str] = []
    orders = flatten(draft_orders)
    for res in orders:
        if res.get("resourceType") not in ("MedicationRequest", "MedicationStatement"):
            continue
        concept = _order_concept(res, orders)
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


def _about_another_drug(message: str, drug: str) -> bool:
    lowered = message.lower()
    named = [d for d in DRUGS if d.replace("_", " ") in lowered or d in lowered]
    return bool(named) and drug not in named


def order_cards(
    assessment: Assessment, drugs: list[str], patient_url: str, caveat: str = ""
) -> list[dict[str, Any]]:
    """Cards for the osteoporosis drugs being ordered: exclusions, cautions, and the order
    alerts about that drug. A contraindication is shown once (the exclusion card), never
    again as an alert card."""
    links = [{"label": "Open in osteotarget", "url": patient_url, "type": "absolute"}]
    cards = []
    for drug in drugs:
        excluded = False
        for option in assessment.options:
            if not option.regimen or option.regimen[0].drug != drug:
                continue
            if not option.eligible and option.excluded_because:
                excluded = True
                reasons = "; ".join(option.excluded_because)
                cards.append(
                    _card(
                        assessment,
                        f"{drug}: not recommended for this patient — {reasons}",
                        "critical"
                        if any("contraindicat" in r for r in option.excluded_because)
                        else "warning",
                        f"{drug} is excluded because: {reasons}"
                        + (f"\n\n{caveat}." if caveat else ""),
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
            if alert.code not in ORDER_ALERTS:
                continue
            if "contraindication" in alert.code and _about_another_drug(alert.message, drug):
                continue  # another drug's contraindication is not this order's
            if excluded and (
                "contraindication" in alert.code or f"{drug} excluded" in alert.message
            ):
                continue
            card = _alert_card(assessment, alert, links)
            card["summary"] = _summary(f"{drug} order: {alert.message}")
            card["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{card['uuid']}|{drug}"))
            cards.append(card)
    if cards and caveat:
        cards.append(
            _card(
                assessment,
                f"{', '.join(drugs)} order check: {caveat}"[:SUMMARY_LIMIT],
                "warning",
                caveat + ".",
                [],
                links,
                key="order|caveat",
            )
        )
    return cards
