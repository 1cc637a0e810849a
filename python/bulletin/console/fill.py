"""The departments' page of the console (填报): /fill and its JSON API, over actions/fill.py and collect.mark.

  GET  /fill                                      the page
  GET  /api/fill/options                          the workbooks, and who is asking (its department, if bound)
  GET  /api/fill/departments?workbook=…           departments of the month with their states (not a department's)
  GET  /api/fill?workbook=…&department=…          the department's form (rows, last month, specs, states)
  GET  /api/fill/extract?workbook=…&department=…  the department's extract of the month (what its mail carries)
  POST /api/fill/check  {workbook, department, values, explanation}   the checks only, nothing written
  POST /api/fill/submit {workbook, department, values, explanation}   checked, merged, recorded: 200 (the page
                                                  then reads its form again); 400 refused with the problems; 422 only check errors
                                                  or warnings, which a 说明 (explanation) lets through
     values: {"附件1": [{column: number | text | null, …} per row of the department, in the form's order], …}
  POST /api/collect/return {workbook, department, annex, reason}      a clerk sends a submission back (退回)

Every call checks on the server (auth.require) what the request's user may do on that department: a
department account only its own (forms.fill to submit, status.read to see), a clerk returns.manage to send
back; the local clerk may do everything. The department is taken as the registry names it (an alias is
resolved first), which is how a department account is bound."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flask import Blueprint, Flask, g, jsonify, render_template, request, send_file

from ..actions import collect, fill, mail
from ..config import load_registry
from ..core.collect import RETURNED
from ..core.registry import UnknownDepartment
from ..errors import ConfigError, UserError, WorkbookLocked
from . import auth
from .jobs import Runner
from .workspace import NotFound, Workspace


@dataclass(eq=False)
class _Waiting:
    post: fill.Post
    result: Any = None
    error: BaseException | None = None
    done: bool = False


class Gathered:
    """Form posts for one workbook gathered while it is busy and submitted together (fill.submit_many: one read,
    one save, one ledger transaction) by whichever waiting request gets the workbook first; each request still
    answers with its own result, after its post is in the master and the ledger."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self._lock = threading.Lock()
        self._waiting: dict[Path, list[_Waiting]] = {}

    def submit(self, workbook: Path, post: fill.Post, run: Callable[[list[fill.Post]], list[Any]]) -> Any:
        me, key = _Waiting(post), workbook.resolve()
        with self._lock:
            self._waiting.setdefault(key, []).append(me)
        while not me.done:
            self.runner.run(workbook, lambda: self._drain(key, run), "网页填报")
        if me.error is not None:
            raise me.error
        return me.result

    def _drain(self, key: Path, run: Callable[[list[fill.Post]], list[Any]]) -> None:
        with self._lock:
            queue = self._waiting.get(key, [])
            batch: list[_Waiting] = []
            seen: set[str] = set()
            for w in queue:
                if w.post.department not in seen:  # a department's second post waits for the next batch
                    seen.add(w.post.department)
                    batch.append(w)
            for w in batch:
                queue.remove(w)
        if not batch:
            return  # another request's batch took this one's post
        try:
            for w, result in zip(batch, run([w.post for w in batch])):
                w.result, w.error = (None, result) if isinstance(result, BaseException) else (result, None)
        except BaseException as exc:  # the workbook's or the ledger's (open in Excel, …): every post of the batch
            for w in batch:
                w.error = exc
        for w in batch:
            w.done = True


