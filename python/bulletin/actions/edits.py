"""Edits a clerk makes outside Excel, written into the workbook through the port exactly as if typed
into Excel, and the tables read back for display: the browser console uses them today, a button can later.

- `annex_tables`: each annex as the workbook holds it now — its columns, 状态, 触发规则, 上月…/…变化;
- `set_status`: a department's 状态 in an annex sheet (staff confirm or overrule the rules' proposal);
- `text_paragraphs` / `write_paragraph`: the 问题文本 sheet, and a clerk's edit into its column D, which a
  re-run of 生成问题文本 keeps (narrative.merge_edits), as an edit made in Excel.

Only the port primitives are used (`has_sheet`, `values`, `write`, `read_grids`), so every port works.
"""
from __future__ import annotations

from typing import Any

from ..adapters.xlsx_output import STATUS_HEADERS, TEXT_HEADERS, TEXT_SHEET_OUT
from ..config import load_settings
from ..core.compare import DISTRICT
from ..core.rules import worst
from ..engine import compute, rules_for
from ..errors import UserError
from ..ports import status_column_of
from ..spec import ANNEXES
from .common import Outcome, month_arg, require_bulletin

STATUSES = ("红", "黄", "绿")
FORMULA_STARTS = ("=", "+", "-", "@")  # what Excel would take for the start of a formula
CELL_LIMIT = 32767  # characters an Excel cell holds
TEXT_COLUMN = 4  # D of 问题文本: the adopted text, which staff edit
ANNEX_SHEETS = tuple(a.sheet for a in ANNEXES)


class EditError(UserError):
    """An edit that cannot be written (Chinese message naming sheet, department or paragraph)."""


class EditConflict(EditError):
    """Optimistic versioning: the value the clerk's page showed (`expected`) is no longer the workbook's —
    another clerk saved meanwhile. Nothing is written; `current` is what the workbook holds now."""

    def __init__(self, what: str, current: str):
        shown = current if current else "空白"
        super().__init__(f"已被他人修改：{what}现为“{shown}”。请核对现在的内容后再修改。")
        self.current = current


def _changed_meanwhile(expected: str | None, current: str, what: str) -> None:
    """Refuse an edit made on a page that showed another value than the workbook holds now (None: not asked,
    e.g. a script that means to overwrite). Called under the workbook's step lock, which the caller holds."""
    if expected is not None and _plain(expected) != _plain(current):
        raise EditConflict(what, current)


def _plain(text: Any) -> str:
    return "" if text is None else str(text).replace("\r\n", "\n").strip()


def _month(port: Any, month: str | None = None) -> Any:
    require_bulletin(port)
    return compute(port.read_grids(), month=month_arg(month))


def _proposal(fired: Any, by_name: dict[str, Any]) -> str:
    """The rules' proposal for a row from its 触发规则 cell (the rules that fired; none = 绿)."""
    return worst(by_name[n].status for n in str(fired or "").split("、") if n in by_name)


def _who(record: dict[str, Any]) -> str | None:
    return record["部门"] if record["_kind"] == "department" else DISTRICT if record["_kind"] == "total" else None


