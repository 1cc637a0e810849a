"""openpyxl adapter: workbook files in and out. Translates only; all logic lives in the core."""
from __future__ import annotations

from ..errors import UserError

import contextlib
from pathlib import Path
from typing import Any, Iterator

import openpyxl

from ..core.intake import Grid
from ..spec import ANNEXES, DEPT_SHEET, PARAM_SHEET, SCALAR_SHEET, TEXT_SHEET

READ_SHEETS = (SCALAR_SHEET, TEXT_SHEET, PARAM_SHEET, DEPT_SHEET, *(a.sheet for a in ANNEXES))


class WorkbookError(UserError):
    """A workbook that cannot be opened at all (message in Chinese, for the user)."""


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
ZIP_SIGNATURE = b"PK\x03\x04"  # an .xlsx/.xlsm is a zip package
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: an old .xls, or an encrypted .xlsx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # the stream a password-protected .xlsx keeps


def not_a_workbook(path: Path, name: str | None = None) -> str | None:
    """Why a file is not an .xlsx/.xlsm workbook, judged by its suffix and its first bytes (None when it
    may be one). `name`: the name the user knows it by (an upload's original name)."""
    path, name = Path(path), name or Path(path).name
    if path.is_dir():
        return f"无法打开工作簿 {name}：这是一个文件夹，请指定其中的 .xlsx/.xlsm 文件"
    if Path(name).suffix.lower() not in WORKBOOK_SUFFIXES:
        return (f"无法打开工作簿 {name}：不是 .xlsx/.xlsm 文件（.xls、.et 等格式请先在 Excel 或 WPS 中"
                f"另存为 .xlsx）")
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError as exc:
        return f"无法读取文件 {name}：{exc.strerror or exc}"
    if head.startswith(CFB_SIGNATURE):
        if ENCRYPTED_STREAM in head:
            return (f"无法打开工作簿 {name}：文件设置了打开密码（已加密）。请在 Excel 或 WPS 中打开，"
                    f"去掉密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空）后另存为 .xlsx")
        return (f"无法打开工作簿 {name}：这是旧版 .xls 格式（只改了扩展名），请在 Excel 或 WPS 中"
                f"另存为 .xlsx")
    if not head.startswith(ZIP_SIGNATURE):
        return f"无法打开工作簿 {name}：文件内容不是 Excel 工作簿（可能已损坏，或只改了扩展名）"
    return None


def open_workbook_check(path: Path) -> None:
    """A missing file, or one that is not an .xlsx/.xlsm, refused with its own message."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    problem = not_a_workbook(path)
    if problem:
        raise WorkbookError(problem)


def _corrupt(path: Path) -> str:
    return (f"无法打开工作簿 {Path(path).name}：文件已损坏或不完整（是一个压缩包，但缺少 Excel 工作簿"
            f"的内容）。请在 Excel 或 WPS 中打开后重新保存为 .xlsx")


def open_workbook(path: Path, **kw: Any) -> openpyxl.Workbook:
    path = Path(path)
    open_workbook_check(path)
    try:
        return openpyxl.load_workbook(path, **kw)
    except Exception as exc:  # a corrupt or non-xlsx file: say so, no traceback
        raise WorkbookError(_corrupt(path)) from exc


@contextlib.contextmanager
def _sheet_part(path: Path, sheet: str, *, strings: bool = False) -> Iterator[tuple[Any, str | None]]:
    """openpyxl's own reader on a package, with its manifest and workbook part read (and its shared strings
    when asked): the reader, and the name of `sheet`'s part in it (None when the book has no such sheet).
    What reads one sheet of a book without loading all of it (openpyxl's version is pinned)."""
    from openpyxl.reader.excel import ExcelReader

    reader = ExcelReader(str(path), read_only=True, data_only=True, keep_links=False)
    try:
        reader.read_manifest()
        if strings:
            reader.read_strings()
        reader.read_workbook()
        yield reader, next((rel.target for ws, rel in reader.parser.find_sheets() if ws.name == sheet), None)
    finally:
        reader.archive.close()


def sheet_values(path: Path, sheet: str) -> list[tuple[Any, ...]] | None:
    """One sheet's cell values as saved (formulas as their results; numbers as stored, so a date reads as
    its serial number: for sheets of text, such as an earlier result's 问题文本), None when the book has no
    such sheet. openpyxl's read-only load opens every sheet to size it and reads the styles; this reads
    the package and the strings and then only the one sheet: a third of the time, paid on every run that
    finds an earlier result."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    open_workbook_check(path)
    try:
        with _sheet_part(path, sheet, strings=True) as (reader, part):
            if part is None:
                return None
            return list(ReadOnlyWorksheet(reader.wb, sheet, part, reader.shared_strings).iter_rows(values_only=True))
    except Exception as exc:
        raise WorkbookError(_corrupt(path)) from exc


SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def formulas_never_calculated(path: Path, sheet: str) -> set[tuple[int, int]]:
    """The formula cells of a sheet saved without a result (an empty or no <v>, as openpyxl and other
    generators write formulas). Excel saves a formula whose result is "" as text (t="str") with an empty
    <v>; openpyxl reads both as None, so the sheet's XML is asked, only for books where one was found."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import coordinate_to_tuple

    found: set[tuple[int, int]] = set()
    with _sheet_part(path, sheet) as (reader, part):
        if part is None:
            return found
        with reader.archive.open(part) as f:
            for _, el in iterparse(f):
                if el.tag == f"{SHEET_NS}c":
                    value = el.find(f"{SHEET_NS}v")
                    if el.find(f"{SHEET_NS}f") is not None and el.get("r") and el.get("t") != "str" and \
                            (value is None or not value.text):
                        found.add(coordinate_to_tuple(el.get("r")))
                    el.clear()
    return found


def sheet_grid(ws) -> Grid:
    rows: list[list[Any]] = []
    percent: set[tuple[int, int]] = set()
    for r, row in enumerate(ws.iter_rows(), start=1):
        values = []
        for c, cell in enumerate(row, start=1):
            values.append(cell.value)
            if cell.value is not None and "%" in (cell.number_format or ""):
                percent.add((r, c))
        rows.append(values)
    merged = tuple((m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges)
    return Grid(ws.title, rows, frozenset(percent), merged)


def read_grids(path: Path) -> dict[str, Grid]:
    """Every sheet the engine reads, as cached values (formulas as Excel last computed them)."""
    wb = open_workbook(path, data_only=True, read_only=False)
    try:
        return {name: sheet_grid(wb[name]) for name in READ_SHEETS if name in wb.sheetnames}
    finally:
        wb.close()
