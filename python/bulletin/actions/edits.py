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
from ..core.intake import AnnexInput
from ..engine import compute
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


def _inputs(port: Any, month: str | None = None) -> dict[str, AnnexInput]:
    require_bulletin(port)
    return compute(port.read_grids(), month=month_arg(month)).inputs


def _who(record: dict[str, Any]) -> str | None:
    return record["部门"] if record["_kind"] == "department" else DISTRICT if record["_kind"] == "total" else None


def annex_tables(port: Any, month: str | None = None) -> list[dict[str, Any]]:
    """Every annex as the workbook holds it: columns (name, type, what: input/computed/status/rules/
    previous/change) and rows (sheet row, kind, department, label, values, status), in sheet order."""
    tables = []
    for sheet, inp in _inputs(port, month).items():
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
        for r in inp.records:
            if r["_kind"] not in ("department", "total", "subtotal", "reference"):
                continue
            line = values[r["_row"] - 1] if r["_row"] <= len(values) else []
            cells = [line[c["col"] - 1] if c["col"] <= len(line) else None for c in columns]
            status = cells[[c["what"] for c in columns].index("status")] if status_col is not None else None
            rows.append({"row": r["_row"], "kind": r["_kind"], "department": _who(r), "label": r["_label"],
                         "values": cells, "status": status if status in STATUSES else None})
        tables.append({"sheet": sheet, "title": spec.title_for(load_settings().district), "number": spec.number,
                       "has_status": status_col is not None, "columns": columns, "rows": rows})
    return tables


def set_status(port: Any, sheet: str, department: str, status: str, month: str | None = None) -> Outcome:
    """Write a department's 状态 (红/黄/绿, or "" to clear) into every row it has in the annex sheet;
    the district row is named 全区. Only the 状态 cells change, like an edit in Excel."""
    status = (status or "").strip()
    if status and status not in STATUSES:
        raise EditError(f"状态只能是 红、黄、绿 或留空，不能是“{status}”")
    if sheet not in ANNEX_SHEETS:
        raise EditError(f"“{sheet}”不是附件表，没有“状态”列")
    inp = _inputs(port, month).get(sheet)
    if inp is None or not inp.columns:
        raise EditError(f"工作簿中没有可读的“{sheet}”表")
    values = port.values(sheet)
    status_col = status_column_of(values[inp.header_start - 1] if len(values) >= inp.header_start else [])
    if status_col is None:
        raise EditError(f"“{sheet}”还没有“状态”列：请先点“重新计算”，再修改状态")
    rows = [r["_row"] for r in inp.records if _who(r) == department]
    if not rows:
        raise EditError(f"“{sheet}”中没有“{department}”这一行")
    for row in rows:
        port.write(sheet, row, status_col, [[status or None]])
    return Outcome(None, notes=[f"已将{sheet}“{department}”的状态改为{status or '空白'}。"])


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


def write_paragraph(port: Any, paragraph: str, text: str) -> Outcome:
    """A clerk's wording of one paragraph into column D of 问题文本, as text (never a formula)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise EditError("段落文字不能为空（如要恢复生成的文字，请在“问题文本”表中把 D 列改回，或重新生成时选择覆盖）")
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
    port.write(TEXT_SHEET_OUT, row, TEXT_COLUMN, [[text]])
    return Outcome(None, notes=[f"已保存段落“{paragraph}”的修改（写入“问题文本”表 D{row}）。"])
