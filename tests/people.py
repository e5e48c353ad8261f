"""People in test registries: one known password, and signing in the way a person does
(the login form: username and password; API keys are for machines)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from osteotarget.security.passwords import hash_password
from osteotarget.store import Registry

PASSWORD = "a long test passphrase for people"


def add_person(registry: Registry, username: str, role: str, password: str = PASSWORD) -> str:
    registry.users.add(username, hash_password(password), role)
    return username


def sign_in_page(page: Any, base: str, username: str, next: str, password: str = PASSWORD) -> None:
    """Walk the sign-in form in a Playwright page and land on ``next``."""
    page.goto(f"{base}/login?next={next}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_url(f"**{next}")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no csrf field on the page"
    return found.group(1)


def sign_in(
    base: str, username: str, password: str = PASSWORD, *, expect: int = 303
) -> httpx.Client:
    """A cookie-keeping HTTP client that signed in through the login form."""
    browser = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    form = browser.get("/login")
    answer = browser.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
    )
    assert answer.status_code == expect, answer.text
    return browser
