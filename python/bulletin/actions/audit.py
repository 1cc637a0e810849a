"""The audit log from the action layer: one page of it filtered by month, user, department and action (what
`GET /api/audit` answers as JSON), its export to .xlsx, and the recording of a workbook's changes and month
steps (`record_edit`, `record_step`: called by the front end that ran the action, the console today, with who
asked; the collection's form submissions and marks through `append`, right after their own records). Account
changes are written by accounts.py in the change's own transaction; nothing here updates or
deletes an entry."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..adapters.office_db import AuditEntry, AuditEvent, OfficeDB
from ..errors import UsageError, UserError
from .accounts import Actor
from .common import Outcome

PER_PAGE = 50
MAX_PER_PAGE = 500
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# what each recorded action is called where people read the log
ACTIONS = {
    "account_add": "添加账号", "account_disable": "停用账号", "account_enable": "启用账号",
    "account_reset": "重置密码", "login": "登录", "login_failed": "登录失败", "login_locked": "登录被拒（锁定中）",
    "logout": "退出登录", "password_change": "修改密码", "password_change_failed": "修改密码失败",
    "account_bind": "更改角色或部门",
    "status_edit": "修改状态", "status_reset": "按规则重置状态", "text_edit": "修改段落", "text_restore": "恢复生成文字",
    "backup_restore": "恢复备份", "department_edit": "修改部门信息", "month_step": "运行步骤",
    "form_submit": "网页填报提交", "collect_mark": "标记报送状态",
}
# Each month step's name, as the pages show it and the audit log records it (whichever front end ran it)
STEPS = {"check": "校验数据", "recalc": "重新计算", "compare": "与上月比较", "narrate": "生成问题文本",
         "run": "完整运行", "close-month": "结转下月", "import-month": "导入往月数据", "render": "生成通报文档",
         "charts": "总览图表", "mail-preview": "邮件预览", "mail-send": "发送邮件", "environment": "检查环境",
         "next-month": "生成下月工作簿", "collect-send": "下发报送表", "collect-status": "报送情况",
         "collect-remind": "催报", "collect-import": "导入回传", "collect-mark": "标记报送状态"}
SHORT = 200  # characters of a result or value kept in an entry's short fields
COLUMNS = ("序号", "时间", "用户", "来源地址", "操作", "月份", "部门", "对象", "原值", "新值", "详情")


def event(actor: Any, action: str, **fields: Any) -> AuditEvent:
    """An event done by `actor` (anything with name and from_address: accounts.Actor)."""
    return AuditEvent(getattr(actor, "name", "") or "", action, getattr(actor, "from_address", "") or "", **fields)


def append(history: Path | None, events: list[AuditEvent]) -> str:
    """Append events to the office database's audit log (beside the history unless configured). -> "" or, when
    the log cannot be written, a Chinese note for the user: the change itself is already recorded and stands."""
    from .office import open_db

    try:
        with open_db(history) as db, db.transaction() as tx:
            tx.audit(events)
    except UserError as exc:
        return f"审计日志未能记录：{exc}"
    return ""


def _int(value: Any, name: str, low: int, high: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise UsageError(f"{name}应为整数，现为“{value}”") from None
    if number < low or (high is not None and number > high):
        raise UsageError(f"{name}应在 {low} 到 {high} 之间" if high else f"{name}至少为 {low}")
    return number


def _filters(month: str | None, user: str | None, department: str | None, action: str | None) -> dict[str, Any]:
    month = (month or "").strip() or None
    if month is not None and not _MONTH.match(month):
        raise UsageError(f"月份“{month}”格式不对（应如 2023-06）")
    if action and action not in ACTIONS:
        raise UsageError(f"不认识的操作“{action}”（可用：{'、'.join(ACTIONS)}）")
    return {"month": month, "username": (user or "").strip() or None,
            "department": (department or "").strip() or None, "action": action or None}


def local_time(stamp: str) -> str:
    """A stored UTC moment as the office's clock shows it."""
    return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {**e.json(), "time": local_time(e.at), "action_label": ACTIONS.get(e.action, e.action)}


