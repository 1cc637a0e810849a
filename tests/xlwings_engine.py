"""An xlwings engine backed by openpyxl, implementing only what bulletin's XlwingsPort uses, so the real
xlwings Book/Sheet/Range and converter code runs in CI (no Excel, no licence-gated `pro` parts).
Interfaces: xlwings/base_classes.py of the pinned wheel. Values go through xlwings' own conversion
pipeline (raw_value in, 2-D lists out) exactly as with Excel."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import xlwings as xw
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries

ENGINE_NAME = "openpyxl-test"


class Engine:
    name = ENGINE_NAME
    type = "desktop"

    def __init__(self) -> None:
        self.apps = Apps(self)

    @staticmethod
    def prepare_xl_data_element(x: Any, date_format: Any = None) -> Any:
        return x

    @staticmethod
    def clean_value_data(data: Any, datetime_builder: Any, empty_as: Any, none_value: Any,
                         err_to_str: Any = False) -> Any:
        # Excel's COM layer hands back empty cells as None and dates as datetimes: the same here
        return [[empty_as if v is None else v for v in row] for row in data]


class Apps:
    def __init__(self, engine: Engine) -> None:
        self.app = App(engine)

    def keys(self) -> list[int]:
        return [1]

    def __iter__(self):
        return iter([self.app])

    def __len__(self) -> int:
        return 1

    def __getitem__(self, pid: int) -> "App":
        return self.app


class App:
    """Records what Excel would show: message boxes and status-bar texts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.alerts: list[tuple[str, str]] = []
        self.status_texts: list[Any] = []
        self.version = "openpyxl"
        self.pid = 1

    def alert(self, prompt: str, title: str | None, buttons: Any, mode: Any, callback: Any) -> None:
        self.alerts.append((title or "", prompt))

    @property
    def status_bar(self) -> Any:
        return self.status_texts[-1] if self.status_texts else None

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self.status_texts.append(value)


class Book:
    def __init__(self, path: Path, app: App | None = None) -> None:
        self.path = Path(path)
        self.xl = openpyxl.load_workbook(self.path, keep_vba=self.path.suffix.lower() == ".xlsm")
        self._cached = openpyxl.load_workbook(self.path, data_only=True)  # Excel shows formulas' values
        self.app = app or App(ENGINE)
        self.saved_to: list[Path] = []
        self.written: set[tuple[str, int, int]] = set()  # no calculation here: a written formula reads back as text

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def fullname(self) -> str:
        return str(self.path)

    @property
    def sheets(self) -> "Sheets":
        return Sheets(self)

    def save(self, path: str | None = None, password: str | None = None) -> None:
        target = Path(path) if path else self.path
        self.xl.save(target)
        self.saved_to.append(target)


class Sheets:
    def __init__(self, book: Book) -> None:
        self.book = book

    def __call__(self, name_or_index: str | int) -> "Sheet":
        if isinstance(name_or_index, int):
            return Sheet(self.book, self.book.xl.worksheets[name_or_index - 1])
        return Sheet(self.book, self.book.xl[name_or_index])

    def __len__(self) -> int:
        return len(self.book.xl.worksheets)

    def __iter__(self):
        return (Sheet(self.book, ws) for ws in self.book.xl.worksheets)

    def add(self, before: Any = None, after: Any = None, name: str | None = None) -> "Sheet":
        return Sheet(self.book, self.book.xl.create_sheet(name))


class Sheet:
    def __init__(self, book: Book, ws: Any) -> None:
        self.book, self.ws = book, ws

    @property
    def name(self) -> str:
        return self.ws.title

    @name.setter
    def name(self, value: str) -> None:
        self.ws.title = value

    @property
    def index(self) -> int:
        return self.book.xl.worksheets.index(self.ws) + 1

    def range(self, arg1: Any, arg2: Any = None) -> "Range":
        if isinstance(arg1, Range):
            arg1 = (arg1.row1, arg1.col1)
        if isinstance(arg2, Range):
            arg2 = (arg2.row2, arg2.col2)
        if isinstance(arg1, str):
            c1, r1, c2, r2 = range_boundaries(arg1.replace("$", ""))
            return Range(self, (r1, c1), (r2, c2))
        return Range(self, tuple(arg1), tuple(arg2) if arg2 else tuple(arg1))

    @property
    def used_range(self) -> "Range":
        return Range(self, (1, 1), (max(self.ws.max_row, 1), max(self.ws.max_column, 1)))


