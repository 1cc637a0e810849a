"""openpyxl adapter: a department's fill-in workbook (说明, its annexes with only its rows, a hidden signed
identity), and reading one back as it returns — hostile input: bounded before any XML is parsed, parsed
with defusedxml (openpyxl uses it when installed), formulas seen as formulas, never taken as values."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..core.collect import Identity
from ..core.intake import address
from ..errors import UserError
from ..spec import AnnexSpec, Column
from .xlsx_files import not_a_workbook
from .xlsx_output import (BORDER, CENTER, COMPUTED_FILL, EXTRA_FILL, HEADER_FONT, cell_value, number_format, put,
                          style, write_header)

INFO_SHEET = "说明"
IDENTITY_SHEET = "报送标识"
EXPLANATION_LABEL = "强制上报说明"
UNLOCKED = Protection(locked=False)
INPUT_FILL = PatternFill("solid", fgColor="FFFFFF")
NOTE_FONT = Font(color="666666")


class ReturnRefused(UserError):
    """A returned file that is not read at all (Chinese reason); `key` names the reason's kind."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass
class FillinSheet:
    """One annex of a fill-in workbook: its spec, its title, the department's rows (name and key values)
    and, per row, last month's figures (None when history has none)."""

    spec: AnnexSpec
    title: str
    rows: list[dict[str, Any]]
    previous: list[Mapping[str, Any] | None]


def fillin_columns(spec: AnnexSpec) -> list[Column]:
    """The columns of the fill-in sheet, in order (the printed ones): what both the writer and the reader
    place by position."""
    return [c for c in spec.columns if c.printed]


def first_data_row(spec: AnnexSpec) -> int:
    return 2 + spec.header_rows


def input_columns(spec: AnnexSpec) -> list[Column]:
    return [c for c in fillin_columns(spec) if c.role == "input"]


def _formula(spec: AnnexSpec, col: Column, row: int, letters: Mapping[str, str]) -> str:
    """The computed cell as an Excel formula of its row (blank while its denominator is)."""
    def side(terms: Sequence[str]) -> str:
        out = ""
        for t in terms:
            out += ("-" if t.startswith("-") else "+") + f"N({letters[t.lstrip('-')]}{row})"
        return "(" + out.lstrip("+") + ")"

    f = col.formula
    if f.den:
        den = side(f.den)
        return f'=IF({den}=0,"",{side(f.num)}/{den})'
    return f"={side(f.num)}"


def _validation(col: Column) -> DataValidation:
    if col.type == "count":
        dv = DataValidation(type="whole", operator="between", formula1="0", formula2=str(int(col.max or 10 ** 9)))
        dv.error = f"“{col.name}”应为不小于 0 的整数"
    elif col.type == "ratio":
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1")
        dv.error = f"“{col.name}”应为 0%–100% 的百分数"
    elif col.type == "number":
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2=str(col.max or 10 ** 7))
        dv.error = f"“{col.name}”应为不小于 0 的数"
    else:
        dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="32767")
        dv.error = f"“{col.name}”的内容过长"
    dv.errorTitle, dv.showErrorMessage, dv.allow_blank = "填写有误", True, True
    return dv


