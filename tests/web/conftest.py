"""A real app on a real SQLite file with the demo patients, served over real HTTP, and a
signed-in headless Debian Chromium (Playwright, no downloaded browser)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from osteotarget.store import Registry
from osteotarget.web import Settings, create_app
from osteotarget.web.demo import demo_records
from tests.chromium import CHROMIUM, FLAGS
from tests.people import PASSWORD, add_person, sign_in_page
from tests.service.conftest import LiveServer

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
)
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Clinic:
    url: str
    registry: Registry
    key: str  # a machine's key, coordinator: may create patients and enter data
    clinician_key: str  # a machine's key: may enter data, not create patients
    person: str = "dr-test"  # a person (coordinator) who signs in with PASSWORD
    admin: str = "dr-admin"  # a person with the admin role
    password: str = PASSWORD


@pytest.fixture(scope="session")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    db = tmp_path_factory.mktemp("clinic") / "clinic.sqlite3"
    registry = Registry(f"sqlite:///{db}")
    settings = Settings(
        database_url=registry.url, secret="web-test-secret-not-for-production-0123456789"
    )
    app = create_app(settings, registry)
    key = registry.add_client("dr-test-api", "coordinator")
    clinician = registry.add_client("dr-clinician-api", "clinician")
    add_person(registry, "dr-test", "coordinator")
    add_person(registry, "dr-admin", "admin")
    registry.import_dicts(demo_records(), "test-seed", "test")
    with LiveServer(app) as live:
        yield Clinic(live.url, registry, key, clinician)
    registry.close()


@pytest.fixture(scope="module")
def browser_context(clinic: Clinic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One signed-in Chromium profile per test module (sign-in is walked in a test too)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path_factory.mktemp("profile"))
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport=DESKTOP,
            bypass_csp=True,
        )
        try:
            page = context.new_page()
            sign_in_page(page, clinic.url, clinic.person, "/patients")
            page.close()
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def page(browser_context: Any) -> Iterator[Any]:
    page = browser_context.new_page()
    page.set_viewport_size(DESKTOP)
    try:
        yield page
    finally:
        page.close()


def screenshot_dir() -> Path | None:
    """Screenshots are kept only when OSTEOTARGET_SCREENSHOTS names a folder."""
    folder = os.environ.get("OSTEOTARGET_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
