"""CDS Hooks (the current specification): discovery, prefetch, and cards from an assessment.

patient-view: one card per alert (indicator by severity), then one summary card with the
risk, targets and next step; each with its source (the guideline profile and the citation)
and a link to the patient page. order-select / order-sign: warnings for the drugs being
ordered (contraindications, course limits, sequence cautions). Suggestions are offered only
where a concrete action exists (a drug to start).

Prefetch follows the CDS Hooks 2.0 specification: a key given as ``null`` means the EHR has
no data for it (nothing is fetched); a key left out is fetched from ``fhirServer`` when the
caller may make the service call out; an OperationOutcome (or a failing query) is tolerated
and named on the cards as data that could not be read. ``next`` links are followed only on
the origin of ``fhirServer`` (the EHR's token is never sent elsewhere), at most
``MAX_PAGES`` pages per query. The behaviour is documented in docs/api.md.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from osteotarget.adapters.codemaps import LOINC, RXNORM, codemaps
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
MAX_PAGES = 20
# What each prefetch key holds, in the words a card uses when it could not be read.
KEY_WORDS = {
    "patient": "the Patient",
    "dxa": "DXA and FRAX results",
    "labs": "laboratory results",
    "conditions": "conditions and fractures",
    "medicationStatements": "medication statements",
    "medicationRequests": "medication orders",
    "medicationAdministrations": "medication administrations (doses)",
    "procedures": "procedures",
}


class _NoRequestLines(logging.Filter):
    """httpx logs each request line (URL with the patient id) at INFO: never kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request:")


logging.getLogger("httpx").addFilter(_NoRequestLines())


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


@dataclass
class Gathered:
    """What a hook call could read: resources, keys with no data, keys that failed."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # left out: fetch from fhirServer
    empty: list[str] = field(default_factory=list)  # null: the EHR has no data
    failed: dict[str, str] = field(default_factory=dict)  # key -> why it could not be read
    next_pages: dict[str, str] = field(default_factory=dict)  # key -> a paged prefetch's next

    def pages_not_followed(self) -> None:
        """The caller may not make this service call out: a paged prefetch stays partial."""
        for key in self.next_pages:
            self.failed[key] = "further pages of the prefetch were not read"
        self.next_pages.clear()

    def unread_words(self) -> list[str]:
        keys = [
            k for k in KEY_WORDS if k in self.failed or k in self.missing or k in self.next_pages
        ]
        return [KEY_WORDS[k] for k in keys]


def _outcome_text(item: dict[str, Any]) -> str:
    issues = item.get("issue")
    texts = []
    for issue in issues if isinstance(issues, list) else []:
        if isinstance(issue, dict):
            details = issue.get("details")
            text = details.get("text") if isinstance(details, dict) else None
            texts.append(str(text or issue.get("diagnostics") or issue.get("code") or ""))
    return "; ".join(t for t in texts if t)[:200] or "OperationOutcome"


def resources_from_prefetch(prefetch: Mapping[str, Any]) -> Gathered:
    """Resources found in prefetch; keys left out, keys null (no data), keys that failed."""
    found = Gathered()
    for key in prefetch_templates():
        if key not in prefetch:
            found.missing.append(key)
            continue
        value = prefetch[key]
        if value is None:
            found.empty.append(key)
            continue
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            found.failed[key] = "not a FHIR resource"
            continue
        if value["resourceType"] == "OperationOutcome":
            found.failed[key] = _outcome_text(value)
            continue
        resources = _flatten(value)
        following = _next_link(value)
        if following is not None:
            found.next_pages[key] = following
        outcomes = [r for r in resources if r.get("resourceType") == "OperationOutcome"]
        if outcomes and len(outcomes) == len(resources):
            found.failed[key] = _outcome_text(outcomes[0])
        found.resources.extend(r for r in resources if r.get("resourceType") != "OperationOutcome")
    return found


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _next_link(bundle: Any) -> str | None:
    links = bundle.get("link") if isinstance(bundle, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def fetch_missing(
    fhir_server: str,
    access_token: str | None,
    patient_id: str,
    gathered: Gathered,
    timeout: float,
) -> None:
    """Query the EHR's FHIR server for the prefetch keys it left out (the spec's fallback).

    A query that fails (HTTP error, not JSON, an OperationOutcome) is recorded in
    ``gathered.failed`` and the others go on. ``next`` links are followed only on the
    fhirServer's origin, at most MAX_PAGES pages; one elsewhere is recorded as a failure and
    never requested (the bearer token would go with it)."""
    headers = {"Accept": "application/fhir+json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    templates = prefetch_templates()
    base = fhir_server.rstrip("/")
    origin = _origin(base)
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=False) as client:
        for key in list(gathered.missing):
            query = templates[key].replace("{{context.patientId}}", patient_id)
            _read_pages(client, origin, key, f"{base}/{query}", 0, gathered)
            gathered.missing.remove(key)
        for key, url in list(gathered.next_pages.items()):
            _read_pages(client, origin, key, url, 1, gathered)
            del gathered.next_pages[key]


def _read_pages(
    client: httpx.Client,
    origin: tuple[str, str, int | None],
    key: str,
    url: str | None,
    pages: int,
    gathered: Gathered,
) -> None:
    while url is not None:
        if _origin(url) != origin:
            gathered.failed[key] = "a next page on another server was not followed"
            return
        if pages >= MAX_PAGES:
            gathered.failed[key] = f"more than {MAX_PAGES} pages: the rest not read"
            return
        pages += 1
        try:
            response = client.get(url)
            if response.status_code == 404 and key == "patient":
                gathered.failed[key] = "the Patient was not found"
                return
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            gathered.failed[key] = f"the query failed ({status or type(exc).__name__})"
            return
        if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
            gathered.failed[key] = _outcome_text(data)
            return
        gathered.resources.extend(
            r for r in _flatten(data) if r.get("resourceType") != "OperationOutcome"
        )
        url = _next_link(data)


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
        if caveat and category == "low":
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
    orders = _flatten(draft_orders)
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
