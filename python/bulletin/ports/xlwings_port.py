"""The workbook port over the live workbook in Excel, with xlwings (the buttons of bulletin.xlsm).
CI runs it against an openpyxl-backed xlwings engine (tests/xlwings_engine.py), which counts the COM round
trips every button makes (README: the COM calls per click).

Every member access of an xlwings object is a COM round trip (milliseconds each), so a click makes few:
- reading: one `Workbook.SaveCopyAs` into a temporary folder (the book as Excel holds it, unsaved edits
  included), read with the file port's own openpyxl reading — the buttons read exactly as the CLI does —
  and deleted at once. A sheet written since is read from a new copy;
- writing: a button's step (inside `busy`) collects its writes as a plan, applied by the workbook's own VBA
  procedure BulletinApply (vba/Bulletin.bas) in one Application.Run at the end of the step and before
  anything that needs them in the book (a save, a message box, a read of a written sheet). Outside a
  step (tests, scripts) each write goes to the book at once, through the same procedure;
- screen updating and calculation are off while a step runs, restored afterwards."""
from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..adapters.files import locked_message
from ..adapters.xlsx_output import COLOURS
from ..errors import UsageError, WorkbookLocked
from . import Formula, WorkbookPort, address, check_lengths, rectangles

NO_MODAL_NAME = "BULLETIN_NO_MODAL"  # a defined name in the book (or env BULLETIN_NO_MODAL=1): no message boxes
APPLY_MACRO = "BulletinApply"
PROTECTED = "protected"  # the macro's answer for a protected sheet: "protected\t<sheet>"
# The kinds of operation BulletinApply knows (its Case labels; tests check the VBA and the test engine agree).
KINDS = ("value", "text", "formula", "number format", "fill", "bold", "merge", "condition", "add sheet")
COPY_SUFFIXES = (".xlsx", ".xlsm")  # what openpyxl reads; SaveCopyAs keeps the book's own file format
OLD_MACROS = ("工作簿的宏中没有 BulletinApply（可能是旧版 bulletin.xlsm，或宏已被禁用），本次结果未写入。"
              "请把本月数据粘贴到新版 bulletin.xlsm（信息科提供，或运行 make workbook 生成）后再点按钮")
PROTECTED_SHEET = ("工作表“{sheet}”设置了保护，本次结果没有全部写入。请在“审阅 → 撤销工作表保护”后再点一次按钮"
                   "（输入的数据不受影响）")
WRONG_FORMAT = ("按钮只能用于 .xlsm（或 .xlsx）工作簿（本工作簿是 {suffix} 格式）：请用“文件→另存为”保存为"
                "“Excel 启用宏的工作簿 (*.xlsm)”后再点按钮")

Box = tuple[int, int, int, int]  # first row, first column, last row, last column
Operation = tuple[str, str, str, Any, Any]  # sheet, address, kind, value, colour ("" where unused)


def bgr(hex_colour: str) -> int:
    """"RRGGBB" as Excel's colour integer (blue in the high byte)."""
    return int(hex_colour[0:2], 16) + int(hex_colour[2:4], 16) * 256 + int(hex_colour[4:6], 16) * 65536


MAX_ADDRESS = 255  # Excel's Range("…") refuses a longer address


def areas(boxes: Sequence[Box]) -> list[str]:
    """Multi-area addresses ("B3:B9,E3:E9") covering the boxes, each within Excel's length limit."""
    out: list[str] = []
    for r1, c1, r2, c2 in boxes:
        one = address(r1, c1) + (f":{address(r2, c2)}" if (r1, c1) != (r2, c2) else "")
        if out and len(out[-1]) + 1 + len(one) <= MAX_ADDRESS:
            out[-1] += "," + one
        else:
            out.append(one)
    return out


def operation(value: Any) -> tuple[str, Any]:
    """(kind, value) of one cell's write. Only a `Formula` is written as a formula; any other string is
    text, whatever it starts with (the macro keeps it text); numbers go as doubles, as Excel holds them."""
    if isinstance(value, Formula):
        return "formula", str(value)
    if value is None or value == "":
        return "value", ""  # "" empties a cell ("value" of None would reach VBA as Null)
    if isinstance(value, str):
        return "text", value
    if isinstance(value, bool):
        return "value", value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return "value", float(value)
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) into Excel")


@dataclass
class Snapshot:
    """What one copy of the book held, read with the file port: every sheet's values, percent-formatted
    cells, merged areas; the sheet names and defined names."""
    sheets: list[str]
    rows: dict[str, list[list[Any]]]
    percent: dict[str, frozenset]
    merged: dict[str, tuple[Box, ...]]
    names: frozenset[str]


def read_copy(path: Path) -> Snapshot:
    """Everything the port may read, from a copy the caller deletes right after (so read it all now)."""
    from .openpyxl_port import OpenpyxlPort

    reader = OpenpyxlPort(path, keep_vba=False)
    sheets = reader.sheet_names()
    rows = {name: reader.values(name) for name in sheets}  # formulas as calculated; percent cells noted
    wb = reader.wb
    names = set(wb.defined_names) | {n for ws in wb.worksheets for n in ws.defined_names}
    return Snapshot(sheets, rows, {name: reader.percent(name, _all(rows[name])) for name in sheets},
                    {name: reader.merged(name, rows[name], range(0)) for name in sheets}, frozenset(names))


