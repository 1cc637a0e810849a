"""openpyxl adapter, writing side: the input layout (template, sample) and the output workbook.

The output is always a NEW file: the input workbook is loaded, its input cells are left as they are,
computed columns and total rows are filled with the engine's values, and a 校验结果 sheet lists the
problems with links to their cells. Saving goes through a temp file and an atomic rename.
"""
from __future__ import annotations

from ..errors import UserError

from copy import copy
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..core.numbers import EXCEL_CELL_LIMIT, present
from ..spec import SCALARS, TEXT_ITEMS, AnnexSpec, Column
from .files import write_atomically
from .xlsx_files import sheet_values

# The colours of every workbook the program writes (layout, result workbook, live book): RGB hex.
COLOURS = {"header": "DDEBF7", "computed": "F2F2F2", "extra": "E2EFDA", "红": "F8CBAD", "黄": "FFE699"}
CHANGE_FORMATS = {True: "+0.00;-0.00;0.00", False: "+0;-0;0"}  # 变化 of a ratio (True) or a count
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor=COLOURS["header"])
COMPUTED_FILL = PatternFill("solid", fgColor=COLOURS["computed"])
TOTAL_FONT = Font(bold=True)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
TITLE_ROW = 1
FIRST_HEADER_ROW = 2


HEADER_FONT = Font(bold=True)


def style(cell: Any, **attrs: Any) -> None:
    """Set cell styles (number_format, fill, border, font, alignment) through a per-workbook cache:
    openpyxl hashes every style object on assignment, which dominates writing a few hundred cells."""
    base = cell._style
    cache = cell.parent.parent.__dict__.setdefault("_bulletin_styles", {})
    # keyword order is part of the key: the same attributes in another order only make a second entry
    key = (base.tobytes() if base is not None else None,
           *[(k, v if v.__class__ is str else id(v)) for k, v in attrs.items()])
    cached = cache.get(key)
    if cached is None:
        if base is None:
            cell._style = StyleArray()  # a new cell has no style array yet
        for name, value in attrs.items():
            setattr(cell, name, value)
        cache[key] = copy(cell._style)
    else:
        cell._style = copy(cached)


def put(ws: Worksheet, row: int, col: int, value: Any = None) -> Any:
    """The one way the adapters write a cell: a string is text, never a formula (a department name, an
    alias or a paragraph beginning with "=", "+", "-" or "@" stays what it says)."""
    cell = ws.cell(row, col)
    if value is not None:
        if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
            raise OutputError(f"工作表“{ws.title}”{get_column_letter(col)}{row} 的内容有 {len(value)} 个字符，"
                              f"超过 Excel 单元格上限 {EXCEL_CELL_LIMIT}，未写入（请删减这段文字）")
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    return cell


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """openpyxl's ws.append through `put`: the next row, strings as text."""
    r = ws._current_row + 1  # where ws.append would write
    for c, v in enumerate(values, start=1):
        put(ws, r, c, v)
    ws._current_row = r  # an empty row still takes its place, as ws.append does


class OutputError(UserError):
    """A refused write (message in Chinese, for the user)."""


def number_format(col: Column) -> str:
    return {"ratio": "0.00%", "count": "0", "number": "0.##"}.get(col.type, "@")


def cell_value(col: Column, value: Any) -> Any:
    """Engine value -> cell value (ratios are stored as fractions under a % format)."""
    if not present(value):
        return None
    if col.type == "ratio":
        return round(float(value) / 100, 6)
    if col.type == "count":
        return int(value)
    if col.type == "number":
        return int(value) if float(value) == int(value) else float(value)
    return value


