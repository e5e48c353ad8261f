"""`osteotarget users add|password|list|deactivate|activate|unlock`: the people who sign in.

For a real install: ``osteotarget users add --role admin NAME`` creates the first
administrator, who then manages everyone else on ``/admin``. A password is never an argument
(it would sit in the shell history and the process list): it is asked for twice on a
terminal, or read from the first line of standard input (``--password-stdin`` style, for
provisioning scripts). Every change is an audit row (actor ``cli:<os user>``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from osteotarget.commands._common import usage_error

ACTIONS = ("add", "password", "list", "deactivate", "activate", "unlock")


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "users", help="add people who sign in, reset a password, list, (de)activate, unlock"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    for action in ACTIONS:
        one = actions.add_parser(action, help=HELP[action])
        if action != "list":
            one.add_argument("username")
        if action == "add":
            one.add_argument(
                "--role", default="clinician", help="clinician (default), coordinator or admin"
            )
        if action == "list":
            one.add_argument("--format", choices=("text", "json"), default="text")
        one.add_argument(
            "--database-url",
            default=None,
            help="SQLAlchemy URL (default: OSTEOTARGET_DATABASE_URL)",
        )
        one.set_defaults(run=run)


HELP = {
    "add": "add a person (password asked twice on a terminal, else read from stdin)",
    "password": "reset a password (their sessions end; a lockout clears)",
    "list": "list the people (no passwords, no hashes)",
    "deactivate": "deactivate a person (their sessions end at once)",
    "activate": "reactivate a person",
    "unlock": "clear a lockout after failed sign-ins",
}


def _read_password(username: str) -> str:
    """Twice from a terminal (no echo), else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {username}: ")
        if first != getpass.getpass("The same password again: "):
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    from osteotarget.security.passwords import (
        hash_password,
        normalise_username,
        password_problem,
        username_problem,
    )
    from osteotarget.store import ROLES, Registry, UserExists, default_url

    url = args.database_url or os.environ.get("OSTEOTARGET_DATABASE_URL") or default_url()
    registry = Registry(url)
    try:
        registry.migrate()
        if args.action == "list":
            return _list(registry, args.format)
        name = normalise_username(args.username)
        problem = username_problem(name)
        if problem:
            return usage_error(f"refused: username: {problem} (value: {args.username[:64]})")
        if args.action == "add":
            if args.role not in ROLES:
                return usage_error(
                    f"refused: role: must be one of {', '.join(ROLES)} (value: {args.role[:20]})"
                )
            password = _read_password(name)
            problem = password_problem(password, name)
            if problem:
                return usage_error(f"refused: password: {problem}")
            try:
                registry.users.add(name, hash_password(password), args.role)
            except UserExists:
                return usage_error(f"refused: username: is taken (value: {name})")
            _audit(registry, "create_user", name, 201)
            print(f"osteotarget users: {name} added (role {args.role})")
            return 0
        if registry.users.get(name) is None:
            return usage_error(f"refused: username: no such user (value: {name})")
        if args.action == "password":
            password = _read_password(name)
            problem = password_problem(password, name)
            if problem:
                return usage_error(f"refused: password: {problem}")
            registry.users.set_password(name, hash_password(password))
            _audit(registry, "reset_password", name)
            print(f"osteotarget users: password of {name} reset; their sessions ended")
            return 0
        if args.action == "unlock":
            registry.users.unlock(name)
        else:
            registry.users.set_active(name, args.action == "activate")
        action = {"unlock": "unlock_user", "activate": "reactivate_user"}.get(
            args.action, "deactivate_user"
        )
        _audit(registry, action, name)
        print(f"osteotarget users: {name}: {args.action} done")
        return 0
    finally:
        registry.close()


def _list(registry: Any, fmt: str) -> int:
    rows = registry.users.listing()
    shown = [
        {
            "username": r["username"],
            "role": r["role"],
            "active": r["active"],
            "failed_attempts": r["failed_attempts"],
            "last_login_at": r["last_login_at"].isoformat() if r["last_login_at"] else None,
        }
        for r in rows
    ]
    if fmt == "json":
        sys.stdout.write(json.dumps(shown, indent=2) + "\n")
        return 0
    for r in shown:
        state = "active" if r["active"] else "deactivated"
        print(
            f"{r['username']}\t{r['role']}\t{state}\tlast sign-in {r['last_login_at'] or 'never'}"
        )
    return 0


def _audit(registry: Any, action: str, subject: str, status: int = 200) -> None:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid())
    registry.audit(
        actor=f"cli:{who}",
        role="admin",
        action=action,
        patient_id=None,
        method="CLI",
        path="osteotarget users",
        remote="local",
        status=status,
        detail=f"subject={subject}",
    )