def _all(rows: list[list[Any]]) -> list[tuple[int, int]]:
    return [(r, c) for r, line in enumerate(rows, 1) for c in range(1, len(line) + 1)]


def remove_folder(folder: str) -> None:
    """The temporary copy's folder, removed; a virus scanner may hold a new file for a moment."""
    for attempt in range(5):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1 * (attempt + 1))
    shutil.rmtree(folder, ignore_errors=True)  # left in the user's temp folder at worst, never beside the book


class XlwingsPort(WorkbookPort):
    def __init__(self, book: Any) -> None:
        self.book = book
        self.app = book.app
        fullname = book.fullname
        self.path = Path(fullname) if fullname else None
        self.name = Path(fullname).name if fullname else ""  # Book.Name, without another COM call
        self.messages, self.progress_log = [], []
        self._snapshot: Snapshot | None = None
        self._dirty: set[str] = set()  # sheets written since the snapshot was taken
        self._added: list[str] = []  # sheets added since
        self._plan: list[Operation] = []
        self._collecting = False  # inside busy(): writes wait for the end of the step
        self._manual: bool | None = None  # the user's calculation is manual: calculate before a copy
        self._quiet: bool | None = None
        self._sheets: dict[str, bool] = {}  # sheet lookups through COM (before any copy was read)

    # -- reading ---------------------------------------------------------------------------------------
    def _read_book(self) -> Snapshot:
        """A new snapshot: pending writes applied, formulas calculated when the user calculates by hand,
        one SaveCopyAs into a new temporary folder, read, folder removed whatever happens."""
        wrote = bool(self._plan)
        self.flush()
        suffix = Path(self.name).suffix.lower() or ".xlsx"  # a never-saved book copies as Excel's default
        if suffix not in COPY_SUFFIXES:
            raise UsageError(WRONG_FORMAT.format(suffix=suffix))
        if self._manual is None:
            self._manual = self.app.calculation == "manual"
        if self._manual or (wrote and self._collecting):  # busy() set calculation to manual: our writes too
            self.app.calculate()
        folder = tempfile.mkdtemp(prefix="bulletin-")
        try:
            copy = Path(folder) / f"book{suffix}"  # a short ASCII name: Excel refuses paths over 218 characters
            try:
                self.book.api.SaveCopyAs(str(copy))
            except Exception as exc:  # pywintypes.com_error: disk full, TEMP not writable, path too long
                raise UsageError(f"无法读取工作簿：Excel 不能把它的副本保存到临时文件夹 {folder}"
                                 f"（磁盘已满或没有写入权限？请检查 TEMP 文件夹后再试）") from exc
            snapshot = read_copy(copy)
        finally:
            remove_folder(folder)
        self._snapshot, self._dirty, self._added = snapshot, set(), []
        return snapshot

    def _current(self, sheet: str) -> Snapshot:
        """The snapshot, taken anew when there is none or `sheet` was written since."""
        if self._snapshot is None or sheet in self._dirty:
            return self._read_book()
        return self._snapshot

    def read_grids(self) -> dict:
        if self._snapshot is None or self._dirty:
            self._read_book()
        return super().read_grids()

    def sheet_names(self) -> list[str]:
        if self._snapshot is None:
            self._read_book()
        return self._snapshot.sheets + self._added

    def has_sheet(self, name: str) -> bool:
        if name in self._added:
            return True
        if self._snapshot is not None:
            return name in self._snapshot.sheets
        if name not in self._sheets:  # no copy read yet (检查环境, the steps that work on the saved file)
            try:
                self.book.sheets[name]
                self._sheets[name] = True
            except Exception:  # Excel answers a COM error for an unknown name (the test engine a KeyError)
                self._sheets[name] = False
        return self._sheets[name]

    def values(self, sheet: str) -> list[list[Any]]:
        return [list(line) for line in self._current(sheet).rows[sheet]]

    def merged(self, sheet: str, rows: list[list[Any]], header_rows: range) -> tuple[Box, ...]:
        return self._current(sheet).merged[sheet]

    def percent(self, sheet: str, cells: Iterable[tuple[int, int]]) -> frozenset:
        return self._current(sheet).percent[sheet] & frozenset(cells)

    # uncalculated(): none (the base class's answer). Excel calculated the copy (Application.Calculate first
    # when the user calculates by hand); a formula cell without a value there is one whose result is "".

    # -- writing: collected, applied by BulletinApply --------------------------------------------------
    def _queue(self, sheet: str, where: str, kind: str, value: Any = "", colour: Any = "") -> None:
        self._plan.append((sheet, where, kind, value, colour))
        self._dirty.add(sheet)

    def _written(self) -> None:
        """The end of one write primitive: applied now unless a step collects its writes."""
        if not self._collecting:
            self.flush()

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        check_lengths(sheet, row, col, block)  # an over-long text is refused at its cell, as by every port
        empty = []
        for i, line in enumerate(block):
            for j, value in enumerate(line):
                kind, value = operation(value)
                if kind == "value" and value == "":
                    empty.append((row + i, col + j))
                else:
                    self._queue(sheet, address(row + i, col + j), kind, value)
        for where in areas(rectangles(empty)):  # blanks by the rectangle ("" into every cell of it)
            self._queue(sheet, where, "value", "")
        self._written()

    def format(self, sheet: str, row: int, col: int, rows: int, cols: int, *, number_format: str | None = None,
               fill: str | None = None, bold: bool | None = None) -> None:
        self._format(sheet, areas([(row, col, row + rows - 1, col + cols - 1)]), number_format, fill, bold)

    def format_boxes(self, sheet: str, boxes: Sequence[Box], *, number_format: str | None = None,
                     fill: str | None = None) -> None:
        """Several blocks as multi-area ranges ("F3:F34,I3:I34", at most 255 characters each)."""
        self._format(sheet, areas(boxes), number_format, fill, None)

    def _format(self, sheet: str, wheres: list[str], number_format: str | None, fill: str | None,
                bold: bool | None) -> None:
        for where in wheres:
            if number_format is not None:
                self._queue(sheet, where, "number format", number_format)
            if fill is not None:
                self._queue(sheet, where, "fill", bgr(fill))
            if bold is not None:
                self._queue(sheet, where, "bold", bool(bold))
        self._written()

    def merge(self, sheet: str, row: int, col: int, last_row: int, last_col: int) -> None:
        self._queue(sheet, areas([(row, col, last_row, last_col)])[0], "merge")
        self._written()

    def colour_rows_by_status(self, sheet: str, first_row: int, last_row: int, last_col: int,
                              status_col: int) -> None:
        """The file port's rule ($K3="红" over A3:…), given to Excel in R1C1 (RC11: this row, column 11)."""
        where = areas([(first_row, 1, last_row, last_col)])[0]
        for status in ("红", "黄"):
            self._queue(sheet, where, "condition", f'=RC{status_col}="{status}"', bgr(COLOURS[status]))
        self._written()

    def add_sheet(self, name: str) -> None:
        self._queue(name, "", "add sheet", name)
        self._added.append(name)
        self._written()

    def flush(self) -> None:
        """The collected writes, applied by the workbook's macro in one Application.Run."""
        if not self._plan:
            return
        plan, self._plan = tuple(self._plan), []
        macro = "'{}'!{}".format(self.name.replace("'", "''"), APPLY_MACRO)
        try:
            applied = self.app.macro(macro)(plan)
        except Exception as exc:  # pywintypes.com_error: the macro cannot run (the macro itself never raises)
            raise UsageError(OLD_MACROS) from exc
        if isinstance(applied, str):  # why it stopped, as the macro says it
            reason, _, sheet = applied.partition("\t")
            if reason == PROTECTED:
                raise UsageError(PROTECTED_SHEET.format(sheet=sheet))
            raise RuntimeError(applied)  # an operation failed inside Excel: a program fault, logged as such
        if applied != len(plan):
            raise RuntimeError(f"{APPLY_MACRO} applied {applied} of {len(plan)} operations")

    def save(self) -> None:
        """Save the live book (the steps that work on the file need it saved). Excel refuses when the
        book is open read-only because someone else has it: a Chinese message, not a COM error."""
        self.flush()
        try:
            self.book.save()
        except Exception as exc:  # pywintypes.com_error on Windows; the cause stays in the chain
            raise WorkbookLocked(locked_message(self.path) + "；若他人正打开此文件，请其关闭后再试") from exc

    # -- the application -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """No redrawing and no recalculation while a step runs; its writes applied at the end (after a
        failure too, as far as they go: the 控制台 says 未完成); screen updating and calculation as they
        were afterwards and the status bar handed back to Excel (False), whatever happens."""
        app = self.app
        screen, calculation = app.screen_updating, app.calculation
        self._manual = calculation == "manual"
        app.screen_updating, app.calculation = False, "manual"
        self._collecting = True
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # the step's own error is the one to show
                self.flush()
            raise
        else:
            self.flush()
        finally:
            self._collecting = False
            app.calculation = calculation
            app.screen_updating = screen
            app.status_bar = False

    def progress(self, text: str) -> None:
        self.progress_log.append(text)
        self.app.status_bar = text or False  # "" would leave a blank bar; False hands it back to Excel

    def message(self, text: str) -> None:
        """A message box (the writes applied first), unless the book is in test mode (the acceptance run
        drives the macros and reads 控制台 and 校验结果 instead: a modal box would stop it)."""
        self.flush()
        self.messages.append(text)
        if self._quiet is None:
            named = NO_MODAL_NAME in self._snapshot.names if self._snapshot is not None \
                else self.book.names.contains(NO_MODAL_NAME)
            self._quiet = os.environ.get("BULLETIN_NO_MODAL") == "1" or named
        if not self._quiet:
            self.app.alert(text, title="通报工作簿")