def register_fill(app: Flask, workspace: Workspace, runner: Runner, history: Path | None) -> None:
    bp = Blueprint("fill", __name__)
    posts = Gathered(runner)

    @bp.errorhandler(auth.Refused)
    def refused(exc: auth.Refused) -> Any:
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.description}), 403
        return render_template("error.html", status=403, message=exc.description), 403

    @bp.errorhandler(UserError)
    def user_error(exc: UserError) -> Any:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, WorkbookLocked) else \
            500 if isinstance(exc, ConfigError) else 400
        message = f"工作台的配置有误：{exc}" if isinstance(exc, ConfigError) else str(exc)
        return jsonify({"error": message}), status

    def data() -> dict[str, Any]:
        body = request.get_json(silent=True) if request.method == "POST" else None
        if request.method == "POST" and not isinstance(body, dict):
            raise UserError("提交的内容不是有效的 JSON 对象")
        return body if body is not None else request.args.to_dict()

    def department_of(body: dict[str, Any], permission: str) -> str:
        """The department asked about as the registry names it (a department account's own when not given),
        after the permission check on it."""
        user = auth.current()
        name = body.get("department") or user.department or ""
        if not isinstance(name, str) or not name.strip():
            raise UserError("请选择部门")
        try:
            department = load_registry().resolve(name.strip()[:100])
        except UnknownDepartment:
            if not user.local and user.department:
                auth.require(permission, name.strip()[:100])  # another department's name: refused as such
            raise UserError(f"部门名录中没有“{name.strip()[:100]}”") from None
        auth.require(permission, department)
        return department

    def workbook_of(body: dict[str, Any]) -> Path:
        name = body.get("workbook")
        if not name:  # a department need not know the file: the month's is the folder's newest
            books = workspace.workbooks()
            if not books:
                raise UserError("工作文件夹中还没有本月的工作簿，请联系放管服办")
            name = books[0]["name"]
        return workspace.path(str(name))

    def form_of(workbook: Path, department: str) -> dict[str, Any]:
        body = fill.form(workbook, department, history=history)
        body.update(workbook=workbook.name, can_submit=auth.may("forms.fill", department),
                    can_extract=auth.may("extract.read", department),
                    can_return=auth.may("returns.manage", department))
        return body

    @bp.get("/fill")
    def page() -> Any:
        user = auth.current()
        return render_template("fill.html", token=getattr(g, "token", ""), user=user.name,
                               department=user.department or "", choose=user.department is None)

    @bp.get("/api/fill/options")
    def options() -> Any:
        user = auth.current()
        return jsonify({"workbooks": [b["name"] for b in workspace.workbooks()], "user": user.name,
                        "department": user.department, "choose": user.department is None})

    @bp.get("/api/fill/departments")
    def departments() -> Any:
        auth.require("status.read")  # all departments at once: never a department account's
        workbook = workbook_of(data())
        rows = collect.status(workbook, history=history, write=False).extra["collect"]["rows"]
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            out.setdefault(r["department"], {"department": r["department"], "short": r["short"], "states": {}})
            out[r["department"]]["states"][r["sheet"]] = r["state"]
        return jsonify({"workbook": workbook.name, "departments": list(out.values())})

    @bp.get("/api/fill")
    def form() -> Any:
        body = data()
        department = department_of(body, "status.read")
        return jsonify(form_of(workbook_of(body), department))

    def post(dry_run: bool) -> Any:
        body = data()
        department = department_of(body, "forms.fill")
        workbook = workbook_of(body)

        post = fill.Post(department, body.get("values"), body.get("explanation", ""), auth.actor())
        result = fill.submit(workbook, department, post.values, explanation=post.explanation, actor=post.actor,
                             history=history, dry_run=True) if dry_run else \
            posts.submit(workbook, post, lambda batch: fill.submit_many(workbook, batch, history=history))
        answer = {**result.plain(), "message": result.message()}  # the page then reads its form afresh
        return jsonify(answer), 200 if result.accepted or dry_run else 400 if not result.needs_explanation else 422

    @bp.get("/api/fill/extract")
    def extract() -> Any:
        """The department's extract of the month (what its mail carries), as a download."""
        body = data()
        department = department_of(body, "extract.read")
        path = runner.run(workbook_of(body), lambda: mail.department_extract(workbook_of(body), department,
                                                                             history=history), "通报摘录")
        return send_file(path, as_attachment=True, download_name=path.name, max_age=0)

    @bp.post("/api/fill/check")
    def check() -> Any:
        return post(True)

    @bp.post("/api/fill/submit")
    def submit() -> Any:
        return post(False)

    @bp.post("/api/collect/return")
    def send_back() -> Any:
        body = data()
        department = department_of(body, "returns.manage")
        workbook = workbook_of(body)
        annex, reason = body.get("annex") or "", body.get("reason") or ""
        if not isinstance(annex, str) or not isinstance(reason, str):
            raise UserError("附件和原因应为文字")
        work: Callable[[], Any] = lambda: collect.mark(workbook, department, RETURNED, annexes=[annex] if annex else [],
                                                       reason=reason, history=history, actor=auth.actor())
        outcome = runner.run(workbook, work, "退回报送")
        return jsonify({"notes": outcome.notes, "form": form_of(workbook, department)})

    app.register_blueprint(bp)
