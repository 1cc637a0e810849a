"""The workbook port over the live workbook in Excel, with xlwings (the buttons of bulletin.xlsm).
Kept small on purpose: CI runs it against an openpyxl-backed xlwings engine (tests/xlwings_engine.py),
which counts the COM round trips every button makes (README: the budget per button).

Every member access of an xlwings object is a COM round trip (milliseconds each), so: sheets are looked
up once per click; a sheet's cells come back in one read (errors as "#DIV/0!" text, err_to_str); number
formats and merges are read in blocks, only where the intake uses them; values are written as whole
blocks with the engine's own preparation; screen updating and calculation are off while a step runs."""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from xlwings import conversion

from ..adapters.xlsx_output import COLOURS
from ..adapters.files import locked_message
from ..errors import WorkbookLocked
from . import Formula, WorkbookPort, check_lengths, column_letter

TEXT_LEADS = ("=", "+", "-", "@")  # Excel would take a string starting with these as a formula or number
XL_EXPRESSION = 2  # FormatConditions.Add Type:=xlExpression
READ_OPTIONS = {"ndim": 2, "empty": None, "err_to_str": True}  # without err_to_str an error cell reads as blank
NO_MODAL_NAME = "BULLETIN_NO_MODAL"  # a defined name in the book (or env BULLETIN_NO_MODAL=1): no message boxes
ADDRESS = re.compile(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[0:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:6], 16)


def _cell(value: Any) -> Any:
    """A value as Excel must receive it: a text that looks like a formula gets Excel's text prefix (')."""
    if isinstance(value, str) and not isinstance(value, Formula) and value.startswith(TEXT_LEADS):
        return "'" + value
    return value


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def parse_address(text: str) -> tuple[int, int, int, int]:
    """"$B$3:$D$5" (or "$B$3") -> (first row, first column, last row, last column)."""
    m = ADDRESS.match(text)
    if not m:
        raise ValueError(f"not a range address: {text!r}")
    c1, r1 = _column_number(m.group(1)), int(m.group(2))
    c2, r2 = (_column_number(m.group(3)), int(m.group(4))) if m.group(3) else (c1, r1)
    return r1, c1, r2, c2


Box = tuple[int, int, int, int]  # first row, first column, last row, last column


def bounding(cells: Sequence[tuple[int, int]]) -> Box:
    rows, cols = [r for r, _ in cells], [c for _, c in cells]
    return min(rows), min(cols), max(rows), max(cols)


def split(cells: list[tuple[int, int]], box: Box) -> tuple[list, list]:
    """The cells of a box in two halves along its longer side (a mixed block is read again in halves)."""
    r1, c1, r2, c2 = box
    if c2 - c1 >= r2 - r1:
        mid = (c1 + c2) // 2
        return [x for x in cells if x[1] <= mid], [x for x in cells if x[1] > mid]
    mid = (r1 + r2) // 2
    return [x for x in cells if x[0] <= mid], [x for x in cells if x[0] > mid]


MAX_ADDRESS = 255  # Excel's Range("…") refuses a longer address


def areas(boxes: Sequence[Box]) -> list[str]:
    """Multi-area addresses ("B3:B9,E3:E9") covering the boxes, each within Excel's length limit."""
    out: list[str] = []
    for r1, c1, r2, c2 in boxes:
        one = f"{column_letter(c1)}{r1}" + (f":{column_letter(c2)}{r2}" if (r1, c1) != (r2, c2) else "")
        if out and len(out[-1]) + 1 + len(one) <= MAX_ADDRESS:
            out[-1] += "," + one
        else:
            out.append(one)
    return out


