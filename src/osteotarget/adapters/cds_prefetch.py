"""CDS Hooks 2.0 prefetch: the templates, what a hook call brought, and the fallback queries.

A key given as ``null`` means the EHR has no data for it (nothing is fetched); a key left out
is fetched from ``fhirServer`` when the caller may make the service call out; an
OperationOutcome (or a failing query) is tolerated and recorded as data that could not be
read. ``next`` links (of fetched searches and of paged prefetch Bundles) are followed only on
the origin of ``fhirServer`` — the EHR's token is never sent elsewhere — at most
``MAX_PAGES`` pages per query. The behaviour is documented in docs/api.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from osteotarget.adapters.codemaps import LOINC, codemaps

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


def flatten(item: Any) -> list[dict[str, Any]]:
    if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
        return []
    if item["resourceType"] == "Bundle":
        out: list[dict[str, Any]] = []
        for entry in item.get("entry") or []:
            if isinstance(entry, dict):
                out.extend(flatten(entry.get("resource")))
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
        resources = flatten(value)
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
            r for r in flatten(data) if r.get("resourceType") != "OperationOutcome"
        )
        url = _next_link(data)
