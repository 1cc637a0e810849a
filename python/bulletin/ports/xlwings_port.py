"""The workbook port over the live workbook in Excel, with xlwings (the buttons of bulletin.xlsm).
Kept small on purpose: CI runs it against an openpyxl-backed xlwings engine (tests/xlwings_engine.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..adapters.xlsx_output import COLOURS
from . import Formula, WorkbookPort, column_letter

HEADER_ROWS = 6  # merged cells matter in header rows and name columns only (annex 5 header, annex 3 names)
NAME_COLUMNS = 3
TEXT_LEADS = ("=", "+", "-", "@")  # Excel would take a string starting with these as a formula or number
XL_EXPRESSION = 2  # FormatConditions.Add Type:=xlExpression


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[0:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:6], 16)


def _cell(value: Any) -> Any:
    """A value as Excel must receive it: a text that looks like a formula gets Excel's text prefix (')."""
    if isinstance(value, str) and not isinstance(value, Formula) and value.startswith(TEXT_LEADS):
        return "'" + value
    return value


class XlwingsPort(WorkbookPort):
    def __init__(self, book: Any) -> None:
        self.book = book
        self.path = Path(book.fullname) if book.fullname else None
        self.messages, self.progress_log = [], []

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def values(self, sheet: str) -> list[list[Any]]:
        used = self.book.sheets[sheet].used_range  # Excel's used range need not start at A1
        last_row, last_col = used.row + used.shape[0] - 1, used.column + used.shape[1] - 1
        rows = self.book.sheets[sheet].range((1, 1), (last_row, last_col)).options(ndim=2, empty=None).value
        return [list(r) for r in rows]

    def extra(self, sheet: str, rows: list[list[Any]]) -> tuple[frozenset, tuple]:
        sh = self.book.sheets[sheet]
        n, width = len(rows), max((len(r) for r in rows), default=0)
        percent = set()
        for c in range(1, width + 1):  # one read per column; a mixed column (None) is read cell by cell
            fmt = sh.range((1, c), (n, c)).number_format
            cells = [(r, c) for r in range(1, n + 1) if rows[r - 1][c - 1] is not None]
            if fmt is not None:
                percent.update(cells if "%" in fmt else [])
            else:
                percent.update(rc for rc in cells if "%" in (sh.range(rc).number_format or ""))
        merged, covered = [], set()
        for r in range(1, n + 1):
            for c in range(1, width + 1):
                if rows[r - 1][c - 1] is None and (r <= HEADER_ROWS or c <= NAME_COLUMNS) and (r, c) not in covered:
                    area = sh.range((r, c)).merge_area
                    if area.shape != (1, 1):
                        box = (area.row, area.column, area.row + area.shape[0] - 1, area.column + area.shape[1] - 1)
                        merged.append(box)
                        covered.update((i, j) for i in range(box[0], box[2] + 1) for j in range(box[1], box[3] + 1))
        return frozenset(percent), tuple(merged)

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        self.book.sheets[sheet].range((row, col)).value = [[_cell(v) for v in line] for line in block]

    def format(self, sheet: str, row: int, col: int, rows: int, cols: int, *, number_format: str | None = None,
               fill: str | None = None, bold: bool | None = None) -> None:
        rng = self.book.sheets[sheet].range((row, col), (row + rows - 1, col + cols - 1))
        if number_format is not None:
            rng.number_format = number_format
        if fill is not None:
            rng.color = _rgb(fill)
        if bold is not None:
            rng.font.bold = bold

    def merge(self, sheet: str, row: int, col: int, last_row: int, last_col: int) -> None:
        self.book.sheets[sheet].range((row, col), (last_row, last_col)).merge()

    def colour_rows_by_status(self, sheet: str, first_row: int, last_row: int, last_col: int,
                              status_col: int) -> None:
        conditions = self.book.sheets[sheet].range((first_row, 1), (last_row, last_col)).api.FormatConditions
        for status in ("红", "黄"):
            rule = conditions.Add(XL_EXPRESSION, Formula1=f'=${column_letter(status_col)}{first_row}="{status}"')
            r, g, b = _rgb(COLOURS[status])
            rule.Interior.Color = r + g * 256 + b * 65536  # Excel's colour integer is BGR

    def add_sheet(self, name: str) -> None:
        self.book.sheets.add(name, after=self.book.sheets[len(self.book.sheets) - 1])

    def progress(self, text: str) -> None:
        self.progress_log.append(text)
        self.book.app.status_bar = text

    def message(self, text: str) -> None:
        self.messages.append(text)
        self.book.app.alert(text, title="通报工作簿")
