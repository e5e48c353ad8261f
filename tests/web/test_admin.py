"""People, not keys, in a real headless Chromium (Playwright): an admin signs in with a
username and password, adds a user, that user signs in, the admin deactivates them and their
open session ends; a key is issued (shown once) and revoked; axe finds no serious or
critical violation on the admin, account and sign-in pages, with and without errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import CHROMIUM, FLAGS
from tests.people import sign_in_page
from tests.web.conftest import DESKTOP, PHONE, Clinic, needs_chromium
from tests.web.test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, needs_chromium]
NEW_PASSWORD = "ward nine evening shift"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def _person(chromium: Any) -> Any:
    """A browser of its own (cookies not shared): one person at one desk."""
    return chromium.new_context(viewport=DESKTOP, bypass_csp=True).new_page()


def test_admin_adds_a_user_who_signs_in_then_is_deactivated(clinic: Clinic, chromium: Any) -> None:
    admin = _person(chromium)
    sign_in_page(admin, clinic.url, clinic.admin, "/admin")
    assert admin.get_by_role("link", name="Admin", exact=True).is_visible()
    admin.fill("#new-username", "Nurse.Playwright")
    admin.select_option("#new-role", "clinician")
    admin.fill("#new-password", NEW_PASSWORD)
    admin.click("#add-user-button")
    admin.wait_for_url("**/admin?saved=user-added**")
    assert "nurse.playwright added" in admin.locator("#done").inner_text()
    row = admin.locator('tr[data-username="nurse.playwright"]')
    assert row.locator(".status").inner_text().startswith("active")

    nurse = _person(chromium)
    sign_in_page(nurse, clinic.url, "nurse.playwright", "/patients", NEW_PASSWORD)
    assert "nurse.playwright" in nurse.locator(".signed-in").inner_text()
    assert nurse.get_by_role("link", name="Admin", exact=True).count() == 0
    nurse.goto(f"{clinic.url}/admin")
    assert nurse.locator("h1").inner_text() == "Not allowed"
    assert serious_violations(nurse) == []

    row.get_by_role("button", name="Deactivate nurse.playwright").click()
    admin.wait_for_url("**/admin?saved=deactivated**")
    assert (
        "deactivated" in admin.locator('tr[data-username="nurse.playwright"] .status').inner_text()
    )
    nurse.goto(f"{clinic.url}/patients")
    assert nurse.locator("h1").inner_text() == "Sign in required"  # the session ended
    nurse.goto(f"{clinic.url}/login?next=/patients")
    nurse.fill("#username", "nurse.playwright")
    nurse.fill("#password", NEW_PASSWORD)
    nurse.click("#sign-in")
    assert nurse.get_by_role("alert").is_visible()  # deactivated: refused like a wrong password
    actions = [e["action"] for e in clinic.registry.audit_entries(limit=500)]
    assert "create_user" in actions and "deactivate_user" in actions


def test_a_key_is_shown_once_and_revoked(clinic: Clinic, chromium: Any) -> None:
    admin = _person(chromium)
    sign_in_page(admin, clinic.url, clinic.admin, "/admin")
    admin.fill("#key-name", "pharmacy-feed")
    admin.select_option("#key-role", "clinician")
    admin.click("#issue-key-button")
    box = admin.locator("#new-key-box")
    assert box.is_visible()
    secret = admin.locator("#new-key").input_value()
    assert secret.startswith("ot_")
    assert serious_violations(admin) == []
    admin.goto(f"{clinic.url}/admin")
    assert secret not in admin.content()
    row = admin.locator('tr[data-key="pharmacy-feed"]')
    row.get_by_role("button", name="Revoke pharmacy-feed").click()
    admin.wait_for_url("**/admin?saved=revoked**")
    assert "revoked" in admin.locator('tr[data-key="pharmacy-feed"]').inner_text()
    assert clinic.registry.client_for_key(secret) is None


def test_admin_and_account_pages_are_accessible_with_errors_and_at_390_px(
    clinic: Clinic, chromium: Any
) -> None:
    admin = _person(chromium)
    sign_in_page(admin, clinic.url, clinic.admin, "/admin")
    assert serious_violations(admin) == []
    admin.fill("#new-username", "x")
    admin.fill("#new-password", "short")
    admin.click("#add-user-button")
    summary = admin.locator("#error-summary")
    assert summary.is_visible()
    assert "Username" in summary.inner_text() and "Initial password" in summary.inner_text()
    assert admin.locator("#new-password").get_attribute("aria-invalid") == "true"
    assert admin.locator("#new-password").input_value() == ""  # a password is never echoed
    assert serious_violations(admin) == []
    admin.goto(f"{clinic.url}/account")
    admin.fill("#current", "not my password at all")
    admin.fill("#new", "x")
    admin.click("#change-password-button")
    assert admin.locator("#error-summary").is_visible()
    assert serious_violations(admin) == []
    admin.set_viewport_size(PHONE)
    for path in ("/admin", "/account", "/login"):
        admin.goto(clinic.url + path)
        width = admin.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        assert serious_violations(admin) == []


def test_the_sign_in_page_with_its_error_is_accessible(clinic: Clinic, chromium: Any) -> None:
    page = _person(chromium)
    page.goto(f"{clinic.url}/login")
    page.fill("#username", "somebody")
    page.fill("#password", "not the password at all")
    page.click("#sign-in")
    assert page.get_by_role("alert").is_visible()
    assert page.locator("#username").input_value() == "somebody"
    assert page.locator("#password").input_value() == ""
    assert serious_violations(page) == []
