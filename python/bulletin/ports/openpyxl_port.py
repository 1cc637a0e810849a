"""The workbook port over a file, with openpyxl: for the CLI's --in-place, for WPS users and for CI."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import openpyxl

from ..adapters.files import ensure_closed, write_atomically
from ..adapters.xlsx_files import open_workbook
from . import WorkbookPort


class OpenpyxlPort(WorkbookPort):
    def __init__(self, path: Path, wb: openpyxl.Workbook | None = None, *,
                 on_progress: Callable[[str], None] | None = None) -> None:
        """`on_progress`: called with each progress line (the console shows them while a step runs)."""
        self.path = Path(path)
        self.on_progress = on_progress
        # keep_vba: an .xlsm keeps its VBA project byte for byte and its buttons (legacy VML shapes)
        self.wb = wb or open_workbook(self.path, keep_vba=self.path.suffix.lower() == ".xlsm")
        self._cached: openpyxl.Workbook | None = None
        self._written: set[tuple[str, int, int]] = set()  # our own cells: their value is what we wrote
        self.messages, self.progress_log = [], []

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def _cached_values(self) -> openpyxl.Workbook:
        """Formulas as Excel last computed them (openpyxl does not calculate)."""
        if self._cached is None:
            self._cached = open_workbook(self.path, data_only=True)
        return self._cached

    def values(self, sheet: str) -> list[list[Any]]:
        ws = self.wb[sheet]
        rows = []
        for row in ws.iter_rows():
            rows.append([self._cached_values()[sheet][c.coordinate].value
                         if c.data_type == "f" and (sheet, c.row, c.column) not in self._written
                         and sheet in self._cached_values().sheetnames else c.value for c in row])
        return rows

    def extra(self, sheet: str, rows: list[list[Any]]) -> tuple[frozenset, tuple]:
        ws = self.wb[sheet]
        percent = frozenset((c.row, c.column) for row in ws.iter_rows() for c in row
                            if c.value is not None and "%" in (c.number_format or ""))
        merged = tuple((m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges)
        return percent, merged

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        ws = self.wb[sheet]
        for i, line in enumerate(block):
            for j, value in enumerate(line):
                ws.cell(row + i, col + j).value = value
                self._written.add((sheet, row + i, col + j))

    def add_sheet(self, name: str) -> None:
        self.wb.create_sheet(name)

    def write_overview(self, analysis: Any, past: Mapping[str, Any]) -> bool:
        from ..actions.charts import add_overview  # charts imports the actions, which import this port

        add_overview(self.wb, analysis, past)
        return True

    def progress(self, text: str) -> None:
        self.progress_log.append(text)
        if self.on_progress is not None and text:
            self.on_progress(text)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def save_in_place(self) -> Path:
        """Write back into the same file: a timestamped backup first, then temp file + atomic rename.
        Refused (WorkbookLocked, "请先关闭工作簿") while Excel, WPS or LibreOffice has the file open."""
        ensure_closed(self.path)
        backup = backup_name(self.path)
        shutil.copy2(self.path, backup)
        write_atomically(self.path, self.wb.save, shared=True)
        return backup


BACKUP_MARK = ".备份-"


def backup_name(path: Path) -> Path:
    return path.with_name(f"{path.stem}{BACKUP_MARK}{dt.datetime.now():%Y%m%d-%H%M%S-%f}{path.suffix}")


def is_backup(path: Path) -> bool:
    """A copy save_in_place kept (not a workbook of its own, e.g. when listing a folder)."""
    return BACKUP_MARK in Path(path).stem
