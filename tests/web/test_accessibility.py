"""WCAG 2.1 AA with axe-core (the copy packaged in axe-playwright-python) on every page,
in real Chromium; and the API docs render from packaged assets with no outside request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Clinic, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]
OVERDUE = "example-denosumab-overdue"
PAGES = [
    "/",
    "/login",
    "/patients",
    f"/patients/{OVERDUE}",
    f"/patients/{OVERDUE}?profile=nogg2022&option=4",
    "/patients/example-naive-high-risk",
    f"/patients/{OVERDUE}/compare",
    f"/patients/{OVERDUE}/what-if",
    f"/patients/{OVERDUE}/what-if?regimen=romosozumab:12,denosumab",
    f"/patients/{OVERDUE}/what-if?regimen=aspirin",
    f"/patients/{OVERDUE}/report/clinician",
    f"/patients/{OVERDUE}/report/patient",
    f"/patients/{OVERDUE}/report/letter",
    "/patients/no-such-patient",
    f"/patients/{OVERDUE}/record",
    f"/patients/{OVERDUE}/record/dxa/new",
    f"/patients/{OVERDUE}/record/dxa/0",
    f"/patients/{OVERDUE}/record/therapies/0",
    f"/patients/{OVERDUE}/record/labs/new",
    "/patients-new",
    "/account",
    "/admin",  # the signed-in coordinator is refused: the "Not allowed" page
]


def test_forms_with_errors_have_no_violation(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients-new")
    page.fill("#f-height_cm", "tall")
    page.click("#create-patient")
    assert page.locator("#error-summary").is_visible()
    assert serious_violations(page) == []
    page.goto(f"{clinic.url}/patients/{OVERDUE}/record/dxa/new")
    page.fill("#f-total_hip_t", "low")
    page.click("#save-item")
    assert page.locator("#error-summary").is_visible()
    assert serious_violations(page) == []


WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def serious_violations(page: Any) -> list[str]:
    page.evaluate(axe_script())
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: %s}})" % WCAG_AA  # noqa: UP031
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "" for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_or_critical_violation(clinic: Clinic, page: Any, path: str) -> None:
    page.goto(clinic.url + path)
    assert serious_violations(page) == []


def test_no_violation_with_the_details_open_at_390_px(clinic: Clinic, page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert serious_violations(page) == []


def test_api_docs_are_served_from_packaged_assets(clinic: Clinic, page: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{clinic.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "osteotarget" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 5
    outside = [u for u in requested if not u.startswith(clinic.url) and not u.startswith("data:")]
    assert outside == []
