"""People sign in with a username and password, over real HTTP on a real SQLite file and a
real PostgreSQL schema: Argon2id at rest, lockout, one answer for every refusal, sessions
that end when the user's basis ends, CSRF on every admin form, admin only, keys for machines.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, text, update
from sqlalchemy.exc import IntegrityError

from osteotarget.security.signin import SIGN_IN_REFUSED, SignInPolicy
from osteotarget.store import Registry, hash_key
from osteotarget.store.models import UserRow
from osteotarget.web import Settings, create_app
from tests.databases import BACKENDS, database_url
from tests.people import PASSWORD, add_person, csrf_of, sign_in
from tests.service.conftest import LiveServer

POLICY = SignInPolicy(max_failures=3, lockout_seconds=60, lockout_max_seconds=600)
SESSION = "osteotarget_session"
SECRET = "people-test-secret-not-for-production-0123456789"


@dataclass
class Site:
    url: str
    registry: Registry


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("people")
    with database_url(request.param, folder / "people.sqlite3", "people") as url:
        registry = Registry(url)
        settings = Settings(
            database_url=url,
            secret=SECRET,
            sign_in=POLICY,
        )
        app = create_app(settings, registry)
        add_person(registry, "chief", "admin")
        with LiveServer(app) as live:
            yield Site(live.url, registry)
        registry.close()


def _admin_post(browser: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    """A form on the admin page, sent as the page sends it (with its anti-forgery token)."""
    page = browser.get("/admin")
    assert page.status_code == 200, page.text
    return browser.post(path, data={**data, "csrf": csrf_of(page.text)})


def _add_user(admin: httpx.Client, username: str, role: str = "clinician") -> httpx.Response:
    return _admin_post(
        admin, "/admin/users", {"username": username, "role": role, "password": PASSWORD}
    )


def _alert(html: str) -> str:
    found = re.search(r'<p class="alert warning" role="alert"[^>]*>([^<]*)</p>', html)
    assert found is not None, html
    return found.group(1)


def _actions(site: Site, actor: str) -> list[tuple[str, int, str]]:
    return [
        (e["action"], e["status"], e["detail"])
        for e in site.registry.audit_entries(limit=1000)
        if e["actor"] == actor
    ]


def test_migration_0004_users_table_keeps_usernames_lower_case_and_unique(site: Site) -> None:
    columns = {c["name"] for c in inspect(site.registry.engine).get_columns("users")}
    assert {
        "username",
        "password_hash",
        "role",
        "active",
        "failed_attempts",
        "locked_until",
        "created_at",
        "updated_at",
    } <= columns
    assert "last_used_at" in {
        c["name"] for c in inspect(site.registry.engine).get_columns("clients")
    }
    stamp = datetime.now(UTC)
    row = {
        "password_hash": "x",
        "role": "clinician",
        "active": True,
        "session_stamp": "s",
        "failed_attempts": 0,
        "password_changed_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
    }
    with pytest.raises(IntegrityError), site.registry.engine.begin() as conn:
        conn.execute(UserRow.__table__.insert().values(username="Chief2", **row))
    with pytest.raises(IntegrityError), site.registry.engine.begin() as conn:
        conn.execute(UserRow.__table__.insert().values(username="chief", **row))
    stored = site.registry.users.get("CHIEF")
    assert stored is not None and stored.username == "chief"
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_admin_adds_a_user_who_signs_in_then_deactivation_ends_the_session(site: Site) -> None:
    admin = sign_in(site.url, "chief")
    added = _add_user(admin, "Nurse.Jones")
    assert added.status_code == 303 and "saved=user-added" in added.headers["location"]
    nurse = sign_in(site.url, "NURSE.JONES")  # usernames are not case-sensitive
    assert nurse.get("/patients").status_code == 200
    assert "Signed in as" in nurse.get("/patients").text
    assert nurse.get("/api/patients").status_code == 200  # reading through the API too
    deactivated = _admin_post(admin, "/admin/users/nurse.jones/active", {"active": "false"})
    assert deactivated.status_code == 303
    assert nurse.get("/patients").status_code == 401
    assert nurse.get("/api/patients").status_code == 401
    refused = _attempt(site, "nurse.jones", PASSWORD)  # the right password, deactivated
    assert refused.status_code == 401 and _alert(refused.text) == SIGN_IN_REFUSED
    reactivated = _admin_post(admin, "/admin/users/nurse.jones/active", {"active": "true"})
    assert reactivated.status_code == 303
    assert sign_in(site.url, "nurse.jones").get("/patients").status_code == 200
    done = {a for a, _, d in _actions(site, "chief") if d.startswith("subject=nurse.jones")}
    assert {"create_user", "deactivate_user", "reactivate_user"} <= done
    assert ("login", 200, "subject=nurse.jones") in _actions(site, "nurse.jones")


def _attempt(site: Site, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        form = browser.get("/login")
        return browser.post(
            "/login",
            data={"username": username, "password": password, "csrf": csrf_of(form.text)},
        )


def test_unknown_user_and_wrong_password_get_the_same_answer(site: Site) -> None:
    add_person(site.registry, "known.person", "clinician")
    unknown = _attempt(site, "nobody.here", "a wrong password entirely")
    wrong = _attempt(site, "known.person", "a wrong password entirely")
    assert unknown.status_code == wrong.status_code == 401
    assert _alert(unknown.text) == _alert(wrong.text) == SIGN_IN_REFUSED
    assert SESSION not in unknown.cookies and SESSION not in wrong.cookies
    # The reason is kept for the audit trail only.
    reasons = {
        e["actor"]: e["detail"]
        for e in site.registry.audit_entries(limit=200)
        if e["action"] == "refused" and e["path"] == "/login"
    }
    assert "unknown user" in reasons["user nobody.here"]
    assert "wrong password" in reasons["user known.person"]


def test_repeated_failures_lock_the_account_even_for_the_right_password(site: Site) -> None:
    add_person(site.registry, "locked.out", "clinician")
    for _ in range(POLICY.max_failures):
        assert _attempt(site, "locked.out", "not the password, no").status_code == 401
    user = site.registry.users.get("locked.out")
    assert user is not None and user.failed_attempts == POLICY.max_failures
    assert user.locked_until is not None
    locked_for = user.locked_until - datetime.now(UTC)
    assert timedelta(seconds=0) < locked_for <= timedelta(seconds=POLICY.lockout_seconds)
    right = _attempt(site, "locked.out", PASSWORD)
    assert right.status_code == 401 and _alert(right.text) == SIGN_IN_REFUSED
    # Each further failure doubles the lock, up to the maximum.
    after = site.registry.users.get("locked.out")
    assert after is not None and after.locked_until is not None
    assert after.locked_until - datetime.now(UTC) > timedelta(seconds=POLICY.lockout_seconds)
    # When the lock has run out, the right password signs in and clears the count.
    with site.registry.engine.begin() as conn:
        conn.execute(
            update(UserRow)
            .where(UserRow.username == "locked.out")
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert _attempt(site, "locked.out", PASSWORD).status_code == 303
    cleared = site.registry.users.get("locked.out")
    assert cleared is not None and cleared.failed_attempts == 0 and cleared.locked_until is None


def test_an_admin_unlocks_a_locked_account(site: Site) -> None:
    add_person(site.registry, "unlock.me", "clinician")
    for _ in range(POLICY.max_failures):
        _attempt(site, "unlock.me", "not the password, no")
    admin = sign_in(site.url, "chief")
    page = admin.get("/admin").text
    assert re.search(r'data-username="unlock.me">.*?locked until', page, re.S)
    assert _admin_post(admin, "/admin/users/unlock.me/unlock", {}).status_code == 303
    assert _attempt(site, "unlock.me", PASSWORD).status_code == 303
    assert ("unlock_user", 200, "subject=unlock.me") in _actions(site, "chief")


def test_a_new_password_or_role_ends_the_sessions_of_that_user(site: Site) -> None:
    add_person(site.registry, "role.change", "clinician")
    add_person(site.registry, "pw.reset", "clinician")
    admin = sign_in(site.url, "chief")
    first, second = sign_in(site.url, "role.change"), sign_in(site.url, "pw.reset")
    assert (
        _admin_post(admin, "/admin/users/role.change/role", {"role": "coordinator"}).status_code
        == 303
    )
    assert first.get("/patients").status_code == 401
    assert sign_in(site.url, "role.change").get("/patients").status_code == 200
    new_password = "another long passphrase here"
    reset = _admin_post(admin, "/admin/users/pw.reset/password", {"password": new_password})
    assert reset.status_code == 303
    assert second.get("/patients").status_code == 401
    assert _attempt(site, "pw.reset", PASSWORD).status_code == 401
    assert sign_in(site.url, "pw.reset", new_password).get("/patients").status_code == 200


def test_changing_ones_own_password_ends_the_other_sessions(site: Site) -> None:
    add_person(site.registry, "self.service", "clinician")
    here, elsewhere = sign_in(site.url, "self.service"), sign_in(site.url, "self.service")
    form = here.get("/account")
    assert form.status_code == 200
    data = {"current": "wrong current password", "new": "short", "confirm": "short"}
    refused = here.post("/account/password", data={**data, "csrf": csrf_of(form.text)})
    assert refused.status_code == 422
    assert "Current password</a>: is not correct" in refused.text
    assert "New password</a>: must be at least 12 characters" in refused.text
    new = "my brand new passphrase"
    data = {"current": PASSWORD, "new": new, "confirm": new, "csrf": csrf_of(form.text)}
    changed = here.post("/account/password", data=data)
    assert changed.status_code == 303, changed.text
    assert elsewhere.get("/patients").status_code == 401  # the other session ended
    assert here.get("/account?saved=password").status_code == 200  # this one was renewed
    assert sign_in(site.url, "self.service", new).get("/patients").status_code == 200


def test_admin_forms_refuse_a_request_without_the_sessions_token(site: Site) -> None:
    admin = sign_in(site.url, "chief")
    data = {"username": "forged.user", "role": "admin", "password": PASSWORD}
    assert admin.post("/admin/users", data=data).status_code == 403
    assert admin.post("/admin/users", data={**data, "csrf": "not-the-token"}).status_code == 403
    assert (
        admin.post("/admin/keys", data={"name": "forged-key", "role": "admin"}).status_code == 403
    )
    with httpx.Client(base_url=site.url) as attacker:  # another site: no session, no token
        assert attacker.post("/admin/users", data=data).status_code == 401
    assert site.registry.users.get("forged.user") is None
    assert all(c["name"] != "forged-key" for c in site.registry.list_clients())
    refused = [(s, d) for a, s, d in _actions(site, "chief") if a == "refused"]
    assert (403, "this form must come from this site's own signed-in page: reload it") in refused


def test_only_admins_reach_the_admin_page(site: Site) -> None:
    add_person(site.registry, "plain.clinician", "clinician")
    add_person(site.registry, "plain.coordinator", "coordinator")
    for name in ("plain.clinician", "plain.coordinator"):
        person = sign_in(site.url, name)
        page = person.get("/admin")
        assert page.status_code == 403 and "Not allowed" in page.text
        assert 'href="/admin"' not in person.get("/patients").text
        token = csrf_of(person.get("/patients").text)
        data = {"username": f"{name}.made", "role": "admin", "password": PASSWORD, "csrf": token}
        assert person.post("/admin/users", data=data).status_code == 403
        assert site.registry.users.get(f"{name}.made") is None
        assert ("refused", 403) in [(a, s) for a, s, _ in _actions(site, name)]
    with httpx.Client(base_url=site.url) as anonymous:
        assert anonymous.get("/admin").status_code == 401


def test_the_admin_page_refuses_bad_input_naming_the_field(site: Site) -> None:
    admin = sign_in(site.url, "chief")
    cases = [
        ({"username": "x", "role": "clinician", "password": PASSWORD}, "Username"),
        ({"username": "short.pw", "role": "clinician", "password": "tiny9q"}, "Initial password"),
        (
            {"username": "same.as.name", "role": "clinician", "password": "same.as.name"},
            "Initial password",
        ),
        ({"username": "bad.role", "role": "superuser", "password": PASSWORD}, "Role"),
        ({"username": "CHIEF", "role": "clinician", "password": PASSWORD}, "Username"),
    ]
    for data, label in cases:
        answer = _admin_post(admin, "/admin/users", data)
        assert answer.status_code == 422, data
        assert f">{label}</a>:" in answer.text
        assert 'aria-invalid="true"' in answer.text
        assert not re.search(r'type="password"[^>]*value=', answer.text)  # never echoed
    assert site.registry.users.get("short.pw") is None
    own = _admin_post(admin, "/admin/users/chief/active", {"active": "false"})
    assert own.status_code == 409 and "cannot deactivate yourself" in own.text
    demote = _admin_post(admin, "/admin/users/chief/role", {"role": "clinician"})
    assert demote.status_code == 409
    refusals = [s for a, s, d in _actions(site, "chief") if a == "create_user" and s == 422]
    assert len(refusals) == len(cases)


def test_keys_for_machines_are_issued_once_and_revoked_on_the_admin_page(site: Site) -> None:
    admin = sign_in(site.url, "chief")
    issued = _admin_post(admin, "/admin/keys", {"name": "lab-interface", "role": "clinician"})
    assert issued.status_code == 201
    key = re.search(r'id="new-key"[^>]*value="(ot_[^"]+)"', issued.text)
    assert key is not None
    secret = key.group(1)
    with httpx.Client(base_url=site.url, headers={"X-API-Key": secret}) as machine:
        assert machine.get("/api/patients").status_code == 200
    listing = admin.get("/admin").text
    assert secret not in listing and secret[:10] in listing  # the start, never the secret
    row = re.search(r'<tr data-key="lab-interface">(.*?)</tr>', listing, re.S)
    assert row is not None and "never" not in row.group(1)  # last used is shown
    again = _admin_post(admin, "/admin/keys", {"name": "lab-interface", "role": "admin"})
    assert again.status_code == 422 and "a key with this name exists" in again.text
    person = _admin_post(admin, "/admin/keys", {"name": "chief", "role": "admin"})
    assert person.status_code == 422 and "user" in person.text
    revoked = _admin_post(admin, "/admin/keys/lab-interface/revoke", {})
    assert revoked.status_code == 303
    with httpx.Client(base_url=site.url, headers={"X-API-Key": secret}) as machine:
        assert machine.get("/api/patients").status_code == 401
    events = {a for a, _, d in _actions(site, "chief") if d == "subject=lab-interface"}
    assert {"create_client", "revoke_client"} <= events


def test_the_login_page_is_for_people_only(site: Site) -> None:
    secret = site.registry.add_client("a-machine", "admin")
    with httpx.Client(base_url=site.url, timeout=60) as browser:
        form = browser.get("/login")
        assert 'name="api_key"' not in form.text and 'autocomplete="current-password"' in form.text
        answer = browser.post("/login", data={"api_key": secret, "csrf": csrf_of(form.text)})
        assert answer.status_code == 401 and SESSION not in answer.cookies
        as_name = browser.post(
            "/login", data={"username": "a-machine", "password": secret, "csrf": csrf_of(form.text)}
        )
        assert as_name.status_code == 401 and SESSION not in as_name.cookies


def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(site: Site) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    site.registry.users.add("old.hash", weak.hash(PASSWORD), "clinician")
    assert sign_in(site.url, "old.hash").get("/patients").status_code == 200
    user = site.registry.users.get("old.hash")
    assert user is not None
    default = PasswordHasher()
    assert f"m={default.memory_cost},t={default.time_cost},p={default.parallelism}" in (
        user.password_hash
    )
    assert sign_in(site.url, "old.hash").get("/patients").status_code == 200


def test_the_cli_adds_the_first_admin_with_the_password_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    command = [sys.executable, "-m", "osteotarget.cli", "users"]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args, "--database-url", url],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    short = run("add", "--role", "admin", "First.Admin", stdin="too short\n")
    assert short.returncode == 2 and "password: must be at least 12" in short.stderr
    bad_role = run("add", "--role", "root", "first.admin", stdin=PASSWORD + "\n")
    assert bad_role.returncode == 2 and "role: must be one of" in bad_role.stderr
    made = run("add", "--role", "admin", "First.Admin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "first.admin added (role admin)" in made.stdout
    assert run("add", "first.admin", stdin=PASSWORD + "\n").returncode == 2  # taken
    listed = run("list", "--format", "json")
    assert '"username": "first.admin"' in listed.stdout and "argon2" not in listed.stdout
    assert run("deactivate", "first.admin").returncode == 0
    registry = Registry(url)
    try:
        user = registry.users.get("first.admin")
        assert user is not None and user.role == "admin" and not user.active
        actions = {e["action"] for e in registry.audit_entries() if e["actor"].startswith("cli:")}
        assert {"create_user", "deactivate_user"} <= actions
        with registry.engine.connect() as conn:
            stored = conn.execute(text("SELECT password_hash FROM users")).scalar()
        assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    finally:
        registry.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0004_upgrades_a_registry_keeping_its_keys(backend: str, tmp_path: Path) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    with database_url(backend, tmp_path / "upgrade.sqlite3", "upgrade") as url:
        registry = Registry(url)
        config = Config()
        config.set_main_option(
            "script_location", str(resources.files("osteotarget.store") / "migrations")
        )
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        try:
            key = "ot_a-key-issued-before-migration-0004"
            with registry.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "0003")
                conn.execute(
                    text(
                        "INSERT INTO clients (name, role, key_prefix, key_hash, created_at) "
                        "VALUES ('before-0004', 'clinician', :prefix, :hash, :at)"
                    ),
                    {"prefix": key[:10], "hash": hash_key(key), "at": datetime.now(UTC)},
                )
            registry.migrate()
            assert registry.readiness()["schema"]["ok"]
            assert registry.client_for_key(key) is not None  # the key still works
            (client,) = registry.list_clients()
            assert client["last_used_at"] is not None  # and its use is now noted
            assert registry.users.count() == 0
        finally:
            registry.close()


def test_signing_in_again_ends_the_browsers_previous_session(site: Site) -> None:
    add_person(site.registry, "twice.in", "clinician")
    browser = sign_in(site.url, "twice.in")
    first = browser.cookies[SESSION]
    form = browser.get("/login")
    again = browser.post(
        "/login", data={"username": "twice.in", "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert again.status_code == 303 and browser.cookies[SESSION] != first
    with httpx.Client(base_url=site.url, cookies={SESSION: first}) as replayed:
        assert replayed.get("/patients").status_code == 401
    assert browser.get("/patients").status_code == 200


def _with_idle_deadline(token: str, seconds_from_now: float) -> str:
    """The same session token re-signed with its idle deadline moved (as if the browser had
    last been used that long before the limit)."""
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="osteotarget")
    claims["idl"] = int(datetime.now(UTC).timestamp() + seconds_from_now)
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_a_session_unused_for_the_idle_limit_ends(site: Site) -> None:
    """NIST SP 800-63B §4.2.3 (AAL2): re-authentication after at most 30 minutes without
    activity. The session's own token says when it ends; it is refused after that."""
    add_person(site.registry, "idle.user", "clinician")
    browser = sign_in(site.url, "idle.user")
    issued = jwt.decode(
        browser.cookies[SESSION], SECRET, algorithms=["HS256"], audience="osteotarget"
    )
    assert 29 * 60 <= issued["idl"] - issued["iat"] <= 30 * 60  # the default limit
    stale = _with_idle_deadline(browser.cookies[SESSION], -120)  # unused past its limit
    with httpx.Client(base_url=site.url, cookies={SESSION: stale}) as idle:
        refused = idle.get("/patients")
        assert refused.status_code == 401 and "Sign in" in refused.text
        assert idle.get("/api/patients").status_code == 401
        signed_out = idle.post("/logout", data={"csrf": ""}, follow_redirects=False)
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
    details = [d for a, s, d in _actions(site, "idle.user") if a == "refused"]
    assert any("without activity" in d for d in details), details


