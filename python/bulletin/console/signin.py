"""Signing in and out of an office server (accounts mode), and one's own password: the login page and
POST /api/login {"username", "password"} (JSON) -> the session cookie; POST /logout, /api/logout; GET /api/me
(who is signed in, the CSRF token a script sends as X-CSRFToken); the password page and POST /api/password
{"old", "new"} — the only things an account that must change its first password can reach. Every login,
failure and change is audited by actions/accounts.py."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request
from flask_wtf.csrf import generate_csrf

from ..actions import accounts
from ..errors import UserError
from .auth import current
from .security import COOKIE, Guard

bp = Blueprint("signin", __name__)
# what an account that must change its first password may still reach
FIRST_LOGIN_ENDPOINTS = ("static", "signin.login", "signin.api_login", "signin.logout", "signin.api_logout",
                         "signin.me", "signin.password", "signin.api_password")


def guard() -> Guard:
    return current_app.extensions["bulletin.guard"]


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, path="/")


def _signed_in(result: accounts.LoginResult, response: Response) -> Response:
    set_session_cookie(response, result.token)
    return response


def _address() -> str:
    return guard().client_address(request.environ, request.headers)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if not guard().accounts:
        return redirect("/")
    error, name = None, ""
    if request.method == "POST":  # the page's form (CSRF-checked by the access hook, like every form)
        name = request.form.get("username", "")
        try:
            result = accounts.login(guard().db, name, request.form.get("password", ""), _address())
        except accounts.LoginRefused as exc:
            error = str(exc)
        else:
            back = request.args.get("next", "")
            back = back if back.startswith("/") and not back.startswith(("//", "/\\")) else "/"  # never off-site
            return _signed_in(result, redirect("/password" if result.must_change_password else back))
    return render_template("login.html", error=error, username=name), 401 if error else 200


@bp.post("/api/login")
def api_login() -> Any:
    """JSON only: a cross-site form cannot send it, and a cross-site fetch of JSON needs our CORS, which we
    never give; a browser's Origin, when sent, must be ours."""
    if not guard().accounts:
        return jsonify({"error": "本工作台未启用账号登录"}), 404
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return jsonify({"error": "请以 JSON 提交用户名和密码：{\"username\": …, \"password\": …}"}), 400
    try:
        result = accounts.login(guard().db, str(data.get("username") or ""), str(data.get("password") or ""),
                                _address())
    except accounts.LoginRefused as exc:
        return jsonify({"error": str(exc)}), 401
    body = {"username": result.account.name, "role": result.account.role, "department": result.account.department,
            "must_change_password": result.must_change_password, "expires_at": result.expires_at}
    return _signed_in(result, jsonify(body))


def _signed_out(response: Response) -> Response:
    token = request.cookies.get(COOKIE)
    if guard().accounts and token:
        accounts.logout(guard().db, token, _address())
    response.delete_cookie(COOKIE, path="/")
    return response


@bp.post("/logout")
def logout() -> Any:
    return _signed_out(redirect("/login" if guard().accounts else "/"))


@bp.post("/api/logout")
def api_logout() -> Any:
    return _signed_out(jsonify({"signed_out": True}))


@bp.get("/api/me")
def me() -> Any:
    user = current()
    return jsonify({"username": user.name, "role": user.role, "department": user.department,
                    "must_change_password": user.must_change_password, "csrf_token": generate_csrf()})


def _change(old: str, new: str) -> str | None:
    """The account's own password change; None, or the Chinese reason it was refused."""
    try:
        accounts.change_password(guard().db, current().name, old, new, _address())
    except UserError as exc:
        return str(exc)
    return None


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    if not guard().accounts or g.get("proxy_user"):
        return redirect("/")
    error = None
    if request.method == "POST":
        new = request.form.get("new", "")
        error = "两次输入的新密码不一致" if new != request.form.get("again", "") else _change(
            request.form.get("old", ""), new)
        if error is None:
            return redirect("/")
    return render_template("password.html", error=error, first=current().must_change_password), 400 if error else 200


@bp.post("/api/password")
def api_password() -> Any:
    if not guard().accounts or g.get("proxy_user"):
        return jsonify({"error": "本账号的密码不在工作台中修改"}), 404
    data = request.get_json(silent=True) or {}
    error = _change(str(data.get("old") or ""), str(data.get("new") or ""))
    if error:
        return jsonify({"error": error}), 400
    return jsonify({"changed": True})