def query(db: OfficeDB, *, month: str | None = None, user: str | None = None, department: str | None = None,
          action: str | None = None, page: Any = 1, per_page: Any = PER_PAGE) -> dict[str, Any]:
    """One page of the log, newest first, as JSON: {total, page, per_page, pages, entries}. The arguments may
    come straight from a query string (text); a wrong one is a Chinese UsageError."""
    page = _int(page, "页码", 1)
    per_page = _int(per_page, "每页条数", 1, MAX_PER_PAGE)
    total, entries = db.audit(**_filters(month, user, department, action), limit=per_page,
                              offset=(page - 1) * per_page)
    return {"total": total, "page": page, "per_page": per_page, "pages": max(1, -(-total // per_page)),
            "entries": [entry_json(e) for e in entries]}


def export_xlsx(db: OfficeDB, path: Path, *, month: str | None = None, user: str | None = None,
                department: str | None = None, action: str | None = None) -> Path:
    """Every matching entry (newest first) into a new .xlsx, written through a temp file; every text cell is
    text (a user name or value beginning with "=" is never a formula)."""
    import json

    import openpyxl

    from ..adapters.xlsx_output import append, save_new, style

    filters = _filters(month, user, department, action)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "审计日志"
    append(ws, COLUMNS)
    bold = openpyxl.styles.Font(bold=True)
    for c in range(1, len(COLUMNS) + 1):
        style(ws.cell(1, c), font=bold)
    for e in db.audit_all(**filters, newest_first=True):
        detail = json.dumps(e.detail, ensure_ascii=False) if e.detail else ""
        append(ws, (e.id, local_time(e.at), e.username, e.from_address, ACTIONS.get(e.action, e.action),
                    e.month, e.department, e.target, e.old_value, e.new_value, detail))
    for letter, width in zip("ABCDEFGHIJK", (8, 20, 16, 16, 16, 10, 14, 16, 16, 16, 40)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    return save_new(wb, path)


def record(db: OfficeDB, actor: Actor, action: str, *, month: str | None = None, department: str | None = None,
           target: str | None = None, old: str | None = None, new: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one event (its own transaction) for a change an action made on a workbook or file."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with db.transaction() as tx:
        tx.audit([AuditEvent(actor.name, action, actor.from_address, month=month, department=department,
                             target=target, old_value=old, new_value=new, detail=detail)])


def record_edit(db: OfficeDB, actor: Actor, action: str, outcome: Outcome, workbook: str) -> None:
    """An edit of a workbook (状态, a paragraph, …) with its old and new value where the action gave them
    (edits.py's Outcome.extra["change"])."""
    change = outcome.extra.get("change") or {}
    record(db, actor, action, month=change.get("month"), department=change.get("department"),
           target=change.get("target") or workbook, old=change.get("old"), new=change.get("new"),
           detail={"工作簿": workbook, **({"说明": "；".join(outcome.notes)[:SHORT]} if outcome.notes else {})})


def step_result(outcome: Outcome | None, error: BaseException | None) -> str:
    """A step's result in a few words: 完成, 有错误, 未完成 and the reason."""
    if error is not None:
        reason = str(error) if isinstance(error, UserError) else f"程序内部错误（{type(error).__name__}）"
        return f"未完成：{reason}"[:SHORT]
    assert outcome is not None
    if outcome.data is not None and outcome.data.has_errors:
        errors = sum(1 for p in outcome.data.problems if p.severity == "error")
        return f"完成，有 {errors} 个错误"
    return "未完成" if outcome.failed else "完成"


def step_event(actor: Actor, step: str, workbook: str, outcome: Outcome | None = None,
               error: BaseException | None = None) -> AuditEvent:
    """One run of a month step (校验、计算、结转、生成文档、发送…): its month and a short result."""
    month = outcome.data.month if outcome is not None and outcome.data is not None else None
    if outcome is not None and month is None:  # a step without the month's data: its extra names the month
        month = outcome.extra.get("month") or (outcome.extra.get("collect") or {}).get("month")
    return event(actor, "month_step", month=month if isinstance(month, str) else None, target=step,
                 new_value=step_result(outcome, error), detail={"工作簿": workbook})


def record_step(db: OfficeDB, actor: Actor, step: str, workbook: str, outcome: Outcome | None = None,
                error: BaseException | None = None) -> None:
    """A month step run from the console, in the server's database (its own transaction)."""
    with db.transaction() as tx:
        tx.audit([step_event(actor, step, workbook, outcome, error)])


def record_local_step(actor: Actor, step: str, workbook: str, outcome: Outcome | None = None,
                      error: BaseException | None = None) -> None:
    """A step run outside the console (the command line on an office server) in the configured database's log.
    A log that cannot be written does not undo the step: the reason is added to its notes."""
    note = append(None, [step_event(actor, step, workbook, outcome, error)])
    if note and outcome is not None:
        outcome.notes.append(note)
