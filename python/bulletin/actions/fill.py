"""Departments fill in their rows in the browser (填报): the form of the month for one department, and a form
post judged and merged exactly as a mailed return is — the same checks, the same merge into the master, the
same submission ledger (actions/collect.py's Importer, fed a `Filled` instead of a return book).

A form post is hostile input: its shape is checked first (only the department's own annexes and rows, only
their input columns, numbers or text of bounded length); a value beginning with "=" is a formula, refused at
its cell as in a return, and text is written as text. Problems name annex, row (department and key), column
and a Chinese message. Errors refuse the submission and nothing is recorded (the department corrects them on
the page); check errors (parts vs whole …) and warnings are accepted with an explanation, kept in the ledger
like a mailed return's 强制上报说明."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..adapters.collect_ledger import CollectLedger
from ..adapters.files import ensure_closed, inside, write_atomically
from ..adapters.xlsx_fillin import ReturnCell, fillin_columns, return_cell
from ..config import load_collect_settings, load_settings
from ..core import collect as core
from ..core.numbers import EXCEL_CELL_LIMIT, BadNumber, parse_number
from ..core.problems import Problem
from ..core.registry import UnknownDepartment
from ..errors import UsageError
from ..ports.openpyxl_port import OpenpyxlPort
from ..spec import AnnexSpec, Column, annex
from . import audit, backups
from .collect import (RETURNS_FOLDER, Filled, Importer, Master, ReturnResult, deadline_of, previous_rows,
                      read_master, read_master_to_read, stamp)
from .common import history_path, history_store, past_months, today

FORM_NAME = "网页填报"  # the ledger's file name of a form submission
MAX_EXPLANATION = 2000
ROLE_WORDS = {"index": "序号", "name": "单位名称", "key": "关键列", "computed": "自动计算"}


def _department(master: Master, department: str) -> str:
    try:
        return master.registry.resolve(str(department or ""))
    except UnknownDepartment:
        raise UsageError(f"部门名录中没有“{department}”") from None


def _planned(master: Master, department: str) -> list[str]:
    sheets = master.plan(load_collect_settings()).get(department, [])
    if not sheets:
        raise UsageError(f"{master.registry.short(department)} 本月没有需要填报的附件")
    return sheets


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def _shown_ratio(value: Any, percent_format: bool) -> Any:
    """A ratio input as the page shows it: a percent number (62.71), or the text as found."""
    try:
        number = parse_number(value, percent=True, percent_format=percent_format)
    except BadNumber:
        return _plain(value)
    return None if number is None else float(round(Decimal(str(number)), 6))


def _column_json(col: Column) -> dict[str, Any]:
    return {"name": col.name, "role": col.role, "type": col.type, "max": col.max, "required": col.required,
            "header": " ".join(h for h in col.header if h),
            "formula": {"num": list(col.formula.num), "den": list(col.formula.den)} if col.formula else None}


def _row_label(master: Master, spec: AnnexSpec, department: str, record: Mapping[str, Any]) -> str:
    keys = [str(record.get(c.name) or "") for c in spec.key_columns]
    return "　".join([master.registry.short(department), *[k for k in keys if k]])


def form(workbook: Path, department: str, *, history: Path | None = None, month: str | None = None) -> dict[str, Any]:
    """The department's form of the month: per annex it reports, its rows' input values (the master's), last
    month's figures beside (the history's), the column specs and the row checks (what the page checks as the
    clerk types), and the ledger's state (未报/已报/退回 with the reason), the deadline and the submissions."""
    master = read_master_to_read(workbook, month)
    dept = _department(master, department)
    sheets = _planned(master, dept)
    history = history_path(workbook, history)
    settings = load_collect_settings()
    past = past_months(master.data, history, required=False)
    with CollectLedger(history_store(history)) as ledger:
        rows = ledger.rows(master.month)
        deadline = deadline_of(ledger, master.month, settings)
        events = [e for e in ledger.events(master.month) if e.department == dept]
    day = today()
    district = load_settings().district
    annexes = []
    for sheet in sheets:
        spec = annex(sheet)
        records = master.rows_of(sheet, dept)
        previous = previous_rows(past, master.month, sheet, dept, master.keys_of(sheet, records))
        percent = master.grids[sheet].percent_cells
        columns = fillin_columns(spec)
        out_rows = []
        for i, (rec, prev) in enumerate(zip(records, previous)):
            values = {}
            for col in columns:
                if col.role != "input":
                    continue
                c = master.data.inputs[sheet].columns.get(col.name)
                raw = master.cell_value(sheet, rec["_row"], col.name)
                values[col.name] = _shown_ratio(raw, (rec["_row"], c) in percent) if col.type == "ratio" \
                    else _plain(raw)
            out_rows.append({"index": i, "label": _row_label(master, spec, dept, rec),
                             "keys": {c.name: _plain(rec.get(c.name)) for c in spec.key_columns},
                             "values": values,
                             "previous": {c.name: _plain(prev.get(c.name)) for c in columns
                                          if prev is not None and c.is_numeric} if prev else None})
        row = rows.get((dept, sheet))
        state = row.state if row else core.NOT_SENT
        annexes.append({"sheet": sheet, "title": spec.title_for(district),
                        "columns": [_column_json(c) for c in columns],
                        "checks": [{"rule": ch.rule, "whole": ch.whole, "parts": list(ch.parts)} for ch in spec.checks],
                        "rows": out_rows, "state": core.shown_state(state, deadline, day),
                        "reason": row.reason if row else "", "explanation": row.explanation if row else "",
                        "submitted_at": (row.submitted_at or "")[:10] if row else "", "who": row.who if row else ""})
    return {"month": master.month, "department": dept, "short": master.registry.short(dept),
            "deadline": deadline.isoformat(), "today": day.isoformat(), "annexes": annexes,
            "submissions": [{"at": e.at, "who": e.who, "outcome": e.outcome, "reason": e.reason,
                             "explanation": e.explanation} for e in events]}