def _annex_sheet(ws: Any, sheet: FillinSheet) -> None:
    spec = sheet.spec
    columns = fillin_columns(spec)
    first = write_header(ws, spec, sheet.title, columns)
    letters = {c.name: get_column_letter(i) for i, c in enumerate(columns, start=1)}
    references = [c for c in columns if c.role in ("input", "computed") and c.is_numeric]
    ref_start = len(columns) + 2  # one empty column between the table and last month's figures
    for j, col in enumerate(references):
        c = ref_start + j
        for level in range(spec.header_rows):
            cell = put(ws, 2 + level, c, f"上月{col.name}" if level == 0 else None)
            style(cell, fill=EXTRA_FILL, border=BORDER, alignment=CENTER, font=HEADER_FONT)
        if spec.header_rows > 1:
            ws.merge_cells(start_row=2, start_column=c, end_row=1 + spec.header_rows, end_column=c)
        ws.column_dimensions[get_column_letter(c)].width = 12
    validations = {c.name: _validation(c) for c in columns if c.role == "input"}
    last = first + len(sheet.rows) - 1
    for i, row in enumerate(sheet.rows):
        r = first + i
        for k, col in enumerate(columns, start=1):
            cell = ws.cell(r, k)
            if col.role == "index":
                put(ws, r, k, str(i + 1))
            elif col.role in ("name", "key"):
                put(ws, r, k, row.get(col.name))
            elif col.role == "computed":
                cell.value = _formula(spec, col, r, letters)  # the program's own formula, never cell text
            attrs: dict[str, Any] = {"number_format": number_format(col), "border": BORDER}
            if col.role == "input":
                attrs.update(fill=INPUT_FILL, protection=UNLOCKED)
            elif col.role == "computed":
                attrs["fill"] = COMPUTED_FILL
            style(cell, **attrs)
        prev = sheet.previous[i] if i < len(sheet.previous) else None
        for j, col in enumerate(references):
            cell = put(ws, r, ref_start + j, cell_value(col, prev.get(col.name)) if prev else None)
            style(cell, number_format=number_format(col), border=BORDER, fill=EXTRA_FILL)
    if sheet.rows:
        for name, dv in validations.items():
            dv.add(f"{letters[name]}{first}:{letters[name]}{last}")
            ws.add_data_validation(dv)
    ws.protection.sheet = True  # locked: names, keys, formulas and references; the inputs are unlocked
    ws.protection.formatColumns = False  # staff may widen a column


def _info_sheet(ws: Any, title: str, facts: Sequence[tuple[str, str]], lines: Sequence[str]) -> str:
    """The 说明 sheet; returns the address of the explanation cell."""
    put(ws, 1, 1, title).font = Font(bold=True, size=14)
    r = 3
    for label, value in facts:
        put(ws, r, 1, label).font = HEADER_FONT
        put(ws, r, 2, value)
        r += 1
    r += 1
    put(ws, r, 1, "填报说明").font = HEADER_FONT
    for line in lines:
        put(ws, r, 2, line).alignment = Alignment(wrap_text=True, vertical="top")
        r += 1
    r += 1
    put(ws, r, 1, EXPLANATION_LABEL).font = HEADER_FONT
    cell = ws.cell(r, 2)
    style(cell, protection=UNLOCKED, border=BORDER, fill=INPUT_FILL,
          alignment=Alignment(wrap_text=True, vertical="top"))
    ws.row_dimensions[r].height = 60
    put(ws, r + 1, 2, "（仅在数据确实无误、但校验提示问题时填写原因；填写后问题不会退回，由办公室核实）").font = NOTE_FONT
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 90
    ws.protection.sheet = True
    return cell.coordinate


def write_fillin(path: Path, *, title: str, facts: Sequence[tuple[str, str]], lines: Sequence[str],
                 sheets: Sequence[FillinSheet], payload: str, signature: str) -> None:
    """Write a fill-in workbook to `path` (the caller saves through a temp file and a rename)."""
    wb = openpyxl.Workbook()
    _info_sheet(wb.active, title, facts, lines)
    wb.active.title = INFO_SHEET
    for sheet in sheets:
        _annex_sheet(wb.create_sheet(sheet.spec.sheet), sheet)
    ident = wb.create_sheet(IDENTITY_SHEET)
    put(ident, 1, 1, "payload")
    put(ident, 1, 2, payload)
    put(ident, 2, 1, "signature")
    put(ident, 2, 2, signature)
    ident.sheet_state = "veryHidden"  # not shown by Excel's 取消隐藏; the signature is what protects it
    ident.protection.sheet = True
    wb.save(path)


# -- reading a return ---------------------------------------------------------------------------------------

@dataclass
class ReturnCell:
    value: Any
    formula: str | None = None  # the formula text when the cell holds one (its value is never taken)