def write_header(ws: Worksheet, spec: AnnexSpec, title: str, columns: Sequence[Column]) -> int:
    """Title row, then the (multi-row) header with merged cells as printed. Returns the first data row."""
    from ..core.tables import header_layout  # the one place header merges are computed

    depth = spec.header_rows
    put(ws, TITLE_ROW, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=len(columns))
    ws.cell(TITLE_ROW, 1).alignment = CENTER
    for h in header_layout([col.header for col in columns], depth):
        put(ws, FIRST_HEADER_ROW + h.row, h.col + 1, h.text)
        if h.merged:
            ws.merge_cells(start_row=FIRST_HEADER_ROW + h.row, start_column=h.col + 1,
                           end_row=FIRST_HEADER_ROW + h.last_row, end_column=h.last_col + 1)
    for r in range(FIRST_HEADER_ROW, FIRST_HEADER_ROW + depth):
        for c, col in enumerate(columns, start=1):
            cell = ws.cell(r, c)
            style(cell, fill=HEADER_FILL, border=BORDER, alignment=CENTER, font=HEADER_FONT)
    for c, col in enumerate(columns, start=1):
        width = 22 if col.role in ("name", "key") else (6 if col.role == "index" else 12)
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = ws.cell(FIRST_HEADER_ROW + depth, 3)
    return FIRST_HEADER_ROW + depth


def write_row(ws: Worksheet, r: int, columns: Sequence[Column], values: Mapping[str, Any], *,
              bold: bool = False) -> None:
    for c, col in enumerate(columns, start=1):
        cell = put(ws, r, c, cell_value(col, values.get(col.name)))
        attrs: dict[str, Any] = {"number_format": number_format(col), "border": BORDER}
        if col.role == "computed":
            attrs["fill"] = COMPUTED_FILL
        if bold:
            attrs["font"] = TOTAL_FONT
        style(cell, **attrs)


def write_annex_sheet(ws: Worksheet, spec: AnnexSpec, district: str, rows: Iterable[Mapping[str, Any]],
                      total: Mapping[str, Any] | None = None,
                      subtotals: Mapping[str, Mapping[str, Any]] | None = None,
                      reference_rows: Iterable[Mapping[str, Any]] = ()) -> None:
    """Lay out one annex in the engine's input layout. rows carry an optional "_section"."""
    columns = [c for c in spec.columns if c.printed]
    r = write_header(ws, spec, title_of(spec, district), columns)
    name, index = spec.name_column.name, spec.index_column.name if spec.index_column else None
    total_label = spec.total.label.format(district=district) if spec.total else None
    for ref in reference_rows:
        write_row(ws, r, columns, ref)
        r += 1
    if spec.total and spec.total.position == "top":
        write_row(ws, r, columns, {**(total or {}), (index if spec.total.label != "{district}" else name):
                                   total_label}, bold=True)
        r += 1
    rows = list(rows)
    sections = spec.sections or ("",)
    n = 0
    for s_i, section in enumerate(sections):
        if s_i > 0:
            put(ws, r, 1, section).font = TOTAL_FONT
            r += 1
        for row in rows:
            if (row.get("_section") or sections[0]) != section:
                continue
            n += 1
            write_row(ws, r, columns, {**row, index: row.get(index, n)} if index else row)
            r += 1
        if spec.subtotal_label:
            write_row(ws, r, columns, {**(subtotals or {}).get(section, {}), name: spec.subtotal_label}, bold=True)
            r += 1
    if spec.total and spec.total.position == "bottom":
        write_row(ws, r, columns, {**(total or {}), (name if spec.subtotal_label else index): total_label},
                  bold=True)
        r += 1
    add_annex_table(ws, spec, len(columns), r - 1)


STATUS_HEADERS = ("状态", "触发规则")


def table_name(spec: AnnexSpec) -> str:
    return f"附件{spec.number}表"


