"""Who is asking: the user of a request and the one permission check every view and API call makes.

The console's two modes give every request a `User` (flask.g.user, set by the access hook in app.py):
- local (bound to 127.0.0.1, the launch token): the one clerk at this PC, `role=None`, who may do everything;
- accounts (an office server): the signed-in account, whose role (data/roles.yaml) decides, on the server, for
  every request, what it may see and change; a department role reaches its own department's rows only.
Before any view runs, `check` applies the endpoint's rule from endpoints.ENDPOINTS (refused when missing); views
may call `require(permission, department)` for finer checks; `actor()` is who an audited change is recorded as."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, request
from werkzeug.exceptions import Forbidden

from ..actions.accounts import Actor
from ..adapters.office_db import Account
from ..config import load_roles
from ..core.access import PERMISSIONS
from .endpoints import ENDPOINTS, PUBLIC, SIGNED_IN

LOCAL_NAME = "本机"


@dataclass(frozen=True)
class User:
    name: str
    role: str | None  # None: the local clerk of a console on 127.0.0.1 (every permission)
    department: str | None = None  # a department role's one department
    from_address: str = ""

    must_change_password: bool = False

    @property
    def local(self) -> bool:
        return self.role is None

    @classmethod
    def of(cls, account: Account, from_address: str) -> "User":
        return cls(account.name, account.role, account.department, from_address, account.must_change_password)


class Refused(Forbidden):
    """403 with a Chinese message naming what the account may not do."""

    def __init__(self, message: str):
        super().__init__(description=message)


def current() -> User:
    return g.user


def may(permission: str, department: str | None = None) -> bool:
    """May the request's user use `permission` (on `department`'s rows when given)?"""
    user = current()
    if user.local:
        return True
    return load_roles().allowed(user.role or "", permission, user.department, department)


def require(permission: str, department: str | None = None) -> None:
    if not may(permission, department):
        what = PERMISSIONS[permission]
        whose = f"（{department}）" if department else ""
        raise Refused(f"您的账号（{current().role}）无权{what}{whose}")


def actor() -> Actor:
    user = current()
    return Actor(user.name, user.from_address)


def department_asked(field: str) -> str | None:
    """The one department a request asks about (view argument, query string, JSON body or form), if any."""
    found: Any = (request.view_args or {}).get(field) or request.args.get(field)
    if not found and request.method != "GET":
        body = request.get_json(silent=True) if request.is_json else request.form
        found = body.get(field) if hasattr(body, "get") else None  # a posted list or number names none
    return found.strip() or None if isinstance(found, str) else None


def check(endpoint: str | None) -> None:
    """The endpoint table's rule for this request (endpoints.ENDPOINTS), on the server, before the view runs:
    an endpoint missing from the table is refused to everyone."""
    rule = ENDPOINTS.get(endpoint or "")
    if rule is None:
        raise Refused("此功能尚未登记权限，已拒绝访问")
    if rule.permission in (PUBLIC, SIGNED_IN):
        return
    permission = rule.permission
    if rule.by is not None:
        argument, overrides = rule.by
        permission = overrides.get(str((request.view_args or {}).get(argument, "")), permission)
    department = department_asked(rule.department) if rule.department else None
    if department is not None:
        require(rule.one or permission, department)
    else:
        require(permission)
