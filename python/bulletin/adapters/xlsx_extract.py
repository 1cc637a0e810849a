"""The per-department extract: a plain, macro-free .xlsx built from a DepartmentPart (openpyxl).

Sheets: 说明 (what this is, the department's status per annex), one sheet per annex the department
reports in (the district totals first, then its rows with 上月/变化, 状态 and 触发规则), and 问题摘录
(the bulletin's sentences that name it). A new workbook, never a copy of the macro workbook.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..core.mailing import VISIBILITIES, DepartmentPart, SheetPart
from ..core.tables import RowKind, TableRow, header_layout
from .xlsx_output import (BORDER, CENTER, COMPUTED_FILL, EXTRA_FILL, HEADER_FILL, STATUS_FILLS, append, cell_value, put,
                          number_format, save_new, style)

INTRO_SHEET, SENTENCE_SHEET = "说明", "问题摘录"
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def extract_name(month: str, short: str) -> str:
    return f"通报数据-{month}-{short}.xlsx"


def _header(ws: Any, r: int, texts: list[str], fills: list[Any]) -> None:
    for c, (text, fill) in enumerate(zip(texts, fills), start=1):
        style(put(ws, r, c, text), fill=fill, border=BORDER, alignment=CENTER, font=BOLD)


def _annex_header(ws: Any, first: int, part: SheetPart) -> int:
    """The annex's header rows (annex 5's three, merged as printed), then 上月/变化, 状态 and 触发规则
    spanning them. Returns the first data row."""
    paths = [("单位",), *(c.header for c in part.columns)]
    for col in part.compared:
        unit = "（百分点）" if col.type == "ratio" else ""
        paths += [(f"上月{col.name}",), (f"{col.name}变化{unit}",)]
    paths += [("状态",), ("触发规则",)]
    depth = part.spec.header_rows
    extra = 1 + len(part.columns)  # columns from here on are the extract's own, not the annex's
    for r in range(first, first + depth):
        for c in range(1, len(paths) + 1):
            style(ws.cell(r, c), fill=HEADER_FILL if c <= extra else EXTRA_FILL, border=BORDER, alignment=CENTER,
                  font=BOLD)
    for h in header_layout(paths, depth):
        put(ws, first + h.row, h.col + 1, h.text)
        if h.merged:
            ws.merge_cells(start_row=first + h.row, start_column=h.col + 1, end_row=first + h.last_row,
                           end_column=h.last_col + 1)
    return first + depth


def _annex_sheet(ws: Any, part: SheetPart) -> None:
    put(ws, 1, 1, f"附件{part.spec.number}　{part.title}").font = Font(bold=True, size=14)
    r = first = _annex_header(ws, 2, part)
    for row in [*part.totals, *part.rows]:
        _row(ws, r, part, row)
        r += 1
    width = 1 + len(part.columns) + 2 * len(part.compared) + 2
    ws.column_dimensions["A"].width = 18
    for c in range(2, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 24 if c == width else 13
    ws.freeze_panes = f"B{first}"


def _row(ws: Any, r: int, part: SheetPart, row: TableRow) -> None:
    bold = row.kind is not RowKind.DEPARTMENT
    style(put(ws, r, 1, row.standalone_label), border=BORDER, **({"font": BOLD} if bold else {}))
    c = 2
    for col in part.columns:
        attrs: dict[str, Any] = {"number_format": number_format(col), "border": BORDER}
        if col.role == "computed":
            attrs["fill"] = COMPUTED_FILL
        if bold:
            attrs["font"] = BOLD
        style(put(ws, r, c, cell_value(col, row.values.get(col.name))), **attrs)
        c += 1
    for col in part.compared:
        style(put(ws, r, c, cell_value(col, row.previous.get(col.name))), number_format=number_format(col),
              border=BORDER)
        change = row.change.get(col.name)
        style(put(ws, r, c + 1, None if change is None else (float(change) if col.type == "ratio" else change)),
              number_format="+0.00;-0.00;0.00" if col.type == "ratio" else "+0;-0;0", border=BORDER)
        c += 2
    status = row.status.label if row.status else None
    style(put(ws, r, c, status), border=BORDER, **({"fill": STATUS_FILLS[status]} if status in STATUS_FILLS else {}))
    style(put(ws, r, c + 1, "、".join(row.rules) or None), border=BORDER)


def _intro(ws: Any, part: DepartmentPart, district: str) -> None:
    d = part.department
    append(ws, [f"{district}政务服务能力提升情况通报 数据摘录"])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in (("单位", d.full), ("月份", part.month), ("数据范围", VISIBILITIES[part.visibility]),
                         ("说明", "各表先列全区合计，再列本单位各行；比例为重新计算后的数值，“变化”为本月减上月"
                                  "（比例单位为百分点）；“状态”红/黄为规则提示的落后项，以通报正文为准。")):
        append(ws, [label, value])
        ws.cell(ws.max_row, 1).font = BOLD
    append(ws, [])
    append(ws, ["附件", "表名", "本单位状态", "触发规则"])
    for cell in ws[ws.max_row]:
        style(cell, fill=HEADER_FILL, border=BORDER, font=BOLD)
    for s in part.sheets:
        worst, fired = s.summary(d.name)
        status = worst.label if worst else None
        append(ws, [s.spec.sheet, s.title, status, "、".join(fired) or None])
        for cell in ws[ws.max_row]:
            style(cell, border=BORDER, **({"fill": STATUS_FILLS[status]} if cell.column == 3 and status in STATUS_FILLS
                                          else {}))
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 12, 60
    ws.column_dimensions["C"].width, ws.column_dimensions["D"].width = 12, 40
    ws["B5"].alignment = WRAP


def _sentences(ws: Any, part: DepartmentPart) -> None:
    _header(ws, 1, ["部分", "标题", "通报原文（提及本单位的句子）"], [HEADER_FILL] * 3)
    for s in part.sentences:
        append(ws, [s.section, s.heading or None, s.text])
        for cell in ws[ws.max_row]:
            style(cell, border=BORDER, alignment=WRAP)
    if not part.sentences:
        append(ws, [None, None, "本月通报正文未点名本单位。"])
    for letter, width in zip("ABC", (12, 36, 90)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def build_extract(part: DepartmentPart, district: str) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.active.title = INTRO_SHEET
    _intro(wb.active, part, district)
    for s in part.sheets:
        ws = wb.create_sheet(s.spec.sheet)
        _annex_sheet(ws, s)
        if s.spec.landscape:
            ws.page_setup.orientation = "landscape"
    _sentences(wb.create_sheet(SENTENCE_SHEET), part)
    wb.properties.creator = district
    return wb


def write_extract(part: DepartmentPart, district: str, path: Path) -> Path:
    """Atomically written (temp file + rename), like every output."""
    return save_new(build_extract(part, district), Path(path))
