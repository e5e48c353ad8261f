"""People and keys: the admin page (``/admin``, admin role only) and a person's own account
page (``/account``: change one's own password).

On ``/admin`` an administrator lists users, adds one (with an initial password), changes a
role, deactivates or reactivates, resets a password or unlocks an account; lists API keys
(machines: name, role, created, last used — never the secret), issues one (its secret shown
once, on the answer to that form only) or revokes one. Every form carries the session's
anti-forgery token (:data:`~osteotarget.web.pages.FormCaller`); every action, done or
refused, is an audit row naming the actor and the subject. A refused form names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from osteotarget.security import AuthError, Principal
from osteotarget.security.passwords import (
    MAX_LENGTH,
    USERNAME_PATTERN,
    check_password,
    hash_password,
    normalise_username,
    password_problem,
    username_problem,
)
from osteotarget.store import ROLES, UserExists
from osteotarget.web.deps import audit_credential, audit_refusal, audited, service
from osteotarget.web.pages import (
    FormCaller,
    LoginRequired,
    PageCaller,
    page_caller,
    start_session,
    templates,
)

router = APIRouter(include_in_schema=False)
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$")  # as the API's client names
_USERNAME = re.compile(USERNAME_PATTERN)
DONE = {
    "user-added": "User {who} added. Give them their initial password by a separate channel.",
    "role": "Role of {who} changed; their open sessions ended.",
    "deactivated": "{who} deactivated; their open sessions ended.",
    "reactivated": "{who} reactivated.",
    "password": "Password of {who} reset; their open sessions ended and any lock was cleared.",
    "unlocked": "{who} unlocked.",
    "revoked": "Key {who} revoked: it and every token issued for it stopped working.",
}


@dataclass(frozen=True)
class FieldError:
    """A refused form field: the input's id, its label, why (never the value of a secret)."""

    id: str
    label: str
    message: str
    value: str = ""


def _require_admin(request: Request, caller: Principal) -> Principal:
    try:
        caller.require("admin")
    except AuthError as exc:
        audit_refusal(request, exc)
        raise LoginRequired("This page is for administrators.", forbidden=True) from None
    return caller