# -- a form post --------------------------------------------------------------------------------------------

@dataclass
class Submission:
    """What became of one form post: 已报 (merged and recorded), or 未提交 with the problems."""

    month: str
    department: str
    outcome: str  # 已报 | 未提交
    problems: list[dict[str, Any]] = field(default_factory=list)
    needs_explanation: bool = False  # only check errors or warnings: an explanation would let it through
    written: int = 0
    conflicts: list[str] = field(default_factory=list)
    forced: bool = False
    explanation: str = ""
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.outcome == core.SUBMITTED

    def plain(self) -> dict[str, Any]:
        return {"month": self.month, "department": self.department, "outcome": self.outcome,
                "accepted": self.accepted, "problems": self.problems, "needs_explanation": self.needs_explanation,
                "written": self.written, "conflicts": self.conflicts, "forced": self.forced,
                "explanation": self.explanation, "sheets": self.sheets, "notes": self.notes}

    def message(self) -> str:
        """One Chinese line for the page."""
        if self.accepted:
            return (f"已提交 {'、'.join(self.sheets)}" + (f"，写入总表 {self.written} 个单元格" if self.written else "") +
                    ("（强制上报，已附说明）" if self.forced else "") + "。")
        errors = [p for p in self.problems if p["severity"] == "error"]
        if self.needs_explanation:
            return f"有 {len(self.problems)} 处需要说明的问题：请核对；确认无误请填写说明后再提交。"
        return f"未提交：有 {len(errors)} 处错误，请改正后再提交。"


