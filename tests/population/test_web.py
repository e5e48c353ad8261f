"""Worklist pages, the indicator dashboard and their API over real HTTP, and the pages in a
real headless Debian Chromium (Playwright): filter, sort, CSV export, charts, no script."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from osteotarget.store import Registry
from osteotarget.web import create_app
from tests.people import add_person, sign_in_page
from tests.population.conftest import AS_OF, records_of
from tests.population.test_worklist_kpi import PATIENTS
from tests.service.conftest import LiveServer, make_settings, new_signer

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    url: str
    key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("population-web") / "registry.sqlite3"
    registry = Registry(f"sqlite:///{db}")
    signer = new_signer("https://ehr.population.test")
    settings = make_settings(registry.url, signer, signer, "http://127.0.0.1:9/jwks.json")
    app = create_app(settings, registry)
    key = registry.add_client("fls-coordinator", "coordinator")
    add_person(registry, "fls-nurse", "coordinator")  # people sign in with a password
    registry.import_dicts(PATIENTS + records_of(150, 41), "test", "test")
    with LiveServer(app) as live:
        yield Site(live.url, key)
    registry.close()


def test_api_worklist_filters_and_refuses_bad_input(site: Site) -> None:
    with site.client(site.key) as client:
        params = {"as_of": AS_OF.isoformat(), "queue": "denosumab_overdue"}
        body = client.get("/api/worklists", params=params).json()
        assert body["total"] >= 1
        assert {r["queue"] for r in body["rows"]} == {"denosumab_overdue"}
        assert any(r["patient_id"] == "dmab-late" for r in body["rows"])
        bad = client.get("/api/worklists", params={"queue": "nonsense"})
        assert client.get("/api/worklists", params={"priority": "x"}).status_code == 422
        assert bad.status_code == 422 and "nonsense" in bad.text
        assert client.get("/api/worklists", params={"as_of": "yesterday"}).status_code == 422
        kpi = client.get("/api/kpi", params={"as_of": AS_OF.isoformat()}).json()
        assert kpi["patients"] == len(PATIENTS) + 150
        assert {i["id"] for i in kpi["indicators"]} >= {"iof_9_started_16_weeks"}
    with site.client() as anonymous:
        assert anonymous.get("/api/worklists").status_code == 401


def test_csv_exports(site: Site) -> None:
    with site.client(site.key) as client:
        text = client.get("/worklists.csv", params={"as_of": AS_OF.isoformat(),
                                                     "queue": "dxa_overdue"}).text  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and {r["queue"] for r in rows} == {"dxa_overdue"}
        assert list(rows[0]) == ["patient_id", "queue", "reason", "due", "priority"]
        kpi = list(csv.DictReader(io.StringIO(client.get("/kpi.csv").text)))
        assert any(r["id"] == "iof_4_dxa_12_weeks" for r in kpi)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
def test_worklist_and_dashboard_pages_in_chromium(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
            accept_downloads=True,
        )  # fmt: skip
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{site.url}/worklists")
            assert "Sign in required" in page.content()
            sign_in_page(page, site.url, "fls-nurse", "/worklists")
            # Filter by queue and date, sort by due date descending.
            page.fill("#as_of", AS_OF.isoformat())
            page.select_option("#queue", "denosumab_overdue")
            page.select_option("#sort", "due")
            page.select_option("#order", "desc")
            page.click("#apply")
            page.wait_for_url("**queue=denosumab_overdue**")
            cells = page.locator("#worklist tbody tr td:nth-child(2)").all_inner_texts()
            assert cells and set(cells) == {"denosumab_overdue"}
            dues = page.locator("#worklist tbody tr td:nth-child(4)").all_inner_texts()
            assert dues == sorted(dues, reverse=True)
            assert "dmab-late" in page.locator("#worklist").inner_text()
            with page.expect_download() as download:
                page.click("#export-csv")
            exported = Path(download.value.path()).read_text()
            assert exported.startswith("patient_id,queue,reason,due,priority")
            assert "dmab-late" in exported
            # Patient filter.
            page.fill("#patient", "fracture-untreated")
            page.select_option("#queue", "")
            page.click("#apply")
            page.wait_for_url("**patient=fracture-untreated**")
            queues = set(page.locator("#worklist tbody tr td:nth-child(2)").all_inner_texts())
            assert {"fracture_without_treatment", "workup_missing"} <= queues
            # Dashboard: both charts drawn server-side, bars coloured by IOF band.
            page.goto(f"{site.url}/kpi?as_of={AS_OF.isoformat()}")
            assert page.locator("#kpi-chart").is_visible()
            assert page.locator("#kpi-chart g.bar").count() >= 4
            assert page.locator("#queue-chart g.bar").count() >= 5
            assert "not computable" in page.locator("#kpi-iof_5_falls_assessment").inner_text()
            assert page.locator("script:not([src])").count() == 0  # no inline script (CSP)
            page.screenshot(path=str(tmp_path / "kpi.png"), full_page=True)
            assert errors == []
        finally:
            context.close()