@dataclass
class ReturnBook:
    """A return as read: its identity (payload and signature as found), the explanation, and per annex
    sheet the cells of its data rows by (row index, column name)."""

    payload: str
    signature: str
    explanation: str
    identity: Identity
    sheets: dict[str, dict[tuple[int, str], ReturnCell]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    percent: dict[str, set[tuple[int, str]]] = field(default_factory=dict)


def check_package(path: Path, name: str, limits: Any) -> None:
    """Refuse what must not reach an XML parser: too large a file, not an .xlsx/.xlsm (an old .xls
    renamed), a zip whose members would unpack beyond the bounds (sizes as the zip declares them: Python's
    zipfile never inflates a member beyond its declared size)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReturnRefused("unreadable", f"无法读取 {name}：{exc.strerror or exc}") from None
    if size > limits.max_file_bytes:
        raise ReturnRefused("too_big", f"{name}：文件过大（{size >> 20} MB，上限 {limits.max_file_bytes >> 20} MB），已拒绝")
    problem = not_a_workbook(path, name)
    if problem:
        raise ReturnRefused("not_workbook", problem)
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            unpacked = sum(m.file_size for m in members)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReturnRefused("not_workbook", f"无法打开工作簿 {name}：文件已损坏或不完整（{exc}）") from None
    if len(members) > limits.max_members:
        raise ReturnRefused("too_big", f"{name}：包含 {len(members)} 个部件（上限 {limits.max_members}），已拒绝")
    if unpacked > limits.max_unpacked_bytes:
        raise ReturnRefused("too_big", f"{name}：解压后 {unpacked >> 20} MB（上限 {limits.max_unpacked_bytes >> 20} MB），"
                                       f"可能是压缩炸弹，已拒绝")


def read_return(path: Path, name: str) -> ReturnBook:
    """Read a checked package (check_package first): its identity, explanation, and the data rows its
    identity states (only those). Refused: unsafe XML, a book openpyxl cannot read, no identity."""
    from ..spec import annex

    try:
        from defusedxml import DefusedXmlException
    except ImportError:  # pragma: no cover - defusedxml is a pinned requirement
        DefusedXmlException = ValueError  # noqa: N806
    try:
        wb = openpyxl.load_workbook(path, data_only=False, read_only=False, keep_links=False)
    except DefusedXmlException:
        raise ReturnRefused("unsafe_xml", "") from None
    except Exception as exc:
        if "entit" in str(exc).lower() or "DTD" in str(exc):
            raise ReturnRefused("unsafe_xml", "") from None
        raise ReturnRefused("not_workbook", f"无法打开工作簿 {name}：文件已损坏或不是 Excel 工作簿") from exc
    try:
        if IDENTITY_SHEET not in wb.sheetnames:
            raise ReturnRefused("not_fillin", "")
        ident = wb[IDENTITY_SHEET]
        payload, signature = ident["B1"].value, ident["B2"].value
        identity = Identity.from_payload(payload) if isinstance(payload, str) else None
        if identity is None:
            raise ReturnRefused("not_fillin", "")
        explanation = ""
        if INFO_SHEET in wb.sheetnames:
            info = wb[INFO_SHEET]
            for row in info.iter_rows(min_col=1, max_col=2, max_row=200):
                if row[0].value == EXPLANATION_LABEL:
                    value = row[1].value
                    explanation = "" if value is None or row[1].data_type == "f" else str(value).strip()
                    break
        book = ReturnBook(payload, str(signature or ""), explanation, identity)
        for sheet, keys in identity.sheets:
            count = len(keys)
            if sheet not in wb.sheetnames:
                continue
            try:
                spec = annex(sheet)
            except KeyError:
                continue
            ws, cells, percent = wb[sheet], {}, set()
            book.present.add(sheet)
            columns = fillin_columns(spec)
            first = first_data_row(spec)
            for i in range(min(count, ws.max_row)):  # what the file holds, whatever the payload claims
                for k, col in enumerate(columns, start=1):
                    if col.role not in ("input", "name", "key"):
                        continue
                    cell = ws.cell(first + i, k)
                    if cell.data_type == "f":
                        text = cell.value if isinstance(cell.value, str) else str(getattr(cell.value, "text", "") or "")
                        cells[(i, col.name)] = ReturnCell(None, text)
                    else:
                        cells[(i, col.name)] = ReturnCell(cell.value)
                    if "%" in (cell.number_format or ""):
                        percent.add((i, col.name))
            book.sheets[sheet] = cells
            book.percent[sheet] = percent
        return book
    finally:
        wb.close()


def return_cell(spec: AnnexSpec, index: int, column: str) -> str:
    """The address in the return of a department row's cell (what a problem is shown at)."""
    columns = [c.name for c in fillin_columns(spec)]
    return address(first_data_row(spec) + index, columns.index(column) + 1)