class _Shape:
    """The problems of a post's shape, gathered in one pass (each naming annex, row and column)."""

    def __init__(self, master: Master, department: str):
        self.master, self.department, self.problems = master, department, []

    def add(self, sheet: str, row: int | None, column: str, rule: str, message: str) -> None:
        self.problems.append({"sheet": sheet, "row": row, "label": self.label(sheet, row), "column": column,
                              "cell": "", "rule": rule, "severity": "error", "message": message})

    def label(self, sheet: str, row: int | None) -> str:
        if row is None:
            return self.master.registry.short(self.department)
        spec = annex(sheet)
        records = self.master.rows_of(sheet, self.department)
        return _row_label(self.master, spec, self.department, records[row]) if 0 <= row < len(records) else ""


def _cell(shape: _Shape, sheet: str, i: int, col: Column, value: Any) -> tuple[ReturnCell, bool] | None:
    """One posted value as the cell a return would hold (and whether it is a percentage), or None (refused)."""
    where = f"“{col.name}”"
    if value is None or (isinstance(value, str) and not value.strip()):
        return ReturnCell(None), False
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        shape.add(sheet, i, col.name, "form.type", f"{where}的值应为数字或文字")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        shape.add(sheet, i, col.name, "form.type", f"{where}不是有效的数字")
        return None
    if isinstance(value, int) and abs(value) > 10 ** 15:
        shape.add(sheet, i, col.name, "form.type", f"{where}的数值过大")
        return None
    if isinstance(value, str):
        if len(value) > EXCEL_CELL_LIMIT:
            shape.add(sheet, i, col.name, "form.too_long", f"{where}的内容过长（{len(value)} 个字符，上限 {EXCEL_CELL_LIMIT}）")
            return None
        if value.strip().startswith("="):
            return ReturnCell(None, value.strip()), False  # a formula: the checks name it at its cell
        if not col.is_numeric:
            return ReturnCell(value), False
    if col.type == "ratio":  # the page's percent number (62.71, "62.71", "62.71%") as a %-formatted fraction
        try:
            number = parse_number(value.strip().rstrip("%") if isinstance(value, str) else value)
        except BadNumber:
            return ReturnCell(value), False  # the checks word it
        if number is not None and not 0 <= number <= 100:  # said here: the engine's wording is about cell formats
            shape.add(sheet, i, col.name, "form.ratio_range", f"{where}应为 0 到 100 之间的百分数，填的是 {number:g}")
            return None
        return ReturnCell(None if number is None else float(Decimal(str(number)) / 100)), True
    if isinstance(value, str):
        try:
            number = parse_number(value)
        except BadNumber:
            return ReturnCell(value), False  # the checks word it (不是数字 …)
        if number is None:
            return ReturnCell(None), False
        value = int(number) if number == int(number) and abs(number) < 2 ** 53 else number
    return ReturnCell(value), False


