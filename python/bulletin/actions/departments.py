"""The units as this workbook sees them — the office registry with the workbook's 部门 rows laid over it — and a
clerk's edit of one unit, written as that unit's one row of the 部门 sheet (as if typed into Excel): only the
columns that differ from the office registry are filled, a blank keeps the registry's value. The console's 部门
view uses them, so the mail refusal "未登记邮箱" is fixed where it is read.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..config import load_messages, load_registry
from ..core.department_sheet import COLUMNS, overlay
from ..core.intake import Grid
from ..core.registry import UnknownDepartment, row_of
from ..spec import DEPT_SHEET
from .common import Outcome, require_bulletin
from .edits import CELL_LIMIT, FORMULA_STARTS, EditError

EDITABLE = ("简称", "别名", "邮箱", "应进驻大厅")  # what the page edits; the rest stays in Excel/WPS
NOTE_START = "本表"  # the layout's note beside the header, not a column


def _sheet(port: Any) -> tuple[list[list[Any]], dict[str, int]]:
    """The 部门 sheet's cells and its header (column name -> 1-based column), up to the first blank header."""
    values = port.values(DEPT_SHEET) if port.has_sheet(DEPT_SHEET) else []
    header: dict[str, int] = {}
    for c, h in enumerate(values[0] if values else [], start=1):
        name = str(h or "").strip()
        if not name or name.startswith(NOTE_START):
            break
        header[name] = c
    return values, header


def _text(v: Any) -> str:
    if isinstance(v, float) and v == int(v):
        v = int(v)
    return "" if v is None else str(v).strip()


def _hall(text: str) -> str:
    return "是" if text == "是" else "否"


def departments(port: Any) -> dict[str, Any]:
    """Every unit with its values in force (registry, then this workbook's row), the office's own values, the
    columns this workbook sets, and the problems of the 部门 sheet."""
    require_bulletin(port)
    office = load_registry()
    values, header = _sheet(port)
    grid = Grid(DEPT_SHEET, [list(r) for r in values]) if values else None
    merged, problems = overlay(office, grid, load_messages())
    own = {d.name: row_of(d) for d in (*office.departments, *office.retired)}
    units = []
    for d in merged.departments:
        row, base = row_of(d), own.get(d.name)
        units.append({"部门": d.name, **{c: _hall(row[c]) if c == "应进驻大厅" else row[c] for c in EDITABLE},
                      "office": {c: _hall(base[c]) if c == "应进驻大厅" else base[c] for c in EDITABLE} if base else None,
                      "set": [c for c in d.set_fields if c in COLUMNS], "new": base is None})
    return {"departments": units, "columns": list(EDITABLE), "has_sheet": bool(header),
            "problems": [{"cell": p.cell, "message": p.message, "severity": p.severity} for p in problems]}


def set_department(port: Any, department: str, fields: Mapping[str, str]) -> Outcome:
    """One unit's 简称/别名/邮箱/应进驻大厅 as the clerk wants them: written into that unit's row of the 部门
    sheet (a new row when it has none), each column blank where it equals the office registry's value. Refused,
    naming the column, when the row would not be read back as written (a wrong address, a name of another unit)."""
    require_bulletin(port)
    office = load_registry()
    values, header = _sheet(port)
    if not header:
        raise EditError("工作簿中没有“部门”表（或其表头被改动）：请用本月模板生成的工作簿")
    grid = Grid(DEPT_SHEET, [list(r) for r in values])
    merged, _ = overlay(office, grid, load_messages())
    unit = next((d for d in merged.departments if d.name == department), None)
    if unit is None:
        raise EditError(f"部门名录和“部门”表中都没有“{department}”")
    base = next((row_of(d) for d in office.departments if d.name == department), None)
    wanted: dict[str, str] = {}
    for column in EDITABLE:
        if column not in fields:
            continue
        text = str(fields[column] or "").replace("\r", " ").replace("\n", " ").strip()
        if column == "应进驻大厅":
            text = "是" if text == "是" else "否"
        if text.startswith(FORMULA_STARTS):
            raise EditError(f"“{department}”的“{column}”不能以“{text[0]}”开头：Excel 和 WPS 会把它当作公式")
        if len(text) > CELL_LIMIT:
            raise EditError(f"“{department}”的“{column}”过长（{len(text)} 字），一个单元格最多 {CELL_LIMIT} 字")
        if column not in header:
            raise EditError(f"“部门”表缺少“{column}”列：请在表头补上该列后再修改")
        wanted[column] = text
    def names(r: list[Any]) -> bool:  # the row is this unit's, whichever of its spellings it uses
        text = _text(r[header["部门"] - 1]) if len(r) >= header["部门"] else ""
        if text == department:
            return True
        try:
            return bool(text) and office.resolve(text) == department
        except UnknownDepartment:
            return False

    row = next((i for i, r in enumerate(values, start=1) if i > 1 and r and names(list(r))), None)
    if row is None:  # the unit's first row in this workbook: after the last filled one
        row = max([i for i, r in enumerate(values, start=1) if i > 1 and any(_text(v) for v in r[:len(header)])],
                  default=1) + 1
    line = list(values[row - 1]) if row <= len(values) else []
    cells: dict[str, str] = {"部门": _text(line[header["部门"] - 1]) if len(line) >= header["部门"] and _text(
        line[header["部门"] - 1]) else department}  # a row's own spelling is kept
    for column in wanted:
        office_value = "" if base is None else (_hall(base[column]) if column == "应进驻大厅" else base[column])
        # blank where the office says the same: the registry's later changes still reach this workbook
        cells[column] = "" if wanted[column] == office_value or (not wanted[column] and column != "应进驻大厅") \
            else wanted[column]
    trial = [list(r) for r in values] + [[] for _ in range(row - len(values))]
    trial_line = trial[row - 1] + [None] * (max(header.values()) - len(trial[row - 1]))
    for column, text in cells.items():
        trial_line[header[column] - 1] = text or (None if column != "部门" else department)
    trial[row - 1] = trial_line
    if all(not _text(trial_line[header[c] - 1]) for c in header if c != "部门"):
        trial_line[header["部门"] - 1] = None  # nothing differs from the registry: the row is cleared
    _, problems = overlay(office, Grid(DEPT_SHEET, trial), load_messages())
    mine = [p for p in problems if p.severity == "error" and p.sheet == DEPT_SHEET and _row_number(p.cell) == row]
    if mine:
        raise EditError("；".join(p.message.rstrip("。") for p in mine) + "。未保存。")
    for column in cells:
        c = header[column]
        value, old = trial_line[c - 1], line[c - 1] if c - 1 < len(line) else None
        if _text(value) != _text(old):
            port.write(DEPT_SHEET, row, c, [[_text(value) or None]])  # text, never a formula
    before = row_of(unit)
    changed = [f"{c}：{wanted[c] or '（沿用名录）'}" for c in wanted
               if wanted[c] != (_hall(before[c]) if c == "应进驻大厅" else before[c])]
    note = (f"已保存“{department}”：{'；'.join(changed)}（写入“部门”表第 {row} 行）。" if changed else
            f"“{department}”没有改动。")
    return Outcome(None, notes=[note])


def _row_number(cell: str) -> int:
    digits = "".join(ch for ch in str(cell) if ch.isdigit())
    return int(digits) if digits else 0
