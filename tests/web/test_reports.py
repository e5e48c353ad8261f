"""Printable reports: the PDF is read back as text and a page is rendered to an image;
the printable page hides navigation under the print stylesheet (Chromium, Playwright)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Clinic, needs_chromium, screenshot_dir

pytestmark = [pytest.mark.browser, needs_chromium]
OVERDUE = "example-denosumab-overdue"
# Read on 2024-03-01, a dose one month late: on today's date (40 months without denosumab)
# the engine rightly declines to project from the 2023 scan and asks for a DXA (issue 8), so
# the report would carry no chances to check.
ONE_MONTH_LATE = "as_of=2024-03-01"
REPORTS = {
    "clinician": ("Clinician report", "Most urgent next step", "Options", "Sources"),
    "patient": ("Your bone health summary", "What your scans show", "Things you can do"),
    "letter": ("Dear colleague", "Suggested next step", "Monitoring"),
}


def pdf_text(data: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


def render_first_page(data: bytes, out: Path) -> tuple[int, int, int]:
    """The first page as a PNG (pdfium): its size and how many pixels are not white."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    image = document[0].render(scale=1).to_pil().convert("L")
    image.save(out)
    inked = sum(image.histogram()[:200])
    document.close()
    return image.width, image.height, inked


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_pdf_reads_back_and_renders(clinic: Clinic, page: Any, kind: str, tmp_path: Path) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}?{ONE_MONTH_LATE}")
    href = page.locator(f"#report-{kind}").get_attribute("href")
    response = page.request.get(clinic.url + href)  # with the signed-in session
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    data = response.body()
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert 1 <= pages <= 2, f"{kind}: {pages} pages"
    flat = " ".join(text.split())
    assert OVERDUE in flat
    for phrase in REPORTS[kind]:
        assert phrase in flat, f"{kind}: {phrase!r} missing"
    assert "denosumab" in flat  # the critical alert is carried into every report
    width, height, inked = render_first_page(data, tmp_path / f"{kind}.png")
    assert height > width  # A4 portrait
    assert inked > 1000  # there is something printed on it
    folder = screenshot_dir()
    if folder:
        (folder / f"{kind}.pdf").write_bytes(data)
        render_first_page(data, folder / f"{kind}-page1.png")


def test_clinician_pdf_carries_the_chart_and_chances(clinic: Clinic, page: Any) -> None:
    report = f"{clinic.url}/patients/{OVERDUE}/report/clinician.pdf?{ONE_MONTH_LATE}"
    response = page.request.get(report)
    _, text = pdf_text(response.body())
    flat = " ".join(text.split())
    assert "T-score over time" in flat and "today" in flat
    assert "%" in flat and "T −" in flat  # chance and expected T-score per option


def test_printable_page_hides_navigation_when_printed(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}?{ONE_MONTH_LATE}")
    page.get_by_role("link", name="Printable page").click()
    page.wait_for_url("**/report/clinician**")
    tools = page.locator(".report-tools")
    assert tools.is_visible()
    page.emulate_media(media="print")
    assert not tools.is_visible()
    assert page.locator("h1").inner_text() == "Clinician report"
    pdf = page.pdf(format="A4")  # Chromium's own print path, through the print stylesheet
    pages, text = pdf_text(pdf)
    assert pages <= 2 and "Most urgent next step" in " ".join(text.split())
    page.emulate_media(media="screen")


def test_patient_page_prints_without_controls(clinic: Clinic, page: Any) -> None:
    page.goto(f"{clinic.url}/patients/{OVERDUE}?{ONE_MONTH_LATE}")
    page.emulate_media(media="print")
    assert not page.locator("#view-choices").is_visible()
    assert not page.locator(".site-header").is_visible()
    assert page.locator("#risk-category").is_visible()
    page.emulate_media(media="screen")


def test_report_of_unknown_patient_is_404(clinic: Clinic, page: Any) -> None:
    response = page.request.get(f"{clinic.url}/patients/nobody/report/letter.pdf")
    assert response.status == 404


def test_unknown_report_kind_is_refused(clinic: Clinic, page: Any) -> None:
    response = page.request.get(f"{clinic.url}/patients/{OVERDUE}/report/memo.pdf")
    assert response.status == 422