def annex_tables(port: Any, month: str | None = None) -> list[dict[str, Any]]:
    """Every annex as the workbook holds it: columns (name, type, what: input/computed/status/rules/
    previous/change) and rows (sheet row, kind, department, label, values, status), in sheet order."""
    tables = []
    data = _month(port, month)
    by_name = {r.name: r for r in rules_for(data.params).rules}
    for sheet, inp in data.inputs.items():
        if not inp.columns:
            continue
        spec, values = inp.spec, port.values(sheet)
        head = values[inp.header_start - 1] if len(values) >= inp.header_start else []
        columns = [{"name": c.name, "type": c.type, "what": "computed" if c.formula else "input", "col": inp.columns[c.name]}
                   for c in spec.columns if c.name in inp.columns]
        status_col = status_column_of(head)
        if status_col is not None:
            columns += [{"name": STATUS_HEADERS[0], "type": "text", "what": "status", "col": status_col},
                        {"name": STATUS_HEADERS[1], "type": "text", "what": "rules", "col": status_col + 1}]
            computed = {c.name: c for c in spec.computed_columns}
            for col in range(status_col + 2, len(head) + 1):
                name = head[col - 1]
                if not isinstance(name, str) or not name:
                    break
                base = next((c for n, c in computed.items() if name in (f"上月{n}", f"{n}变化", f"{n}变化（百分点）")), None)
                what = "previous" if name.startswith("上月") else "change"
                kind = base.type if base is not None and what == "previous" else (
                    "points" if base is not None and base.type == "ratio" else "number")
                columns.append({"name": name, "type": kind, "what": what, "col": col})
        rows = []
        rules_at = status_col if status_col is not None else None  # 0-based index of 触发规则 in a line
        ran = rules_at is not None and any(rules_at < len(values[r["_row"] - 1]) and values[r["_row"] - 1][rules_at]
                                           for r in inp.records if r["_kind"] == "department" and r["_row"] <= len(values))
        for r in inp.records:
            if r["_kind"] not in ("department", "total", "subtotal", "reference"):
                continue
            line = values[r["_row"] - 1] if r["_row"] <= len(values) else []
            cells = [line[c["col"] - 1] if c["col"] <= len(line) else None for c in columns]
            status = cells[[c["what"] for c in columns].index("status")] if status_col is not None else None
            proposed = _proposal(cells[[c["what"] for c in columns].index("rules")], by_name) \
                if status_col is not None else None
            rows.append({"row": r["_row"], "kind": r["_kind"], "department": _who(r), "label": r["_label"],
                         "values": cells, "status": status if status in STATUSES else None, "proposed": proposed,
                         # staff's as read_statuses counts it: other than the proposal, or any in a never-run sheet
                         "by_staff": r["_kind"] == "department" and status in STATUSES
                                     and (status != proposed or not ran)})
        tables.append({"sheet": sheet, "title": spec.title_for(load_settings().district), "number": spec.number,
                       "has_status": status_col is not None, "columns": columns, "rows": rows})
    return tables


def _status_sheet(port: Any, sheet: str, month: str | None, then: str = "") -> tuple[Any, Any, list, int]:
    """An annex sheet whose 状态 is to change: (the month, its input, the sheet's values, the 状态 column), or
    the EditError saying why not (`then`: what the clerk does after 重新计算)."""
    if sheet not in ANNEX_SHEETS:
        raise EditError(f"“{sheet}”不是附件表，没有“状态”列")
    data = _month(port, month)
    inp = data.inputs.get(sheet)
    if inp is None or not inp.columns:
        raise EditError(f"工作簿中没有可读的“{sheet}”表")
    values = port.values(sheet)
    status_col = status_column_of(values[inp.header_start - 1] if len(values) >= inp.header_start else [])
    if status_col is None:
        raise EditError(f"“{sheet}”还没有“状态”列：请先点“重新计算”{then}")
    return data, inp, values, status_col


def set_status(port: Any, sheet: str, department: str, status: str, month: str | None = None,
               expected: str | None = None) -> Outcome:
    """Write a department's 状态 (红/黄/绿, or "" to clear) into every row it has in the annex sheet;
    the district row is named 全区. Only the 状态 cells change, like an edit in Excel. `expected`: the status
    the clerk's page showed; another one in the workbook now refuses the edit (EditConflict)."""
    status = (status or "").strip()
    if status and status not in STATUSES:
        raise EditError(f"状态只能是 红、黄、绿 或留空，不能是“{status}”")
    data, inp, values, status_col = _status_sheet(port, sheet, month, "，再修改状态")
    rows = [r["_row"] for r in inp.records if _who(r) == department]
    if not rows:
        raise EditError(f"“{sheet}”中没有“{department}”这一行")
    line = list(values[rows[0] - 1]) + [None] * status_col
    old = _plain(line[status_col - 1])
    _changed_meanwhile(expected, old, f"{sheet}“{department}”的状态")
    for row in rows:
        port.write(sheet, row, status_col, [[status or None]])
    return Outcome(None, notes=[f"已将{sheet}“{department}”的状态改为{status or '空白'}。"],
                   extra=_changed(data.month, sheet, old, status, department))


def _changed(month: str | None, target: str, old: str, new: str, department: str | None = None) -> dict[str, Any]:
    """What an edit changed, for the audit log (actions/audit.record_edit)."""
    return {"change": {"month": month, "target": target, "department": department, "old": old, "new": new}}