class XlwingsPort(WorkbookPort):
    def __init__(self, book: Any) -> None:
        self.book = book
        self.app = book.app
        self._engine = self.app.engine  # xlwings' own object: converting values costs no COM call
        fullname = book.fullname
        self.path = Path(fullname) if fullname else None
        self._sheets: dict[str, Any] = {}  # looked up once per click
        self._collection: Any = None
        self.messages, self.progress_log = [], []
        self._quiet: bool | None = None

    # -- sheets ----------------------------------------------------------------------------------------
    def _sheet(self, name: str) -> Any:
        if name not in self._sheets:
            if self._collection is None:
                self._collection = self.book.sheets
            try:
                self._sheets[name] = self._collection[name]
            except Exception:  # Excel answers a COM error for an unknown name (the test engine a KeyError)
                self._sheets[name] = None
        if self._sheets[name] is None:
            raise KeyError(name)
        return self._sheets[name]

    def has_sheet(self, name: str) -> bool:
        try:
            self._sheet(name)
        except KeyError:
            return False
        return True

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    # -- reading ---------------------------------------------------------------------------------------
    def values(self, sheet: str) -> list[list[Any]]:
        used = self._sheet(sheet).used_range  # Excel's used range need not start at A1
        block = conversion.read(used, None, READ_OPTIONS, engine_name=self._engine.name)
        r1, c1, _, _ = parse_address(used.address)
        width = c1 - 1 + max((len(r) for r in block), default=0)
        return [[None] * width for _ in range(r1 - 1)] + [[None] * (c1 - 1) + list(r) for r in block]

    def percent(self, sheet: str, cells: Iterable[tuple[int, int]]) -> frozenset:
        """In blocks: one number format read for a block of one format; a mixed block (Excel: Null) is
        read again in halves."""
        sh, found = self._sheet(sheet), set()

        def formats(cells: list[tuple[int, int]]) -> None:
            if not cells:
                return
            box = bounding(cells)
            fmt = self._range(sh, box).number_format
            if fmt is not None:
                found.update(cells if "%" in fmt else ())
            elif len(cells) > 1:
                for half in split(cells, box):
                    formats(half)

        formats(sorted(set(cells)))
        return frozenset(found)

    def merged(self, sheet: str, rows: list[list[Any]], header_rows: range) -> tuple[Box, ...]:
        """The merged areas over blank header cells: none when the block of them has no merged cell (one
        read), else each blank cell not yet covered asks for its merge area."""
        sh = self._sheet(sheet)
        blanks = [(r, c) for r in header_rows if r <= len(rows) for c, v in enumerate(rows[r - 1], 1) if v is None]
        if not blanks or self._range(sh, bounding(blanks)).merge_cells is False:
            return ()
        merged: list[Box] = []
        covered: set[tuple[int, int]] = set()
        for r, c in blanks:
            if (r, c) in covered:
                continue
            area = parse_address(self._range(sh, (r, c, r, c)).merge_area.address)
            if area[:2] != area[2:]:
                merged.append(area)
                covered.update((i, j) for i in range(area[0], area[2] + 1) for j in range(area[1], area[3] + 1))
        return tuple(merged)

    @staticmethod
    def _range(sh: Any, box: Box) -> Any:
        r1, c1, r2, c2 = box
        return sh.range((r1, c1, r2 - r1 + 1, c2 - c1 + 1))  # (row, column, rows, columns): one COM range

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        check_lengths(sheet, row, col, block)  # an over-long text is refused at its cell, as by every port
        prepare = self._engine.impl.prepare_xl_data_element  # as xlwings' converter does (None -> "")
        width = max(len(line) for line in block)
        data = [[prepare(_cell(v), None) for v in list(line) + [None] * (width - len(line))] for line in block]
        self._range(self._sheet(sheet), (row, col, row + len(block) - 1, col + width - 1)).raw_value = data

    def format(self, sheet: str, row: int, col: int, rows: int, cols: int, *, number_format: str | None = None,
               fill: str | None = None, bold: bool | None = None) -> None:
        rng = self._range(self._sheet(sheet), (row, col, row + rows - 1, col + cols - 1))
        if number_format is not None:
            rng.number_format = number_format
        if fill is not None:
            rng.color = _rgb(fill)
        if bold is not None:
            rng.font.bold = bold

    def format_boxes(self, sheet: str, boxes: Sequence[Box], *, number_format: str | None = None,
                     fill: str | None = None) -> None:
        """Several blocks as one multi-area range ("F3:F34,I3:I34"; Excel takes addresses up to 255
        characters, so a long list is cut into a few)."""
        sh = self._sheet(sheet)
        for address in areas(boxes):
            rng = sh.range(address)
            if number_format is not None:
                rng.number_format = number_format
            if fill is not None:
                rng.color = _rgb(fill)

    def merge(self, sheet: str, row: int, col: int, last_row: int, last_col: int) -> None:
        self._range(self._sheet(sheet), (row, col, last_row, last_col)).merge()

    def colour_rows_by_status(self, sheet: str, first_row: int, last_row: int, last_col: int,
                              status_col: int) -> None:
        conditions = self._range(self._sheet(sheet), (first_row, 1, last_row, last_col)).api.FormatConditions
        for status in ("红", "黄"):
            rule = conditions.Add(XL_EXPRESSION, Formula1=f'=${column_letter(status_col)}{first_row}="{status}"')
            r, g, b = _rgb(COLOURS[status])
            rule.Interior.Color = r + g * 256 + b * 65536  # Excel's colour integer is BGR

    def add_sheet(self, name: str) -> None:
        sheets = self.book.sheets
        self._sheets[name] = sheets.add(name, after=sheets[len(sheets) - 1])

    def save(self) -> None:
        """Save the live book (the steps that work on the file need it saved). Excel refuses when the
        book is open read-only because someone else has it: a Chinese message, not a COM error."""
        try:
            self.book.save()
        except Exception as exc:  # pywintypes.com_error on Windows; the cause stays in the chain
            raise WorkbookLocked(locked_message(self.path) + "；若他人正打开此文件，请其关闭后再试") from exc

    # -- the application -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """No redrawing and no recalculation while a step writes; both as they were afterwards, and the
        status bar handed back to Excel (False), whatever happens."""
        app = self.app
        screen, calculation = app.screen_updating, app.calculation
        app.screen_updating, app.calculation = False, "manual"
        try:
            yield
        finally:
            app.calculation = calculation
            app.screen_updating = screen
            app.status_bar = False

    def progress(self, text: str) -> None:
        self.progress_log.append(text)
        self.app.status_bar = text or False  # "" would leave a blank bar; False hands it back to Excel

    def message(self, text: str) -> None:
        """A message box, unless the book is in test mode (the acceptance run drives the macros and reads
        控制台 and 校验结果 instead: a modal box would stop it)."""
        self.messages.append(text)
        if self._quiet is None:
            self._quiet = os.environ.get("BULLETIN_NO_MODAL") == "1" or self.book.names.contains(NO_MODAL_NAME)
        if not self._quiet:
            self.app.alert(text, title="通报工作簿")