class Range:
    def __init__(self, sheet: Sheet, first: tuple[int, int], last: tuple[int, int]) -> None:
        self.sheet = sheet
        self.row1, self.col1 = first
        self.row2, self.col2 = last
        self.options = None  # set by xlwings.Range

    @property
    def api(self) -> "RangeApi":
        """The few COM members the port uses (FormatConditions), over openpyxl."""
        return RangeApi(self)
    max_cells_per_read = None  # no chunking: one read per block, as the port intends
    max_cells_per_write = None

    def __len__(self) -> int:
        return (self.row2 - self.row1 + 1) * (self.col2 - self.col1 + 1)

    @property
    def coords(self) -> tuple:
        return self.sheet.name, self.row1, self.col1, self.row2 - self.row1 + 1, self.col2 - self.col1 + 1

    @property
    def row(self) -> int:
        return self.row1

    @property
    def column(self) -> int:
        return self.col1

    @property
    def shape(self) -> tuple[int, int]:
        return self.row2 - self.row1 + 1, self.col2 - self.col1 + 1

    def __call__(self, row: int, column: int) -> "Range":
        """The cell at (row, column) relative to this range (1-based), as Excel's Range.Item."""
        r, c = self.row1 + row - 1, self.col1 + column - 1
        return Range(self.sheet, (r, c), (r, c))

    def _cells(self):
        ws = self.sheet.ws
        return [[ws.cell(r, c) for c in range(self.col1, self.col2 + 1)] for r in range(self.row1, self.row2 + 1)]

    @property
    def raw_value(self) -> Any:
        cached = self.sheet.book._cached
        name, written = self.sheet.name, self.sheet.book.written
        rows = [[(cached[name][c.coordinate].value if name in cached.sheetnames else None)
                 if c.data_type == "f" and (name, c.row, c.column) not in written else c.value for c in row]
                for row in self._cells()]
        return rows[0][0] if len(self) == 1 else rows

    @raw_value.setter
    def raw_value(self, value: Any) -> None:
        rows = value if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)) \
            else [[value]]
        ws = self.sheet.ws
        for i, line in enumerate(rows):
            for j, v in enumerate(line):
                cell = ws.cell(self.row1 + i, self.col1 + j)
                if isinstance(v, str) and v.startswith("'"):  # Excel's text prefix: stored as text, without it
                    cell.value = v[1:]
                    cell.data_type = "s"
                else:
                    cell.value = v
                self.sheet.book.written.add((self.sheet.name, self.row1 + i, self.col1 + j))

    @property
    def number_format(self) -> str | None:
        formats = {c.number_format for row in self._cells() for c in row}
        return formats.pop() if len(formats) == 1 else None  # Excel answers Null for a mixed range

    @number_format.setter
    def number_format(self, value: str) -> None:
        for row in self._cells():
            for c in row:
                c.number_format = value

    @property
    def color(self) -> Any:
        return None

    @color.setter
    def color(self, rgb: tuple[int, int, int]) -> None:
        fill = PatternFill("solid", fgColor="%02X%02X%02X" % tuple(rgb))
        for row in self._cells():
            for c in row:
                c.fill = fill

    @property
    def font(self) -> "RangeFont":
        return RangeFont(self)

    def merge(self, across: bool = False) -> None:
        self.sheet.ws.merge_cells(start_row=self.row1, start_column=self.col1, end_row=self.row2,
                                  end_column=self.col2)

    @property
    def merge_area(self) -> "Range":
        for m in self.sheet.ws.merged_cells.ranges:
            if m.min_row <= self.row1 <= m.max_row and m.min_col <= self.col1 <= m.max_col:
                return Range(self.sheet, (m.min_row, m.min_col), (m.max_row, m.max_col))
        return Range(self.sheet, (self.row1, self.col1), (self.row1, self.col1))

    def resize(self, row_size: int | None = None, column_size: int | None = None) -> "Range":
        rows, cols = self.shape
        return Range(self.sheet, (self.row1, self.col1),
                     (self.row1 + (row_size or rows) - 1, self.col1 + (column_size or cols) - 1))

    @property
    def address(self) -> str:
        return f"${get_column_letter(self.col1)}${self.row1}:${get_column_letter(self.col2)}${self.row2}"

    def get_address(self, *args: Any) -> str:
        return self.address


class RangeFont:
    def __init__(self, rng: Range) -> None:
        self.rng = rng

    @property
    def bold(self) -> Any:
        return None

    @bold.setter
    def bold(self, value: bool) -> None:
        for row in self.rng._cells():
            for c in row:
                c.font = Font(bold=value)


class RangeApi:
    """Range.api.FormatConditions.Add(Type, Formula1=…).Interior.Color = BGR, as Excel's COM object model."""

    def __init__(self, rng: Range) -> None:
        self.rng = rng
        self.FormatConditions = self

    def Add(self, kind: int, Formula1: str) -> Any:
        rng = self.rng

        class Interior:
            def __setattr__(self, name: str, bgr: int) -> None:
                rgb = "%02X%02X%02X" % (bgr & 255, (bgr >> 8) & 255, (bgr >> 16) & 255)
                rng.sheet.ws.conditional_formatting.add(
                    f"{get_column_letter(rng.col1)}{rng.row1}:{get_column_letter(rng.col2)}{rng.row2}",
                    FormulaRule(formula=[Formula1.lstrip("=")], fill=PatternFill("solid", fgColor=rgb)))

        class Rule:
            pass

        rule = Rule()
        rule.Interior = Interior()
        return rule


ENGINE = Engine()


def register() -> None:
    """Add the engine to xlwings once (xw.engines.add(Engine(impl=…)))."""
    if ENGINE_NAME not in [e.name for e in xw.engines]:
        xw.engines.add(xw.main.Engine(impl=ENGINE))


def open_book(path: Path) -> xw.Book:
    """A real xlwings Book over a file, through this engine."""
    register()
    return xw.Book(impl=Book(Path(path)))


__all__ = ["open_book", "register", "column_index_from_string", "dt"]