def add_annex_table(ws: Worksheet, spec: AnnexSpec, width: int, last_row: int) -> None:
    """The annex block as an Excel table (filter, banding off so computed fills show), followed by the
    状态/触发规则 columns that rules fill and staff may edit; rows are coloured by 状态.
    Annex 5 stays a plain block under a defined name: Excel tables allow neither the merged three-row
    header the printed layout needs nor its repeated leaf names (个数/覆盖数/汇聚数)."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.table import Table, TableStyleInfo

    header = FIRST_HEADER_ROW + spec.header_rows - 1
    status_col = width + 1
    for offset, text in enumerate(STATUS_HEADERS):
        c = status_col + offset
        _header_cell(ws, spec, FIRST_HEADER_ROW, c, text)
        for r in range(header + 1, last_row + 1):
            style(ws.cell(r, c), border=BORDER)
    ws.column_dimensions[get_column_letter(status_col + 1)].width = 30
    last_col = get_column_letter(status_col + 1)
    if spec.header_rows == 1:
        table = Table(displayName=table_name(spec), ref=f"A{header}:{last_col}{last_row}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
        ws.add_table(table)
    else:
        ws.parent.defined_names[table_name(spec)] = DefinedName(
            table_name(spec), attr_text=f"'{ws.title}'!$A${header + 1}:${last_col}${last_row}")
    letter = get_column_letter(status_col)
    area = f"A{header + 1}:{get_column_letter(status_col + 1)}{last_row}"
    for status, fill in STATUS_FILLS.items():
        ws.conditional_formatting.add(area, FormulaRule(formula=[f'${letter}{header + 1}="{status}"'], fill=fill))


def write_scalar_sheet(ws: Worksheet, values: Mapping[str, Any]) -> None:
    append(ws, ["项目", "数值", "说明"])
    for c in ws[1]:
        c.fill, c.font, c.border = HEADER_FILL, Font(bold=True), BORDER
    for s in SCALARS:
        append(ws, [s.name, values.get(s.name), s.note])
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 24, 16
    ws.column_dimensions["C"].width = 40


def write_texts_input_sheet(ws: Worksheet, texts: Mapping[str, Sequence[str]]) -> None:
    """文字素材: one paragraph per row; every known 栏目 is listed once so staff see what exists."""
    append(ws, ["栏目", "内容", "说明"])
    for c in ws[1]:
        c.fill, c.font, c.border = HEADER_FILL, Font(bold=True), BORDER
    for item, explain in TEXT_ITEMS.items():
        for body in texts.get(item) or [None]:
            append(ws, [item, body, explain])
    for letter, width in zip("ABC", (14, 90, 50)):
        ws.column_dimensions[letter].width = width


def save_new(wb: openpyxl.Workbook, path: Path, *, protect: Iterable[Path] = ()) -> Path:
    """Save to a new file via a temp file and an atomic rename; never over a protected (input) file."""
    path = Path(path).resolve()
    for p in protect:
        if Path(p).resolve() == path:
            raise OutputError(f"输出文件不能覆盖输入文件：{path}")
    return write_atomically(path, wb.save)


def title_of(spec: AnnexSpec, district: str) -> str:
    return f"附件{spec.number}　{spec.title_for(district)}"


# -- part 2: comparison columns, statuses, 问题文本 ---------------------------------------------------

TEXT_SHEET_OUT = "问题文本"
TEXT_HEADERS = ("段落编号", "部分", "标题", "文本（可修改，通报采用此列）", "本次生成的文本", "上次生成的文本", "说明")
STATUS_FILLS = {k: PatternFill("solid", fgColor=COLOURS[k]) for k in ("红", "黄")}
EXTRA_FILL = PatternFill("solid", fgColor=COLOURS["extra"])


def _header_cell(ws: Worksheet, spec: AnnexSpec, start: int, c: int, text: str) -> None:
    for level in range(spec.header_rows):
        cell = put(ws, start + level, c, text if level == 0 else None)
        style(cell, fill=EXTRA_FILL, border=BORDER, alignment=CENTER, font=HEADER_FONT)
    if spec.header_rows > 1:
        ws.merge_cells(start_row=start, start_column=c, end_row=start + spec.header_rows - 1, end_column=c)
    ws.column_dimensions[get_column_letter(c)].width = 12


def read_text_sheet(path: Path) -> dict[str, dict[str, str]]:
    """Paragraphs of an earlier output's 问题文本 sheet: id -> {text, generated}."""
    path = Path(path)
    if not path.exists():
        return {}
    rows = sheet_values(path, TEXT_SHEET_OUT)
    return text_rows(rows) if rows else {}


def text_rows(rows: Sequence[Sequence[Any]]) -> dict[str, dict[str, str]]:
    """The 问题文本 sheet's cells (header first) -> id -> {text (column D, staff may edit), generated}."""
    out = {}
    for row in rows[1:]:
        row = list(row) + [None] * (7 - len(row))
        if row[0]:
            out[str(row[0])] = {"text": str(row[3] or ""), "generated": str(row[5] or "")}
    return out
