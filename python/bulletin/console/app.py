"""The console's Flask app: the page (templates/console/), its JSON API and the downloads.

Local mode: every request carries the launch token (header X-Bulletin-Token, or the cookie from the page).
Accounts mode (an office server): the session cookie of POST /api/login (signin.py) or the trusted proxy's user,
and on every POST the CSRF token (X-CSRFToken); 账号管理 and 审计日志 are admin.py. In both, each endpoint's
permission is checked before its view from the one table in endpoints.py.

API:
  GET  /api/workbooks                       the working folder's workbooks
  POST /api/upload                          multipart `workbook` -> stored under a safe name
  POST /api/<step>                          step = check recalc compare narrate run close-month render charts
                                            mail-preview mail-send environment; `workbook`: a multipart file
                                            (stored first) or the name of a stored workbook; the body is the
                                            CLI's --json shape (+ report, downloads). With the header
                                            `Prefer: respond-async`: 202 {job}, then GET /api/jobs/<job>
  GET  /api/tables?workbook=…[&department=D], POST /api/status {workbook, sheet, department, status, expected}
  GET  /api/text?workbook=…,   POST /api/text {workbook, paragraph, text, expected}
                                            expected: the value the page showed; another one now -> 409
                                            {"error": "已被他人修改…", "current": …}
  POST /api/status/reset {workbook, sheet, department ("" = the whole annex)}: the rules' proposal
  POST /api/text/restore {workbook, paragraph}: the generated text back into the paragraph
  GET  /api/backups?workbook=…, POST /api/backups/restore {workbook, backup}
  GET  /api/month?workbook=…                what 结转下月 would store, what the history holds
  GET  /api/departments?workbook=…, POST /api/departments {workbook, department, 简称, 别名, 邮箱, 应进驻大厅}
  POST /api/mail-send may carry `resend` (one department, sent again after staff checked)
  GET  /out/<path>                          a file of the out folder; GET /workbook?name=… the workbook
Errors are {"error": "<Chinese message>"}: 400 (input), 401/403 (token), 404, 409 (open in Excel/WPS), 413, 500.
"""
from __future__ import annotations

import datetime as dt
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flask import Flask, Response, g, jsonify, redirect, render_template, request, send_file, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..actions import audit
from ..actions.accounts import SESSION_LIFETIME
from ..actions.edits import EditConflict
from ..config import TEMPLATES_DIR
from ..errors import ConfigError, UserError, WorkbookLocked
from . import admin, auth, signin, steps, wording
from .auth import LOCAL_NAME, User
from .endpoints import ENDPOINTS, PUBLIC
from .jobs import Job, Runner
from .security import COOKIE, HEADER, Guard, new_token, signing_secret
from .signin import FIRST_LOGIN_ENDPOINTS, set_session_cookie
from .workspace import NotFound, Workspace

log = logging.getLogger("bulletin.console")
MAX_UPLOAD_MB = 20
STEP_TITLES = {step: audit.STEPS[step] for step in (  # the steps POST /api/<step> runs
    "check", "recalc", "compare", "narrate", "run", "close-month", "render", "charts", "mail-preview", "mail-send",
    "environment", "next-month", "collect-send", "collect-status", "collect-remind")}
CSRF_EXEMPT = ("signin.api_login",)  # JSON only, Origin-checked: nothing of the account's is at stake before it
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class _CsrfCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, which carries only Flask-WTF's CSRF secret: Secure over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


@dataclass
class Settings:
    """The console's settings: its folder, history file and upload limit."""

    folder: Path
    history: Path | None = None
    max_upload_mb: int = MAX_UPLOAD_MB


