"""openpyxl adapter: workbook files in and out. Translates only; all logic lives in the core."""
from __future__ import annotations

from ..errors import UserError

from pathlib import Path
from typing import Any

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


def open_workbook(path: Path, **kw: Any) -> openpyxl.Workbook:
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    problem = not_a_workbook(path)
    if problem:
        raise WorkbookError(problem)
    try:
        return openpyxl.load_workbook(path, **kw)
    except Exception as exc:  # a corrupt or non-xlsx file: say so, no traceback
        raise WorkbookError(f"无法打开工作簿 {path.name}：文件已损坏或不完整（是一个压缩包，但缺少 Excel 工作簿"
                            f"的内容）。请在 Excel 或 WPS 中打开后重新保存为 .xlsx") from exc


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
