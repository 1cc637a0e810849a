"""Who is asking: the user of a request and the one permission check every view and API call makes.

The console's two modes give every request a `User` (flask.g.user, set by the access hook in app.py):
- local (bound to 127.0.0.1, the launch token): the one clerk at this PC, `role=None`, who may do everything;
- accounts (an office server): the signed-in account, whose role (data/roles.yaml) decides, on the server, for
  every request, what it may see and change; a department role reaches its own department's rows only.
Views call `require(permission, department)`; `actor()` is who an audited change is recorded as."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from werkzeug.exceptions import Forbidden

from ..actions.accounts import Actor
from ..config import load_roles
from ..core.access import PERMISSIONS

LOCAL_NAME = "本机"


@dataclass(frozen=True)
class User:
    name: str
    role: str | None  # None: the local clerk of a console on 127.0.0.1 (every permission)
    department: str | None = None  # a department role's one department
    from_address: str = ""

    @property
    def local(self) -> bool:
        return self.role is None


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