def _page(
    request: Request,
    caller: Principal,
    *,
    errors: list[FieldError] | None = None,
    values: dict[str, str] | None = None,
    done: str = "",
    new_key: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    registry = service(request).registry
    users = registry.users.listing()
    at = datetime.now(UTC)
    for index, user in enumerate(users, 1):
        user["index"] = index
        user["locked"] = user["locked_until"] is not None and user["locked_until"] > at
    keys = registry.list_clients()
    for index, key in enumerate(keys, 1):
        key["index"] = index
    return templates.TemplateResponse(
        request,
        "admin.html",
        {
            "user": caller,
            "users": users,
            "keys": keys,
            "roles": ROLES,
            "errors": errors or [],
            "values": values or {},
            "done": done,
            "new_key": new_key,
            "policy": service(request).settings.sign_in,
        },
        status_code=status,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, caller: PageCaller, saved: str = "", who: str = "") -> Response:
    _require_admin(request, caller)
    audited(request, caller, "admin_page", None)
    done = ""
    if saved in DONE and (_USERNAME.fullmatch(who) or KEY_NAME.fullmatch(who)):
        done = DONE[saved].format(who=who)
    return _page(request, caller, done=done)


def _done(code: str, who: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse("/admin?" + urlencode({"saved": code, "who": who}), status_code=303)


def _refused(
    request: Request,
    caller: Principal,
    action: str,
    subject: str,
    errors: list[FieldError],
    values: dict[str, str] | None = None,
    status: int = 422,
) -> Response:
    audit_credential(request, caller, action, subject or "(none)", status)
    return _page(request, caller, errors=errors, values=values, status=status)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _known_user(request: Request, username: str) -> bool:
    return service(request).registry.users.get(username) is not None


# ---- users -------------------------------------------------------------------------------


@router.post("/admin/users", response_class=HTMLResponse)
async def add_user(request: Request, caller: FormCaller) -> Response:
    _require_admin(request, caller)
    form = await _form(request)
    username = normalise_username(form.get("username", ""))[:64]
    role = form.get("role", "")
    password = form.get("password", "")
    errors: list[FieldError] = []
    problem = username_problem(username)
    if problem:
        errors.append(FieldError("new-username", "Username", problem, username))
    if role not in ROLES:
        errors.append(FieldError("new-role", "Role", f"must be one of {', '.join(ROLES)}", role))
    problem = password_problem(password, username)
    if problem:
        errors.append(FieldError("new-password", "Initial password", problem))
    values = {"username": username, "role": role}
    if not errors:
        try:
            service(request).registry.users.add(username, hash_password(password), role)
        except UserExists:
            errors.append(
                FieldError("new-username", "Username", "is taken by a user or an API key", username)
            )
    if errors:
        return _refused(request, caller, "create_user", username, errors, values)
    audit_credential(request, caller, "create_user", username, 201)
    return _done("user-added", username)


def _target(request: Request, username: str) -> str | None:
    name = normalise_username(username)
    return name if _USERNAME.fullmatch(name) and _known_user(request, name) else None


@router.post("/admin/users/{username}/role", response_class=HTMLResponse)
async def change_role(request: Request, caller: FormCaller, username: str) -> Response:
    _require_admin(request, caller)
    form = await _form(request)
    name = _target(request, username)
    role = form.get("role", "")
    if name is None:
        return _refused(request, caller, "change_role", username[:64], [_no_user(username)])
    field = f"role-{_index_of(request, name)}"
    if role not in ROLES:
        error = FieldError(field, f"Role of {name}", f"must be one of {', '.join(ROLES)}", role)
        return _refused(request, caller, "change_role", name, [error])
    if name == caller.name.lower():
        error = FieldError(field, f"Role of {name}", "you cannot change your own role")
        return _refused(request, caller, "change_role", name, [error], status=409)
    service(request).registry.users.set_role(name, role)
    audit_credential(request, caller, "change_role", f"{name} role={role}")
    return _done("role", name)


@router.post("/admin/users/{username}/active", response_class=HTMLResponse)
async def set_active(request: Request, caller: FormCaller, username: str) -> Response:
    _require_admin(request, caller)
    form = await _form(request)
    name = _target(request, username)
    if name is None:
        return _refused(request, caller, "deactivate_user", username[:64], [_no_user(username)])
    active = form.get("active", "") == "true"
    action = "reactivate_user" if active else "deactivate_user"
    if not active and name == caller.name.lower():
        field = f"active-{_index_of(request, name)}"
        error = FieldError(field, f"Deactivate {name}", "you cannot deactivate yourself")
        return _refused(request, caller, action, name, [error], status=409)
    service(request).registry.users.set_active(name, active)
    audit_credential(request, caller, action, name)
    return _done("reactivated" if active else "deactivated", name)


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
async def reset_password(request: Request, caller: FormCaller, username: str) -> Response:
    _require_admin(request, caller)
    form = await _form(request)
    name = _target(request, username)
    if name is None:
        return _refused(request, caller, "reset_password", username[:64], [_no_user(username)])
    field = f"password-{_index_of(request, name)}"
    if name == caller.name.lower():
        error = FieldError(field, f"New password for {name}", "change your own on Your account")
        return _refused(request, caller, "reset_password", name, [error], status=409)
    problem = password_problem(form.get("password", ""), name)
    if problem:
        error = FieldError(field, f"New password for {name}", problem)
        return _refused(request, caller, "reset_password", name, [error])
    service(request).registry.users.set_password(name, hash_password(form["password"]))
    audit_credential(request, caller, "reset_password", name)
    return _done("password", name)


@router.post("/admin/users/{username}/unlock", response_class=HTMLResponse)
async def unlock(request: Request, caller: FormCaller, username: str) -> Response:
    _require_admin(request, caller)
    name = _target(request, username)
    if name is None:
        return _refused(request, caller, "unlock_user", username[:64], [_no_user(username)])
    service(request).registry.users.unlock(name)
    audit_credential(request, caller, "unlock_user", name)
    return _done("unlocked", name)


def _no_user(username: str) -> FieldError:
    return FieldError("users", "User", "no such user (reload the page)", username[:64])


def _index_of(request: Request, username: str) -> int:
    """The row of ``username`` on the page (the ids of its inputs)."""
    names = [u["username"] for u in service(request).registry.users.listing()]
    return names.index(username) + 1 if username in names else 0


# ---- API keys (machines) -------------------------------------------------------------------


@router.post("/admin/keys", response_class=HTMLResponse)
async def issue_key(request: Request, caller: FormCaller) -> Response:
    _require_admin(request, caller)
    form = await _form(request)
    name = form.get("name", "").strip()[:200]
    role = form.get("role", "")
    errors: list[FieldError] = []
    if not KEY_NAME.fullmatch(name):
        errors.append(
            FieldError(
                "key-name",
                "Key name",
                "must be 1-200 letters, digits, '.', '_', '@' or '-', starting with a letter "
                "or digit",
                name,
            )
        )
    if role not in ROLES:
        errors.append(FieldError("key-role", "Role", f"must be one of {', '.join(ROLES)}", role))
    registry = service(request).registry
    if not errors and any(c["name"] == name for c in registry.list_clients()):
        errors.append(FieldError("key-name", "Key name", "a key with this name exists", name))
    key = ""
    if not errors:
        try:
            key = registry.add_client(name, role)
        except UserExists:
            errors.append(FieldError("key-name", "Key name", "is a user's name", name))
    if errors:
        values = {"name": name, "role": role}
        return _refused(request, caller, "create_client", name, errors, values)
    audit_credential(request, caller, "create_client", name, 201)
    shown = {"name": name, "role": role, "key": key}
    return _page(request, caller, new_key=shown, status=201)


@router.post("/admin/keys/{name}/revoke", response_class=HTMLResponse)
async def revoke_key(request: Request, caller: FormCaller, name: str) -> Response:
    _require_admin(request, caller)
    if not KEY_NAME.fullmatch(name) or not service(request).registry.revoke_client(name):
        error = FieldError("keys", "Key", "no such key (reload the page)", name[:200])
        return _refused(request, caller, "revoke_client", name[:200], [error], status=404)
    audit_credential(request, caller, "revoke_client", name)
    return _done("revoked", name)


# ---- one's own account ---------------------------------------------------------------------


def _account_page(
    request: Request,
    caller: Principal,
    errors: list[FieldError] | None = None,
    done: bool = False,
    status: int = 200,
) -> Response:
    person = service(request).registry.users.get(caller.name) if caller.kind == "user" else None
    context: dict[str, Any] = {
        "user": caller,
        "person": person,
        "errors": errors or [],
        "done": done,
        "max_length": MAX_LENGTH,
    }
    return templates.TemplateResponse(request, "account.html", context, status_code=status)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, caller: PageCaller, saved: str = "") -> Response:
    audited(request, caller, "account_page", None)
    return _account_page(request, caller, done=saved == "password")


@router.post("/account/password", response_class=HTMLResponse)
async def change_own_password(request: Request, caller: FormCaller) -> Response:
    """A person changes their own password: the current one first (failures count towards
    the lockout), then every session of theirs ends and this browser gets a new one."""
    if caller.kind != "user":
        raise LoginRequired("Only a person signed in with a password has one.", forbidden=True)
    form = await _form(request)
    svc = service(request)
    users = svc.registry.users
    person = users.get(caller.name)
    if person is None:  # deactivated or gone since the session was checked
        page_caller(request)
        raise LoginRequired("Sign in again.")
    errors: list[FieldError] = []
    current_ok = check_password(person.password_hash, form.get("current", "")).ok
    if not current_ok:
        users.record_failure(person.username, svc.settings.sign_in.locked_until)
        errors.append(FieldError("current", "Current password", "is not correct"))
    new = form.get("new", "")
    problem = password_problem(new, person.username)
    if problem:
        errors.append(FieldError("new", "New password", problem))
    elif new != form.get("confirm", ""):
        errors.append(FieldError("confirm", "New password again", "does not match"))
    elif current_ok and check_password(person.password_hash, new).ok:
        errors.append(FieldError("new", "New password", "is the current one: choose another"))
    if errors:
        audit_credential(request, caller, "change_password", person.username, 422)
        return _account_page(request, caller, errors, status=422)
    users.set_password(person.username, hash_password(new))
    changed = users.get(person.username)
    if changed is None or not changed.active:
        raise LoginRequired("Sign in again.")
    audit_credential(request, caller, "change_password", person.username)
    return start_session(request, changed, "/account?saved=password", "login")