def reset_status(port: Any, sheet: str, department: str = "", month: str | None = None) -> Outcome:
    """The rules' proposal (from each row's 触发规则) written over the 状态 staff set: one department's rows,
    or with no department every department row of the annex. Only 状态 cells change."""
    data, inp, values, status_col = _status_sheet(port, sheet, month)
    by_name = {r.name: r for r in rules_for(data.params).rules}
    rows = [r for r in inp.records if r["_kind"] == "department" and (not department or r["部门"] == department)]
    if department and not rows:
        raise EditError(f"“{sheet}”中没有“{department}”这一行")
    changed = []
    for r in rows:
        line = list(values[r["_row"] - 1]) + [None, None]
        status, proposed = str(line[status_col - 1] or "").strip(), _proposal(line[status_col], by_name)
        if status != proposed:
            port.write(sheet, r["_row"], status_col, [[proposed]])
            changed.append(f"{r['部门']}（{status or '空白'}→{proposed}）")
    who = f"“{department}”" if department else "全部单位"
    note = (f"已按规则重置{sheet}{who}的状态：{'、'.join(changed)}。" if changed else
            f"{sheet}{who}的状态已与规则一致，无需重置。")
    return Outcome(None, notes=[note], extra={"changed": len(changed)})


def restore_paragraph(port: Any, paragraph: str) -> Outcome:
    """A paragraph's column D put back to the generated text (问题文本 F, as last generated), so the next
    生成问题文本 follows the figures again."""
    rows = port.values(TEXT_SHEET_OUT) if port.has_sheet(TEXT_SHEET_OUT) else []
    row = next((i for i, r in enumerate(rows, start=1) if i > 1 and r and str(r[0] or "") == paragraph), None)
    if row is None:
        raise EditError(f"“问题文本”表中没有段落“{paragraph}”：请先重新生成问题文本")
    line = [("" if v is None else str(v)) for v in rows[row - 1]] + [""] * len(TEXT_HEADERS)
    generated = line[5] or line[4]
    if not generated.strip():
        raise EditError(f"段落“{paragraph}”没有生成的文字可恢复：请先点“生成问题文本”")
    port.write(TEXT_SHEET_OUT, row, TEXT_COLUMN, [[generated]])
    port.write(TEXT_SHEET_OUT, row, len(TEXT_HEADERS), [["已恢复为生成的文字"]])
    return Outcome(None, notes=[f"已将段落“{paragraph}”恢复为生成的文字。"])


def text_paragraphs(port: Any) -> list[dict[str, Any]]:
    """The 问题文本 sheet's paragraphs: id, section, heading, text (column D, as staff left it), the
    newly generated text, the note, and whether staff edited it."""
    if not port.has_sheet(TEXT_SHEET_OUT):
        return []
    out = []
    for row in port.values(TEXT_SHEET_OUT)[1:]:
        row = [("" if v is None else str(v)) for v in row] + [""] * (len(TEXT_HEADERS) - len(row))
        if not row[0]:
            continue
        pid, section, heading, text, now, generated, note = row[:len(TEXT_HEADERS)]
        out.append({"id": pid, "section": section, "heading": heading, "text": text, "generated_now": now,
                    "note": note, "edited": text.strip() != generated.strip()})
    return out


def write_paragraph(port: Any, paragraph: str, text: str, expected: str | None = None) -> Outcome:
    """A clerk's wording of one paragraph into column D of 问题文本, as text (never a formula). `expected`: the
    text the clerk's page showed; another one in the workbook now refuses the edit (EditConflict)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise EditError("段落文字不能为空（如要用生成的文字，请恢复为生成文字）")
    if text.startswith(FORMULA_STARTS):
        raise EditError(f"段落不能以“{text[0]}”开头：Excel 和 WPS 会把它当作公式")
    if len(text) > CELL_LIMIT:
        raise EditError(f"段落过长（{len(text)} 字），一个单元格最多 {CELL_LIMIT} 字")
    rows = port.values(TEXT_SHEET_OUT) if port.has_sheet(TEXT_SHEET_OUT) else []
    if not any(r and r[0] for r in rows[1:]):
        raise EditError("工作簿中还没有问题文本：请先点“生成问题文本”")
    row = next((i for i, r in enumerate(rows, start=1) if i > 1 and r and str(r[0] or "") == paragraph), None)
    if row is None:
        raise EditError(f"“问题文本”表中没有段落“{paragraph}”：请先重新生成问题文本")
    line = list(rows[row - 1]) + [None] * TEXT_COLUMN
    old = _plain(line[TEXT_COLUMN - 1])
    _changed_meanwhile(expected, old, f"段落“{paragraph}”")
    port.write(TEXT_SHEET_OUT, row, TEXT_COLUMN, [[text]])
    return Outcome(None, notes=[f"已保存段落“{paragraph}”的修改（写入“问题文本”表 D{row}）。"],
                   extra=_changed(_workbook_month(port), paragraph, old, text))


def _workbook_month(port: Any) -> str | None:
    """The month the workbook is about, for the audit log; None where it cannot be read."""
    try:
        return _month(port).month
    except UserError:
        return None
