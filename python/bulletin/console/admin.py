"""The office server's accounts (管理员) and its audit log, as pages and a JSON API over the same actions as
`bulletin users …` (actions/accounts.py) and actions/audit.py:
  GET  /admin, GET /api/users                      the accounts, the roles and the registry's departments
  POST /api/users {name, role, department, password?}     a new account (no password: a temporary one, shown once)
  POST /api/users/import (multipart `accounts`)    a CSV of department accounts (用户名,角色,部门,初始密码)
  POST /api/users/<name>/<disable|enable|reset|bind>   bind: {role, department}; reset answers the temporary password
  GET  /audit, GET /api/audit?month=&user=&department=&action=&page=   the log, newest first (JSON)
  GET  /api/audit.xlsx?…                           the same filter as an .xlsx download
Who may call each is in endpoints.py (accounts.manage, audit.read)."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_file

from ..actions import accounts, audit
from ..adapters.office_db import Account, OfficeDB
from ..config import load_registry, load_roles
from ..errors import UserError
from .auth import actor

bp = Blueprint("admin", __name__)
NO_ACCOUNTS = "本工作台未启用账号（只在办公服务器上使用账号、角色和审计日志）"


def _db() -> OfficeDB | None:
    return current_app.extensions["bulletin.guard"].db


def _answer(work: Any) -> Any:
    """Run `work(db)`; its JSON body, or the action's Chinese message (400)."""
    db = _db()
    if db is None:
        return jsonify({"error": NO_ACCOUNTS}), 404
    try:
        return jsonify(work(db)), 200
    except UserError as exc:
        return jsonify({"error": str(exc)}), 400


def _account_json(a: Account) -> dict[str, Any]:
    return {"name": a.name, "role": a.role, "department": a.department, "disabled": a.disabled,
            "must_change_password": a.must_change_password, "locked_until": a.locked_until,
            "failed_attempts": a.failed_attempts, "created_at": audit.local_time(a.created_at)}


def _data() -> dict[str, Any]:
    return request.get_json(silent=True) or request.form


@bp.get("/admin")
def page() -> Any:
    return render_template("admin.html")


@bp.get("/api/users")
def users() -> Any:
    roles = load_roles()
    return _answer(lambda db: {
        "users": [_account_json(a) for a in accounts.list_accounts(db)],
        "roles": [{"name": r, "department": roles.bound(r)} for r in roles.names()],
        "departments": load_registry().names()})


@bp.post("/api/users")
def add_user() -> Any:
    def work(db: OfficeDB) -> dict[str, Any]:
        data = _data()
        given = str(data.get("password") or "")
        password = given or accounts.temporary_password()
        added = accounts.add(db, str(data.get("name") or ""), str(data.get("role") or ""),
                             str(data.get("department") or "") or None, password, actor())
        # a temporary password is shown to the administrator once, never stored in clear
        return {"user": _account_json(added), **({} if given else {"password": password})}

    return _answer(work)


@bp.post("/api/users/import")
def import_users() -> Any:
    upload = request.files.get("accounts")

    def work(db: OfficeDB) -> dict[str, Any]:
        if upload is None or not upload.filename:
            raise UserError("请选择要导入的账号表（CSV：用户名,角色,部门,初始密码）")
        with tempfile.TemporaryDirectory(prefix="bulletin-accounts-") as tmp:
            path = Path(tmp) / (Path(upload.filename.replace("\\", "/")).stem[:60] + ".csv")
            upload.save(path)
            added = accounts.import_csv(db, path, actor())
        return {"users": [_account_json(a) for a in added]}

    return _answer(work)


@bp.post("/api/users/<name>/<change>")
def change_user(name: str, change: str) -> Any:
    def work(db: OfficeDB) -> dict[str, Any]:
        if change == "disable":
            return {"sessions_ended": accounts.disable(db, name, actor())}
        if change == "enable":
            accounts.enable(db, name, actor())
            return {"enabled": True}
        if change == "reset":
            return {"password": accounts.reset(db, name, actor())}
        if change == "bind":
            data = _data()
            bound = accounts.bind(db, name, str(data.get("role") or ""), str(data.get("department") or "") or None,
                                  actor())
            return {"user": _account_json(bound)}
        raise UserError(f"没有这个操作：{change}")

    return _answer(work)


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "") for k in ("month", "user", "department", "action")}


@bp.get("/audit")
def audit_page() -> Any:
    return render_template("audit.html", actions=audit.ACTIONS)


@bp.get("/api/audit")
def audit_log() -> Any:
    return _answer(lambda db: audit.query(db, **_filters(), page=request.args.get("page", 1),
                                          per_page=request.args.get("per_page", audit.PER_PAGE)))


@bp.get("/api/audit.xlsx")
def audit_export() -> Any:
    db = _db()
    if db is None:
        return jsonify({"error": NO_ACCOUNTS}), 404
    try:
        with tempfile.TemporaryDirectory(prefix="bulletin-audit-") as tmp:
            path = audit.export_xlsx(db, Path(tmp) / "审计日志.xlsx", **_filters())
            data = path.read_bytes()
    except UserError as exc:
        return jsonify({"error": str(exc)}), 400
    response: Response = send_file(io.BytesIO(data), as_attachment=True, download_name="审计日志.xlsx",
                                   mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return response
