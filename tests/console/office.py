"""Helpers of the office-server console tests: an office database with one account per role (each past its
first password change), the console in accounts mode on Flask's test client, and signing in through the API."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bulletin.actions import accounts
from bulletin.actions.accounts import Actor
from bulletin.adapters.office_db import OfficeDB
from bulletin.console.app import Settings, create_app
from bulletin.console.security import Guard

BASE = "http://bulletin.intranet:8080"
PASSWORD = "办公室的密码-2023"
SETUP = Actor("测试准备", "127.0.0.1")
DEPT_A, DEPT_B = "交通局", "住建局"
# name -> (role, department)
ROLE_ACCOUNTS = {"admin": ("管理员", None), "clerk": ("科员", None), "filler": ("部门填报员", DEPT_A),
                 "leader": ("领导", None)}


def add_ready(db: OfficeDB, name: str, role: str, department: str | None = None) -> None:
    """An account that has already changed its first password to PASSWORD."""
    accounts.add(db, name, role, department, "临时密码-12345", SETUP)
    accounts.change_password(db, name, "临时密码-12345", PASSWORD, "127.0.0.1")


def office_console(db_url: str, folder: Path, trusted_proxy: str | None = None) -> SimpleNamespace:
    db = OfficeDB(db_url)
    for name, (role, department) in ROLE_ACCOUNTS.items():
        add_ready(db, name, role, department)
    guard = Guard(port=8080, remote=True, db=db, trusted_proxy=trusted_proxy)
    app = create_app(Settings(folder=folder), guard)
    return SimpleNamespace(app=app, db=db, guard=guard, folder=folder)


def sign_in(client, name: str, password: str = PASSWORD, base: str = BASE) -> dict[str, str]:
    """Log in through POST /api/login; the headers a state change needs (the CSRF token from /api/me)."""
    res = client.post("/api/login", json={"username": name, "password": password}, base_url=base)
    assert res.status_code == 200, res.get_json()
    me = client.get("/api/me", base_url=base)
    assert me.status_code == 200, me.get_data(as_text=True)
    return {"X-CSRFToken": me.get_json()["csrf_token"]}