def _filled(master: Master, department: str, values: Any, explanation: Any) -> tuple[Filled, list[str], _Shape]:
    """The post as a `Filled` (only what is allowed) and the problems of its shape."""
    shape = _Shape(master, department)
    planned = _planned(master, department)
    short = master.registry.short(department)
    filled = Filled({}, {}, "")
    if isinstance(explanation, str):
        filled.explanation = explanation.strip()
        if len(filled.explanation) > MAX_EXPLANATION:
            shape.add("", None, "说明", "form.too_long", f"说明过长（{len(filled.explanation)} 个字符，上限 {MAX_EXPLANATION}）")
    elif explanation is not None:
        shape.add("", None, "说明", "form.type", "说明应为文字")
    if not isinstance(values, dict) or not values:
        shape.add("", None, "", "form.shape", "没有要提交的内容（应为各附件的行）")
        return filled, [], shape
    sheets = []
    for sheet, rows in values.items():
        sheet = str(sheet)[:40]
        if sheet not in planned:
            shape.add(sheet, None, "", "form.unknown_annex",
                      f"“{sheet}”不是{short}本月要填报的附件（本月填报：{'、'.join(planned)}）")
            continue
        spec = annex(sheet)
        records = master.rows_of(sheet, department)
        if not isinstance(rows, list) or len(rows) != len(records):
            count = len(rows) if isinstance(rows, list) else 0
            shape.add(sheet, None, "", "form.rows", f"{sheet}应有 {len(records)} 行（{short}在总表中的行），提交了 {count} 行")
            continue
        columns = {c.name: c for c in fillin_columns(spec)}
        cells: dict[tuple[int, str], ReturnCell] = {}
        percent: set[tuple[int, str]] = set()
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                shape.add(sheet, i, "", "form.shape", f"{sheet}第 {i + 1} 行的格式不对")
                continue
            for name, value in row.items():
                name = str(name)
                col = columns.get(name)
                if col is None:
                    shape.add(sheet, i, name[:40], "form.unknown_column", f"{sheet}没有“{name[:40]}”这一列")
                    continue
                if col.role != "input":
                    shape.add(sheet, i, name, "form.not_input",
                              f"“{name}”不是填写列（{ROLE_WORDS.get(col.role, col.role)}），不能提交")
                    continue
                made = _cell(shape, sheet, i, col, value)
                if made is not None:
                    cells[(i, name)] = made[0]
                    if made[1]:
                        percent.add((i, name))
            for name in (c.name for c in columns.values() if c.role == "input"):
                cells.setdefault((i, name), ReturnCell(None))  # not posted: blank, as an empty cell of a return
        filled.sheets[sheet], filled.percent[sheet] = cells, percent
        sheets.append(sheet)
    return filled, sheets, shape


def _problem_json(master: Master, department: str, p: Problem, places: Mapping[tuple[str, str], tuple[int, str]]) -> dict[str, Any]:
    row, column = places.get((p.sheet, p.cell), (None, ""))
    spec = annex(p.sheet)
    records = master.rows_of(p.sheet, department)
    label = _row_label(master, spec, department, records[row]) if row is not None and row < len(records) else \
        master.registry.short(department)
    return {"sheet": p.sheet, "row": row, "label": label, "column": column, "cell": p.cell, "rule": p.rule,
            "severity": p.severity, "message": p.message}


@dataclass(frozen=True)
class Post:
    """One department's form post: its values as the page sends them, the explanation, who sent it."""

    department: str
    values: Any
    explanation: Any = ""
    actor: Any = None


def submit(workbook: Path, department: str, values: Any, *, explanation: Any = "", actor: Any,
           history: Path | None = None, month: str | None = None, dry_run: bool = False) -> Submission:
    """A department's form post judged as a mailed return is (Importer.check) and, when accepted, merged into
    the master and recorded in the ledger (Importer.record) and the audit log. `actor`: who (name,
    from_address). `dry_run`: the checks only (the page's 检查), nothing written."""
    result = submit_many(workbook, [Post(department, values, explanation, actor)], history=history, month=month,
                         dry_run=dry_run)[0]
    if isinstance(result, BaseException):
        raise result
    return result