def test_activity_renews_the_idle_deadline_and_open_forms_still_work(site: Site) -> None:
    """Each answer to a live session moves its idle deadline on (the same session: its
    anti-forgery token, bound to the session id, still matches a page rendered before)."""
    admin = sign_in(site.url, "chief")
    held = next(c for c in admin.cookies.jar if c.name == SESSION)
    admin.cookies.set(SESSION, _with_idle_deadline(held.value or "", 300), held.domain, held.path)
    before = admin.cookies[SESSION]
    page = admin.get("/admin")  # rendered with the old cookie: its form carries that token
    assert page.status_code == 200
    renewed = admin.cookies[SESSION]
    assert renewed != before
    claims = jwt.decode(renewed, SECRET, algorithms=["HS256"], audience="osteotarget")
    old = jwt.decode(before, SECRET, algorithms=["HS256"], audience="osteotarget")
    assert claims["jti"] == old["jti"] and claims["exp"] == old["exp"]
    assert claims["idl"] - datetime.now(UTC).timestamp() > 25 * 60
    unchanged = admin.get("/admin")  # just renewed: no new cookie for every answer
    assert "set-cookie" not in unchanged.headers
    added = admin.post(
        "/admin/users",
        data={
            "username": "after.renewal",
            "role": "clinician",
            "password": PASSWORD,
            "csrf": csrf_of(page.text),
        },
    )
    assert added.status_code == 303 and "saved=user-added" in added.headers["location"]
