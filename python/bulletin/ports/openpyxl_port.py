"""The workbook port over a file, with openpyxl: the CLI (result files and --in-place), the console, CI."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import openpyxl
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.utils import get_column_letter

from ..adapters.files import ensure_closed, write_atomically
from ..adapters.xlsx_files import formulas_never_calculated, open_workbook
from ..adapters.xlsx_output import COLOURS, save_new, style
from ..core.numbers import EXCEL_CELL_LIMIT, excerpt
from . import Formula, WorkbookPort, check_lengths


class OpenpyxlPort(WorkbookPort):
    draws_charts = True

    def __init__(self, path: Path, *, keep_vba: bool | None = None,
                 on_progress: Callable[[str], None] | None = None) -> None:
        """`on_progress`: called with each progress line (the console shows them while a step runs)."""
        self.path = Path(path)
        self.on_progress = on_progress
        # keep_vba: an .xlsm written back keeps its VBA project byte for byte and its buttons (legacy VML
        # shapes); a result saved as .xlsx must not carry it (Excel refuses an .xlsx with macros)
        self.wb = open_workbook(self.path, keep_vba=self.path.suffix.lower() == ".xlsm" if keep_vba is None
                                else keep_vba)
        self._cached: openpyxl.Workbook | None = None
        self._written: set[tuple[str, int, int]] = set()  # our own cells: their value is what we wrote
        self._percent: dict[str, frozenset] = {}  # noted by values(), for extra()
        self._uncalculated: dict[str, frozenset] = {}  # noted by values(): formulas without a cached value
        self.messages, self.progress_log = [], []

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def _cached_values(self) -> openpyxl.Workbook:
        """Formulas as Excel last computed them (openpyxl does not calculate)."""
        if self._cached is None:
            self._cached = open_workbook(self.path, data_only=True)
        return self._cached

    def values(self, sheet: str) -> list[list[Any]]:
        """The cells as values (formulas as Excel last computed them); the percent-formatted cells are
        noted in the same pass for `percent`."""
        ws, cached = self.wb[sheet], None
        rows, percent, uncalculated = [], set(), set()
        percent_ids = self._percent_format_ids()
        for row in ws.iter_rows():
            line = []
            for c in row:
                value = c.value
                if c.data_type == "f" and (sheet, c.row, c.column) not in self._written:
                    cached = cached or self._cached_values()
                    value = cached[sheet][c.coordinate].value if sheet in cached.sheetnames else None
                    if value is None:
                        uncalculated.add((c.row, c.column))
                if value is not None and c._style is not None and c._style.numFmtId in percent_ids:
                    percent.add((c.row, c.column))
                line.append(value)
            rows.append(line)
        if uncalculated:  # or a formula whose result is "": the file says which
            uncalculated &= formulas_never_calculated(self.path, sheet)
        self._percent[sheet] = frozenset(percent)
        self._uncalculated[sheet] = frozenset(uncalculated)
        return rows

    def uncalculated(self, sheet: str) -> frozenset[tuple[int, int]]:
        if sheet not in self._uncalculated:
            self.values(sheet)
        return self._uncalculated[sheet]

    def _percent_format_ids(self) -> frozenset[int]:
        """Ids of the number formats with a "%" (built-in 9 and 10, and the book's own): comparing a cell's
        format id is far cheaper than resolving its format text, cell by cell."""
        own = {i + BUILTIN_FORMATS_MAX_SIZE for i, f in enumerate(self.wb._number_formats) if "%" in f}
        return frozenset({i for i, f in BUILTIN_FORMATS.items() if "%" in f} | own)

    def merged(self, sheet: str, rows: list[list[Any]], header_rows: range) -> tuple[tuple[int, int, int, int], ...]:
        return tuple((m.min_row, m.min_col, m.max_row, m.max_col) for m in self.wb[sheet].merged_cells.ranges)

    def percent(self, sheet: str, cells: Iterable[tuple[int, int]]) -> frozenset:
        if sheet not in self._percent:
            self.values(sheet)
        return self._percent[sheet] & frozenset(cells)

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        check_lengths(sheet, row, col, block)
        ws = self.wb[sheet]
        for i, line in enumerate(block):
            for j, value in enumerate(line):
                self._put(ws, sheet, row + i, col + j, value)

    def _put(self, ws: Any, sheet: str, row: int, col: int, value: Any) -> None:
        cell = ws.cell(row, col)
        cell.value = value
        if isinstance(value, str) and not isinstance(value, Formula) and cell.data_type == "f":
            cell.data_type = "s"  # text that merely starts with "=" stays text
        self._written.add((sheet, row, col))

    def _write_cells(self, sheet: str, cells: Mapping[tuple[int, int], Any],
                     formats: Mapping[tuple[int, int], tuple[str | None, str | None]] | None = None) -> None:
        """As the port's, cell by cell: a file has no round trips to save by finding rectangles."""
        ws = self.wb[sheet]
        for (r, c), value in cells.items():
            check_lengths(sheet, r, c, ((value,),))
            self._put(ws, sheet, r, c, value)
        for (r, c), (number_format, fill) in (formats or {}).items():
            attrs = _style_attrs(number_format, fill)
            if attrs:
                style(ws.cell(r, c), **attrs)

    def _cells(self, sheet: str, row: int, col: int, rows: int, cols: int) -> Iterable[Any]:
        ws = self.wb[sheet]
        return (ws.cell(r, c) for r in range(row, row + rows) for c in range(col, col + cols))

    def format(self, sheet: str, row: int, col: int, rows: int, cols: int, *, number_format: str | None = None,
               fill: str | None = None, bold: bool | None = None) -> None:
        attrs = _style_attrs(number_format, fill, bold)
        for cell in self._cells(sheet, row, col, rows, cols):
            style(cell, **attrs)

    def merge(self, sheet: str, row: int, col: int, last_row: int, last_col: int) -> None:
        ws = self.wb[sheet]
        area = f"{get_column_letter(col)}{row}:{get_column_letter(last_col)}{last_row}"
        if area not in {str(m) for m in ws.merged_cells.ranges}:
            ws.merge_cells(area)

    def colour_rows_by_status(self, sheet: str, first_row: int, last_row: int, last_col: int,
                              status_col: int) -> None:
        area = f"A{first_row}:{get_column_letter(last_col)}{last_row}"
        letter = get_column_letter(status_col)
        for status in ("红", "黄"):
            self.wb[sheet].conditional_formatting.add(
                area, FormulaRule(formula=[f'${letter}{first_row}="{status}"'], fill=_fill(COLOURS[status])))

    def add_sheet(self, name: str) -> None:
        self.wb.create_sheet(name)

    def write_overview(self, overview: Any) -> bool:
        from ..adapters.xlsx_charts import write_overview  # openpyxl charts: loaded only when drawn

        write_overview(self.wb, overview)
        return True

    def progress(self, text: str) -> None:
        self.progress_log.append(text)
        if self.on_progress is not None and text:
            self.on_progress(text)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def save_as(self, path: Path, *, protect: Iterable[Path] = ()) -> Path:
        """A new file through a temp file and an atomic rename; never over a protected (input) file. An input
        cell longer than Excel holds (reported at its cell by the check) is not copied: a short note instead."""
        for ws in self.wb.worksheets:
            for cell in list(ws._cells.values()):
                if isinstance(cell.value, str) and len(cell.value) > EXCEL_CELL_LIMIT:
                    cell.value = f"{excerpt(cell.value)}（超过 Excel 单元格上限 {EXCEL_CELL_LIMIT} 字，未复制）"
        return save_new(self.wb, Path(path), protect=protect)

    def save_in_place(self) -> Path:
        """Write back into the same file through a temp file and an atomic rename (the backup before it is
        the action layer's: actions.backups.save_in_place). Refused (WorkbookLocked, "请先关闭工作簿") while
        Excel, WPS or LibreOffice has the file open."""
        ensure_closed(self.path)
        write_atomically(self.path, self.wb.save, shared=True)
        return self.path


BACKUP_MARK = ".备份-"


def is_backup(path: Path) -> bool:
    """A backup copy (not a workbook of its own, e.g. when listing a folder; older versions kept them beside
    the workbook, now they go into 备份/)."""
    return BACKUP_MARK in Path(path).stem


_FILLS: dict[str, PatternFill] = {}
_FONTS: dict[bool, Font] = {}


def _style_attrs(number_format: str | None, fill: str | None, bold: bool | None = None) -> dict[str, Any]:
    """The port's format arguments as openpyxl cell attributes (only those given)."""
    attrs: dict[str, Any] = {}
    if number_format is not None:
        attrs["number_format"] = number_format
    if fill is not None:
        attrs["fill"] = _fill(fill)
    if bold is not None:
        attrs["font"] = _font(bold)
    return attrs


def _fill(rgb: str) -> PatternFill:
    return _FILLS.setdefault(rgb, PatternFill("solid", fgColor=rgb))


def _font(bold: bool) -> Font:
    return _FONTS.setdefault(bold, Font(bold=bold))