def submit_many(workbook: Path, posts: Sequence[Post], *, history: Path | None = None, month: str | None = None,
                dry_run: bool = False) -> list[Submission | Exception]:
    """Several departments' posts at once, each judged on its own as `submit` does, the accepted ones merged
    into one read of the master and made durable by one save and one ledger transaction, as a batch of mailed
    returns is (the server gathers the posts that arrive while the master is busy: forty departments on a
    deadline day wait for one save each, not for forty). At most one post per department: a department's
    second post goes into the next batch. An unknown department raises, as for `submit`; a program error while
    judging one post is that post's result (the exception), never its batch's."""
    workbook = Path(workbook)
    if not dry_run:
        ensure_closed(workbook)  # before anything: the master must be writable at the end
    port = None if dry_run else OpenpyxlPort(workbook)
    master = read_master_to_read(workbook, month) if port is None else read_master(workbook, month, port)
    departments = [_department(master, post.department) for post in posts]
    if len(set(departments)) != len(departments):
        raise ValueError("one post per department in a batch")
    settings = load_collect_settings()
    history = history_path(workbook, history)
    results: list[Submission | Exception] = []
    accepted: list[tuple[Submission, ReturnResult, Filled, bytes, Any]] = []
    with CollectLedger(history_store(history)) as ledger:
        importer = Importer(master, settings, ledger, b"")
        for post, dept in zip(posts, departments):
            try:
                result, judged, filled, body = _judge(master, importer, dept, post)
            except Exception as exc:  # nothing of it merged yet: the others go on
                results.append(exc)
                continue
            results.append(result)
            if judged is not None and not dry_run:
                importer.merge(filled, judged)
                accepted.append((result, judged, filled, body, post.actor))
        if accepted:
            folder = workbook.resolve().parent / RETURNS_FOLDER / master.month
            for _, judged, _, body, _ in accepted:
                name = f"{master.month}-{FORM_NAME}-{judged.digest[5:21]}.json"
                judged.stored = write_atomically(inside(folder, folder / name),
                                                 lambda tmp, body=body: Path(tmp).write_bytes(body)).name
            importer.record([judged for _, judged, _, _, _ in accepted], lambda: backups.save_in_place(port))
    events = []
    for result, judged, filled, _, actor in accepted:
        result.outcome, result.written, result.conflicts = core.SUBMITTED, judged.written, judged.conflicts
        result.forced = judged.forced
        events.append(audit.event(actor, "form_submit", month=master.month, department=result.department,
                                  target="、".join(result.sheets), new_value=core.SUBMITTED,
                                  detail={"写入单元格": judged.written, "说明": filled.explanation,
                                          "强制上报": judged.forced, "冲突": len(judged.conflicts)}))
    note = audit.append(history, events) if events else ""
    for result, *_ in accepted:
        if note:
            result.notes.append(note)
    return results


def _judge(master: Master, importer: Importer, dept: str,
           post: Post) -> tuple[Submission, ReturnResult | None, Filled, bytes]:
    """One post's shape and the engine's checks: its Submission with the problems, and — when it may be merged —
    the importer's judged result, the Filled to merge and the post as stored (else None)."""
    values, actor = post.values, post.actor
    filled, sheets, shape = _filled(master, dept, values, post.explanation)
    result = Submission(master.month, dept, "未提交", list(shape.problems), explanation=filled.explanation,
                        sheets=sheets)
    if not sheets or any(p["rule"] in ("form.shape", "form.rows", "form.unknown_annex") for p in shape.problems):
        return result, None, filled, b""  # nothing the checks could read as the department's rows
    places = {(s, return_cell(annex(s), i, c.name)): (i, c.name) for s in sheets
              for i in range(len(master.rows_of(s, dept))) for c in fillin_columns(annex(s))}
    body = json.dumps({"month": master.month, "department": dept, "explanation": filled.explanation,
                       "values": values, "at": stamp(), "who": getattr(actor, "name", "")},
                      ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    judged = ReturnResult(FORM_NAME, "拒绝", department=dept, sheets=list(sheets), who=getattr(actor, "name", ""),
                          digest="form-" + hashlib.sha256(body).hexdigest())
    importer.check(filled, judged, merge=False)
    refused = {(p["sheet"], p["row"], p["column"]) for p in shape.problems}
    checked = [_problem_json(master, dept, p, places) for p in judged.problems]
    # a value refused above is blank to the checks: its 缺少数值 is not a second problem
    result.problems += [p for p in checked if (p["sheet"], p["row"], p["column"]) not in refused]
    errors = [p for p in judged.problems if p.severity == "error"]
    unexplained = bool(judged.problems) and not filled.explanation
    result.needs_explanation = unexplained and not shape.problems and all(p.rule.startswith("check.") for p in errors)
    if shape.problems or judged.outcome != "已报" or unexplained:
        return result, None, filled, body
    return result, judged, filled, body
