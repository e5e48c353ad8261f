"""Data entry in Chromium: create a patient, add a DXA and a therapy and see the answer
update, correct a wrong entry, remove one; an invalid item never locks the page."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.web.conftest import Clinic, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def actions(page: Any) -> list[str]:
    return [s.strip() for s in page.locator("#next-steps li > strong").all_text_contents()]


def add_dxa(page: Any, date: str, hip: str, spine: str) -> None:
    page.click("#edit-record")
    page.click("#add-dxa")
    page.fill("#f-date", date)
    page.select_option("#f-manufacturer", "hologic")
    page.fill("#f-total_hip_t", hip)
    page.fill("#f-lumbar_spine_t", spine)
    page.click("#save-item")


def test_create_patient_add_dxa_and_therapy_then_correct(clinic: Clinic, page: Any) -> None:
    patient_id = f"web-{uuid.uuid4().hex[:8]}"
    page.goto(f"{clinic.url}/patients")
    page.click("#new-patient-link")
    # A wrong form first: every problem is named next to its field.
    page.fill("#f-id", patient_id)
    page.fill("#f-birth_date", "2090-01-01")
    page.fill("#f-height_cm", "tall")
    page.click("#create-patient")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert "Sex" in summary.inner_text() and "tall" in summary.inner_text()
    assert page.locator("#f-height_cm").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-id").input_value() == patient_id  # what was typed is kept
    page.select_option("#f-sex", "female")
    page.fill("#f-height_cm", "160")
    page.click("#create-patient")
    assert "future" in page.locator("#e-birth_date").inner_text()
    page.fill("#f-birth_date", "1950-02-03")
    page.click("#create-patient")
    page.wait_for_url(f"**/patients/{patient_id}/record**")
    assert page.get_by_role("status").is_visible()

    page.goto(f"{clinic.url}/patients/{patient_id}")
    before_risk = page.locator("#risk-category").inner_text().lower()
    before_target = page.locator("#target").inner_text()
    assert "start" not in actions(page)

    # Add a DXA: the risk, target and next steps follow at once.
    add_dxa(page, "2025-01-10", "-4.6", "-2.8")  # a typo in the hip T-score
    page.wait_for_url(f"**/patients/{patient_id}?saved=dxa")
    assert page.locator("#saved").is_visible()
    assert page.locator("#risk-category").inner_text().lower() != before_risk
    assert page.locator("#target").inner_text() != before_target
    assert "start" in actions(page)
    assert page.locator("#tscore-chart circle.point").count() == 2

    # Correct the wrong entry: the form opens filled in, the fix is a new version.
    page.click("#edit-record")
    page.click("#edit-dxa-0")
    assert page.locator("#f-total_hip_t").input_value() == "-4.6"
    page.fill("#f-total_hip_t", "-2.6")
    page.click("#save-item")
    page.wait_for_url(f"**/patients/{patient_id}?saved=dxa")
    table = page.locator("#chart-table").text_content() or ""
    assert "-2.6" in table and "-4.6" not in table
    stored = clinic.registry.get_patient(patient_id)
    assert stored is not None and stored.version == 3  # created, DXA added, DXA corrected

    # Add a therapy course: the next steps change from starting to continuing.
    page.click("#edit-record")
    page.click("#add-therapies")
    page.select_option("#f-drug", "alendronate")
    page.fill("#f-start", "2025-02-01")
    page.click("#save-item")
    page.wait_for_url(f"**/patients/{patient_id}?saved=therapies")
    steps = actions(page)
    assert "start" not in steps and "continue" in steps

    # Remove it again.
    page.click("#edit-record")
    page.click("#edit-therapies-0")
    page.click("#remove-item")
    page.wait_for_url(f"**/patients/{patient_id}/record?saved=removed")
    assert page.locator("#section-therapies li").count() == 0
    history = clinic.registry.patient_history(patient_id)
    assert len(history) == 5


def copy_of(clinic: Clinic, source: str) -> str:
    """A fresh copy of a demo patient (tests here change records; others read the demo)."""
    headers = {"X-API-Key": clinic.key}
    record = httpx.get(f"{clinic.url}/api/patients/{source}", headers=headers).json()["record"]
    record["id"] = f"{source}-{uuid.uuid4().hex[:6]}"
    created = httpx.post(f"{clinic.url}/api/patients", json=record, headers=headers)
    assert created.status_code == 201, created.text
    return str(record["id"])


def test_an_invalid_item_never_locks_the_page(clinic: Clinic, page: Any) -> None:
    """A DXA dated in the future, accepted by the API, is shown with the way to fix it."""
    patient_id = copy_of(clinic, "example-naive-high-risk")
    headers = {"X-API-Key": clinic.key}
    visit = {
        "date": "2030-01-01",
        "device": {"manufacturer": "hologic"},
        "measurements": [{"site": "total_hip", "t_score": -2.4}],
    }
    added = httpx.post(f"{clinic.url}/api/patients/{patient_id}/dxa", json=visit, headers=headers)
    assert added.status_code == 200, added.text
    page.goto(f"{clinic.url}/patients/{patient_id}")
    problems = page.locator("#record-problems")
    assert problems.is_visible()
    assert "2030-01-01" in problems.inner_text()
    assert "Record refused" not in page.content()
    problems.get_by_role("link", name="correct or remove this item").first.click()
    assert page.locator("#f-date").get_attribute("aria-invalid") == "true"
    assert "2030-01-01" in page.locator("#e-date").inner_text()
    page.fill("#f-date", "2025-11-20")
    page.click("#save-item")
    page.wait_for_url(f"**/patients/{patient_id}?saved=dxa")
    assert page.locator("#record-problems").count() == 0
    assert page.locator("#risk-category").is_visible()


def test_a_stale_form_does_not_overwrite_a_newer_record(clinic: Clinic, page: Any) -> None:
    patient_id = copy_of(clinic, "example-holiday-candidate")
    page.goto(f"{clinic.url}/patients/{patient_id}/record/falls/new")
    page.fill("#f-date", "2025-03-03")
    # Meanwhile someone else changes the record.
    record = httpx.get(
        f"{clinic.url}/api/patients/{patient_id}", headers={"X-API-Key": clinic.key}
    ).json()["record"]
    record["height_cm"] = 158
    changed = httpx.put(
        f"{clinic.url}/api/patients/{patient_id}", json=record, headers={"X-API-Key": clinic.key}
    )
    assert changed.status_code == 200
    page.click("#save-item")
    assert "changed by someone else" in page.locator("#error-summary").inner_text()
    assert page.locator("#f-date").input_value() == "2025-03-03"  # what was typed is kept


def test_a_clinician_cannot_create_patients(clinic: Clinic) -> None:
    response = httpx.post(
        f"{clinic.url}/patients-new",
        data={"id": "nope", "sex": "female", "birth_date": "1950-01-01"},
        headers={"X-API-Key": clinic.clinician_key},
    )
    assert response.status_code == 403
    assert clinic.registry.get_patient("nope") is None
