"""The patient page in Chromium: the answer first, choices, what-if (Playwright)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import DESKTOP, PHONE, Clinic, needs_chromium, screenshot_dir

pytestmark = [pytest.mark.browser, needs_chromium]
OVERDUE = "example-denosumab-overdue"


def test_answer_first_fits_one_screen(clinic: Clinic, page: Any) -> None:
    # A dose one month late (2024-03-01): critical alert AND projected options. On today's
    # date, 40 months without denosumab, no projection is made from the 2023 scan (issue 8).
    page.goto(f"{clinic.url}/patients/{OVERDUE}?as_of=2024-03-01")
    assert page.locator("#patient-id").inner_text() == OVERDUE
    critical = page.locator("#alerts .alert.critical")
    assert critical.count() >= 1 and critical.first.get_attribute("data-code")
    assert page.locator("#risk-category").inner_text().lower().startswith("high")
    assert page.locator("#standing").inner_text() in {
        "met",
        "on a path",
        "not on a path",
        "not judged",
    }
    assert page.locator("#next-step").inner_text().strip() != ""
    rows = page.locator("#best-options tbody tr")
    assert 1 <= rows.count() <= 3
    first = rows.first.inner_text()
    assert "%" in first and "T " in first  # chance AND expected T-score, no citation keys
    chart = page.locator("#tscore-chart")
    for part in ("#today-line", "#target-band", "#target-line", ".projection"):
        assert page.locator(f"#tscore-chart {part}").count() >= 1, part
    assert "T-score" in chart.text_content() and "Date" in chart.text_content()
    # On one screen: critical alert, risk, target, next step, the best options and the
    # chart all start above the fold of a 1366x768 window.
    for selector in ("#alerts", "#risk", "#target", "#next-step", "#best-options", "#chart"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] < DESKTOP["height"], selector
    # Detail moves below, folded.
    for section in ("trace", "citations", "densitometry", "all-options"):
        assert page.locator(f"details#{section}").count() == 1
        assert page.locator(f"details#{section}").get_attribute("open") is None
    # The chart's table alternative holds every measured point.
    assert (
        page.locator("#chart-table tbody tr").count()
        >= page.locator("#tscore-chart circle.point").count()
    )
    folder = screenshot_dir()
    if folder:
        page.screenshot(path=str(folder / "patient-1366.png"))
        page.screenshot(path=str(folder / "patient-1366-full.png"), full_page=True)


def test_usable_at_390_px(clinic: Clinic, page: Any) -> None:
    page.set_viewport_size(PHONE)
    for path in (
        f"/patients/{OVERDUE}",
        f"/patients/{OVERDUE}/compare",
        f"/patients/{OVERDUE}/what-if?regimen=romosozumab:12,denosumab",
        "/patients",
        "/",
    ):
        page.goto(clinic.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} overflows 390 px by {overflow} px"
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    chart = page.locator("#tscore-chart").bounding_box()
    assert chart is not None and chart["width"] <= PHONE["width"]
    folder = screenshot_dir()
    if folder:
        page.screenshot(path=str(folder / "patient-390.png"))
        page.screenshot(path=str(folder / "patient-390-full.png"), full_page=True)


def test_change_profile_and_date_then_show_another_option(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    page.select_option("#profile", "nogg2022")
    page.fill("#as_of", "2024-06-01")
    page.click("#apply-choices")
    page.wait_for_url("**profile=nogg2022**")
    assert page.locator("#profile-name").inner_text() == "nogg2022"
    assert "2024-06-01" in page.locator(".patient-meta").inner_text()
    assert page.locator("#today-line").get_attribute("data-date") == "2024-06-01"
    # Pick another option for the chart: its row is marked and its path is drawn.
    link = page.locator("#best-options a").first
    link.click()
    page.wait_for_url("**option=**")
    assert page.locator("#best-options tr.selected").count() == 1
    assert "profile=nogg2022" in page.url  # the choices stay


def test_bad_choices_are_named_not_refused(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}?as_of=2024-13-45&profile=nope")
    box = page.get_by_role("alert")
    text = box.inner_text()
    assert "as_of" in text and "2024-13-45" in text and "profile" in text and "nope" in text
    assert page.locator("#risk-category").is_visible()  # still answers, with the defaults


def test_compare_profiles(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    page.get_by_role("link", name="Compare guideline profiles").click()
    page.wait_for_url("**/compare**")
    rows = page.locator("#comparison tbody tr")
    assert rows.count() >= 2
    assert page.locator("#differences").is_visible()
    assert page.locator("#comparison tr.selected").count() == 1


def test_what_if(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    page.get_by_role("link", name="What if…").click()
    page.wait_for_url("**/what-if**")
    page.fill("#regimen", "romosozumab:12,denosumab")
    page.fill("#months", "24")
    page.click("#run-what-if")
    page.wait_for_selector("#what-if-result")
    assert "%" in page.locator("#what-if-chance").inner_text()
    assert page.locator("#what-if-table tbody tr").count() >= 1
    assert page.locator("#tscore-chart .projection").count() >= 1
    # A wrong regimen is named, with the value, and the form stays to fix it.
    page.fill("#regimen", "aspirin:12")
    page.click("#run-what-if")
    alert = page.get_by_role("alert")
    assert "regimen" in alert.inner_text() and "aspirin" in alert.inner_text()
    assert page.locator("#regimen").get_attribute("aria-invalid") == "true"


def test_keyboard_reaches_choices_and_chart_legend(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}")
    seen: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return (e.id || e.getAttribute('data-site') || e.tagName); })()"
            )
        )
    assert seen[0] == "A"  # the skip link comes first
    assert "profile" in seen and "apply-choices" in seen
    assert "total_hip" in seen  # a chart legend entry
    legend = page.locator('#tscore-chart .legend[data-site="total_hip"]')
    legend.focus()
    page.keyboard.press("Enter")
    assert legend.get_attribute("aria-pressed") == "true"
    assert not page.locator('#tscore-chart .series[data-site="total_hip"]').is_visible()