def create_app(settings: Settings, guard: Guard) -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR / "console"),
                static_folder=str(Path(__file__).with_name("static")), static_url_path="/static")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024, TEMPLATES_AUTO_RELOAD=False, JSON_AS_ASCII=False,
        # Flask's signed session cookie carries only Flask-WTF's CSRF secret
        SECRET_KEY=signing_secret(settings.folder) if guard.accounts else new_token(),
        SESSION_COOKIE_NAME="bulletin_csrf", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in the access hook, only in accounts mode
        WTF_CSRF_SSL_STRICT=False,  # the pages send no Referer (Referrer-Policy); Origin is checked instead
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()))
    app.json.ensure_ascii = False
    app.session_interface = _CsrfCookie()
    workspace, runner = Workspace(settings.folder), Runner()
    history = Path(settings.history).resolve() if settings.history else None

    # -- access -----------------------------------------------------------------------------------------
    app.extensions["bulletin.guard"] = guard
    csrf = CSRFProtect(app)  # checked by the access hook below, in accounts mode, for every state change

    @app.before_request
    def protect() -> Any:
        if not guard.host_allowed(request.host):
            return _refuse(403, "请求的主机名不被允许：请用启动时显示的地址（127.0.0.1）打开工作台")
        if request.endpoint == "static":
            return None
        g.user = None
        refused = signed_in_account() if guard.accounts else launch_token()
        if refused is not None:
            return refused
        if request.endpoint is None:  # no such page: answered 404 by Flask
            return None
        try:
            auth.check(request.endpoint)
        except auth.Refused as exc:
            return _refuse(403, exc.description)
        return None

    def public() -> bool:
        rule = ENDPOINTS.get(request.endpoint or "")
        return rule is not None and rule.permission == PUBLIC

    def launch_token() -> Any:
        """Local mode: the launch token (header, or the cookie the first page load set)."""
        if public():
            return None
        header, cookie = request.headers.get(HEADER), request.cookies.get(COOKIE)
        query = request.args.get("token") if request.method == "GET" and not request.path.startswith("/api/") else None
        if query is not None:
            if not guard.valid(query):
                return _refuse(403, "地址中的 token 不正确：请使用本次启动时显示的地址")
            response = redirect(request.path)  # the token leaves the address bar and the history
            set_session_cookie(response, query)
            return response
        token = header or cookie
        if not token:
            return _refuse(401, "需要令牌：请使用启动时显示的地址打开工作台")
        if not guard.valid(token):
            return _refuse(403, "令牌不正确或已过期：请使用本次启动时显示的地址")
        if request.method != "GET" and not (header and guard.valid(header)) \
                and not guard.origin_matches(request.headers, request.scheme, request.host):
            return _refuse(403, "拒绝来自其他网站的请求")
        g.token = token
        g.user = User(LOCAL_NAME, None, from_address=request.remote_addr or "")
        return None

    def signed_in_account() -> Any:
        """Accounts mode: the trusted proxy's user, else the session cookie's account; a first password to
        change before anything else; Origin and the CSRF token on every state change."""
        address = guard.client_address(request.environ, request.headers)
        proxy_name = guard.proxy_user(request.environ, request.headers)
        if proxy_name:
            account = guard.db.account(proxy_name)
            if account is None or account.disabled:
                return _refuse(403, f"单点登录的用户“{proxy_name}”在通报工作台中没有可用的账号，请联系管理员")
            g.user, g.proxy_user = User(account.name, account.role, account.department, address), True
        else:
            account = guard.session_account(request.cookies.get(COOKIE))
            g.user = User.of(account, address) if account is not None else None
        if g.user is None:
            if not (public() or request.endpoint is None):
                if request.path.startswith("/api/"):
                    return _refuse(401, "请先登录")
                return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if guard.from_other_site(request.headers, request.scheme, request.host):
                return _refuse(403, "拒绝来自其他网站的请求")
            if request.endpoint not in CSRF_EXEMPT:
                try:
                    csrf.protect()
                except CSRFError:
                    return _refuse(403, "请求缺少有效的安全令牌（可能页面已打开太久）：请刷新页面后重试")
        if g.user is not None and g.user.must_change_password and request.endpoint not in FIRST_LOGIN_ENDPOINTS:
            if not request.path.startswith("/api/"):
                return redirect("/password")
            return jsonify({"error": "请先修改初始密码", "must_change_password": True}), 403
        return None

    @app.context_processor
    def who() -> dict[str, Any]:
        return {"user": g.get("user"), "may": auth.may, "accounts_mode": guard.accounts}

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    app.register_blueprint(signin.bp)
    app.register_blueprint(admin.bp)

    # -- pages ------------------------------------------------------------------------------------------
    @app.get("/")
    def index() -> Any:
        """The month's desk; an account that may not read the month goes to what its role uses."""
        if not auth.may("month.read"):
            if auth.may("accounts.manage"):
                return redirect("/admin")
            if "fill.page" in app.view_functions:  # the departments' own page (console/fill.py)
                return redirect(url_for("fill.page"))
            return _refuse(403, f"您的账号（{auth.current().role}）没有可用的页面，请联系管理员")
        return render_template("index.html", token=g.get("token", ""), folder=str(workspace.folder),
                               remote=guard.accounts, steps=STEP_TITLES, max_upload_mb=settings.max_upload_mb)

    # -- audit: who changed what through the console (accounts mode: the office database's log) ----------
    def audited_step(who: Any, title: str, workbook: Path, run: Callable[[], Any]) -> Any:
        """A month step's outcome, its run (done or refused) recorded with `who` asked (taken from the request
        beforehand, so a step run in a job's thread still names who started it)."""
        if not guard.accounts:
            return run()
        try:
            outcome = run()
        except Exception as exc:
            audit.record_step(guard.db, who, title, workbook.name, error=exc)
            raise
        audit.record_step(guard.db, who, title, workbook.name, outcome)
        return outcome

    # -- API --------------------------------------------------------------------------------------------
    def chosen() -> tuple[Path, list[str]]:
        """The request's workbook: an uploaded file (stored first) or the name of a stored one."""
        upload = request.files.get("workbook")
        if upload is not None and upload.filename:
            name, notes = workspace.store(upload.filename, upload.stream)
            return workspace.path(name), notes
        name = request.values.get("workbook") or (request.get_json(silent=True) or {}).get("workbook")
        return workspace.path(name), []

    def payload(outcome: Any, workbook: Path, notes: list[str]) -> dict[str, Any]:
        """The CLI's JSON of the outcome, plus the workbook's name, the lines the CLI prints (report) and
        download links of the files produced."""
        body = outcome.json()
        body["workbook"] = workbook.name
        body["notes"] = [*notes, *body.get("notes", [])]
        body["report"] = list(outcome.report)
        body["downloads"] = downloads(body)
        body["next"] = wording.next_json(outcome.next)  # worded for the page, with the action for its controls
        return body

    def downloads(body: Any) -> list[dict[str, str]]:
        """Every produced file the body names that lies in the out folder, with its download URL."""
        prefix, found = str(workspace.out_dir), {}

        def walk(v: Any) -> None:
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, str) and v.startswith(prefix):
                rel = workspace.relative_output(v)
                if rel:
                    found[rel] = {"name": Path(rel).name, "path": rel, "url": f"/out/{rel}"}

        walk(body)
        return list(found.values())

    def guarded(work: Callable[[], tuple[dict[str, Any], int]]) -> tuple[dict[str, Any], int]:
        """UserError -> its Chinese message; anything else -> a log file and a short message."""
        try:
            return work()
        except HTTPException:
            raise  # e.g. an upload over the limit: answered by the error handlers below
        except Exception as exc:
            return failure(exc)

    def failure(exc: Exception) -> tuple[dict[str, Any], int]:
        if isinstance(exc, ConfigError):  # a staff file the page cannot open: IT reads the detail in the log
            return {"error": f"工作台的配置有误，此步骤未能完成。详细信息已写入 {crash_log(exc).name}（在工作文件夹中），"
                             f"请发给信息科。"}, 500
        if isinstance(exc, EditConflict):  # another clerk saved first: the page shows what the workbook holds
            return {"error": str(exc), "conflict": True, "current": exc.current}, 409
        if isinstance(exc, UserError):
            body = {"error": " ".join([str(exc), *wording.said(exc.next)])}
            if exc.next:
                body["next"] = wording.next_json(exc.next)
            return body, 404 if isinstance(exc, NotFound) else 409 if isinstance(
                exc, WorkbookLocked) else 400
        # never a traceback for the clerk
        return {"error": f"程序内部错误（{type(exc).__name__}），详细信息已写入 {crash_log(exc)}，请发给信息科。"}, 500

    def crash_log(exc: BaseException) -> Path:
        path = workspace.folder / f"bulletin-error-{dt.datetime.now():%Y%m%d-%H%M%S-%f}.log"
        detail = f"{exc}\n" if isinstance(exc, UserError) else ""
        path.write_text(detail + "".join(traceback.format_exception(exc)), encoding="utf-8")
        log.error("console step failed, see %s", path)
        return path

    def reply(body: dict[str, Any], status: int) -> Response:
        return jsonify(body), status

    @app.get("/api/workbooks")
    def workbooks() -> Any:
        return reply({"folder": str(workspace.folder), "workbooks": workspace.workbooks(),
                      "history": str(history) if history else str(workspace.folder / "history.sqlite")}, 200)

    @app.post("/api/upload")
    def upload() -> Any:
        def work() -> tuple[dict[str, Any], int]:
            upload = request.files.get("workbook")
            if upload is None or not upload.filename:
                raise UserError("请选择要上传的工作簿（.xlsx / .xlsm）")
            name, notes = workspace.store(upload.filename, upload.stream)
            return {"workbook": name, "notes": notes, "workbooks": workspace.workbooks()}, 200

        return reply(*guarded(work))

    @app.post("/api/collect-import")
    def collect_import() -> Any:
        """Returned fill-in workbooks, many at once (form field `returns`), and/or the office mailbox (`imap`),
        checked and merged into the chosen workbook."""
        import tempfile

        from ..adapters.files import safe_part

        imap = request.values.get("imap") in ("1", "true", "on")
        who = auth.actor()
        try:
            workbook, notes = chosen()
        except HTTPException:
            raise
        except Exception as exc:
            return reply(*failure(exc))

        def work() -> tuple[dict[str, Any], int]:
            with tempfile.TemporaryDirectory(prefix="bulletin-returns-") as tmp:
                paths = []
                for i, upload in enumerate(request.files.getlist("returns")):
                    if not upload.filename:
                        continue
                    name = Path(upload.filename.replace("\\", "/")).name  # the name the clerk knows
                    folder = Path(tmp) / f"{i:03d}"  # one folder each: same-named files stay apart
                    folder.mkdir()
                    path = folder / (safe_part(Path(name).stem, fallback="回传") + Path(name).suffix.lower()[:8])
                    upload.save(path)
                    paths.append(path)
                if not paths and not imap:
                    raise UserError("请选择要导入的回传文件（可一次选多个）")
                outcome = audited_step(who, audit.STEPS["collect-import"], workbook,
                                       lambda: steps.collect_import(workbook, history, paths, imap=imap))
            return payload(outcome, workbook, notes), 200

        return reply(*runner.run(workbook, lambda: guarded(work)))

    @app.post("/api/<step>")
    def step(step: str) -> Any:
        if step not in STEP_TITLES:
            return reply({"error": "没有这个步骤"}, 404)
        overwrite = request.values.get("overwrite_text") in ("1", "true", "on") and step in ("narrate", "run")
        options = {"resend": request.values.get("resend", "")} if step == "mail-send" and request.values.get("resend") \
            else {}
        try:
            workbook, notes = chosen()
        except HTTPException:
            raise
        except Exception as exc:
            return reply(*failure(exc))

        who = auth.actor()

        def work(say: Callable[[str], None] | None) -> tuple[dict[str, Any], int]:
            def one() -> Any:
                if step in steps.BOOK_STEPS:
                    return steps.book_step(step, workbook, history, say,
                                           **({"overwrite_text": True} if overwrite else {}))
                return steps.FILE_STEPS[step](workbook, history, say, **options)

            def inner() -> tuple[dict[str, Any], int]:
                outcome = audited_step(who, STEP_TITLES[step], workbook, one)
                return payload(outcome, workbook, notes), 200

            return guarded(inner)

        if "respond-async" in request.headers.get("Prefer", ""):
            job = runner.start(step, workbook, lambda job: work(job.say), title=STEP_TITLES[step])
            return reply(job.view(), 202)
        return reply(*runner.run(workbook, lambda: work(None), STEP_TITLES[step]))

    @app.get("/api/jobs/<job_id>")
    def job(job_id: str) -> Any:
        found: Job | None = runner.get(job_id)
        if found is None:
            return reply({"error": "没有这个任务（服务可能已重启）"}, 404)
        return reply(found.view(), 200)

    @app.get("/api/tables")
    def tables() -> Any:
        """Every annex; with ?department= only that department's rows (what a department role may read)."""
        one = auth.department_asked("department")
        return reply(*guarded(lambda: ({"tables": steps.annex_tables(chosen()[0], one)}, 200)))

    def edit(write: Callable[..., Any], *fields: str, title: str = "保存修改", action: str = "",
             expected: bool = False) -> Any:
        """An edit of the workbook (JSON or form fields), after any step running on it, then saved and, in
        accounts mode, recorded in the audit log as `action`. With `expected`, the field `expected` (the value
        the clerk's page showed; absent: not checked) refuses the edit when another clerk saved meanwhile."""
        def work() -> tuple[dict[str, Any], int]:
            data = request.get_json(silent=True) or request.form
            workbook = workspace.path(data.get("workbook"))
            shown = ({"expected": None if data.get("expected") is None else str(data["expected"])}
                     if expected else {})
            outcome = runner.run(workbook, lambda: write(workbook, *(str(data.get(f, "")) for f in fields),
                                                         **shown), title)
            if guard.accounts and action:
                audit.record_edit(guard.db, auth.actor(), action, outcome, workbook.name)
            return {"notes": outcome.notes, "workbook": workbook.name, "next": wording.next_json(outcome.next)}, 200

        return reply(*guarded(work))

    @app.post("/api/status")
    def status() -> Any:
        return edit(steps.set_status, "sheet", "department", "status", action="status_edit", expected=True)

    @app.post("/api/status/reset")
    def reset_status() -> Any:
        return edit(steps.reset_status, "sheet", "department", title="按规则重置状态", action="status_reset")

    @app.post("/api/text/restore")
    def restore_text() -> Any:
        return edit(steps.restore_paragraph, "paragraph", title="恢复为生成文字", action="text_restore")

    @app.get("/api/backups")
    def backup_list() -> Any:
        return reply(*guarded(lambda: ({"backups": steps.backup_list(chosen()[0])}, 200)))

    @app.post("/api/backups/restore")
    def restore_backup() -> Any:
        return edit(steps.restore_backup, "backup", title="恢复备份", action="backup_restore")

    @app.get("/api/departments")
    def department_list() -> Any:
        return reply(*guarded(lambda: (steps.department_list(chosen()[0]), 200)))

    @app.post("/api/departments")
    def set_department() -> Any:
        def write(workbook: Path, department: str) -> Any:
            data = request.get_json(silent=True) or request.form
            fields = {k: str(data[k]) for k in ("简称", "别名", "邮箱", "应进驻大厅") if k in data}
            return steps.set_department(workbook, department, fields)

        return edit(write, "department", title="保存部门信息", action="department_edit")

    @app.get("/api/month")
    def month_state() -> Any:
        return reply(*guarded(lambda: (steps.month_state(chosen()[0], history), 200)))

    @app.get("/api/text")
    def text() -> Any:
        return reply(*guarded(lambda: ({"paragraphs": steps.paragraphs(chosen()[0])}, 200)))

    @app.post("/api/text")
    def write_text() -> Any:
        return edit(steps.write_paragraph, "paragraph", "text", action="text_edit", expected=True)

    # -- files ------------------------------------------------------------------------------------------
    @app.get("/out/<path:relative>")
    def output(relative: str) -> Any:
        try:
            path = workspace.output(relative)
        except NotFound:
            return _refuse(404, "没有这个输出文件")
        inline = path.suffix.lower() in (".png", ".pdf")
        return send_file(path, as_attachment=not inline, download_name=path.name, max_age=0)

    @app.get("/workbook")
    def workbook_file() -> Any:
        try:
            path = workspace.path(request.args.get("name"))
        except UserError:
            return _refuse(404, "工作文件夹中没有这个工作簿")
        return send_file(path, as_attachment=True, download_name=path.name, max_age=0)

    # -- errors -----------------------------------------------------------------------------------------
    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: Exception) -> Any:
        return _refuse(413, f"上传的文件超过 {settings.max_upload_mb} MB，请确认选择的是本月的通报工作簿")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _refuse(exc.code or 500, {404: "没有这个页面", 405: "不支持这种请求方式"}.get(exc.code, "请求有误"))

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Any:
        return _refuse(500, f"程序内部错误（{type(exc).__name__}），详细信息已写入 {crash_log(exc)}，请发给信息科。")

    from .fill import register_fill  # the departments' page (填报) and its API

    register_fill(app, workspace, runner, history)
    return app


def _refuse(status: int, message: str) -> Any:
    if request.path.startswith("/api/"):
        return jsonify({"error": message}), status
    return render_template("error.html", status=status, message=message), status
