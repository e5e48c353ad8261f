"""The patient page in a real headless Debian Chromium (Playwright, no downloaded browser)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, FLAGS
from tests.people import PASSWORD
from tests.service.conftest import Service

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium;"
        " .ci/services.sh installs it in CI)",
    ),
]


def test_sign_in_and_read_the_patient_page(service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            page = context.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(f"{service.url}/patients/example-denosumab-overdue")
            assert "Sign in required" in page.content()
            page.goto(f"{service.url}/login?next=/patients/example-denosumab-overdue")
            page.fill("#username", "nurse")
            page.fill("#password", "not the password at all")
            page.click("#sign-in")
            assert page.get_by_role("alert").is_visible()
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url("**/patients/example-denosumab-overdue")
            assert page.locator("#patient-id").inner_text() == "example-denosumab-overdue"
            chart = page.locator("#tscore-chart")
            assert chart.is_visible()
            assert page.locator("#tscore-chart circle.point").count() == 4
            target = page.locator("#target-line")
            assert target.count() == 1 and target.get_attribute("data-value")
            series = page.locator('#tscore-chart .series[data-site="total_hip"]')
            assert series.is_visible()
            page.locator('#tscore-chart .legend[data-site="total_hip"]').click()
            assert not series.is_visible()
            alerts = page.locator("#alerts .alert")
            if alerts.count():
                assert alerts.first.get_attribute("data-code")
            assert page.locator("#citations li").count() >= 1
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300
            page.screenshot(path=str(tmp_path / "patient.png"), full_page=True)
            page.goto(f"{service.url}/patients")
            assert page.locator("#patients a").count() >= 5
            assert not [u for u in failed if u.startswith(service.url)]
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
