"""An xlwings engine backed by openpyxl, implementing only what bulletin's XlwingsPort and the tests that
read the live book use, so the real xlwings Book/Sheet/Range and converter code runs in CI (no Excel, no
licence-gated `pro` parts).
Interfaces: xlwings/base_classes.py of the pinned wheel. Values go through xlwings' own conversion
pipeline (raw_value in, 2-D lists out) exactly as with Excel.

Faithful to Excel's COM layer where the product depends on it (xlwings/_xlwindows.py of the pin):
- raw values come back as COM gives them: numbers as float, an error cell as its COM error code
  (openpyxl keeps errors as "#DIV/0!" strings of data type "e"), an empty string as ""; clean_value_data
  then does what the Windows engine does (codes -> "#DIV/0!" with err_to_str, else None; "" -> empty);
- a written formula reads back as Excel would compute it: HYPERLINK(target, text) as its text; any other
  formula raises NotImplementedError, so a test notices the product writing one;
- a string assigned to a cell is read as Excel reads typed input: "12", "10%", "TRUE", "#N/A", "2023-06-01"
  become a number, a truth value, an error, a date (with a number format), a leading = + - @ makes a
  formula, a leading ' is the text prefix; a Text-formatted cell (@) keeps it as text;
- a range with mixed number formats answers None (Excel: Null); MergeCells answers None for a partly
  merged range;
- Workbook.SaveCopyAs writes the book as it is in memory (unsaved edits, written cells, defined names);
  a formula cell is written as the value Excel holds for it (a copy the product reads through openpyxl's
  values sees the same as in Excel's copy, which has the formula and its value);
- Application.Run of the book's own BulletinApply (found in its VBA project, as Excel finds a macro) is
  one COM call, and applies the plan with the rules of vba/Bulletin.bas (`APPLY`, below; a test holds
  its kinds equal to the VBA's Case labels); a macro the book lacks fails as in Excel;
- every access to a member of App/Book/Sheets/Sheet/Range/Workbook (a property read or write, a method
  call, an item of an iteration) is one COM round trip on Windows, and is counted in `App.calls` (in order
  in `App.sequence`) so tests can hold each button to a budget; `.api` and `App.engine` are Python objects
  on Windows, not calls.
Screen updating, calculation mode and the status bar are recorded as Excel would hold them."""
from __future__ import annotations

import collections
import copy
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import xlwings as xw
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName

ENGINE_NAME = "openpyxl-test"
# Excel's COM error codes (xlwings/_xlwindows.py cell_errors maps them to these texts)
CELL_ERRORS = {-2146826288: "#NULL!", -2146826281: "#DIV/0!", -2146826273: "#VALUE!", -2146826265: "#REF!",
               -2146826259: "#NAME?", -2146826252: "#NUM!", -2146826246: "#N/A"}
ERROR_CODES = {text: code for code, text in CELL_ERRORS.items()}
HYPERLINK = re.compile(r'^=HYPERLINK\("((?:[^"]|"")*)",\s*"((?:[^"]|"")*)"\)$', re.IGNORECASE)
NOT_COUNTED = {"engine", "api"}  # xlwings' own objects on Windows (App.engine, .api = the COM object): no call


class Counted:
    """One COM round trip per access to a public member (property read or write, method call)."""

    def __getattribute__(self, name: str) -> Any:
        if name[0] != "_" and name in _members(type(self)):
            object.__getattribute__(self, "_count")(name)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name[0] != "_" and isinstance(getattr(type(self), name, None), property):
            self._count(name + "=")
        object.__setattr__(self, name, value)

    def _count(self, member: str) -> None:
        app = self._app()
        app.calls[f"{type(self).__name__}.{member}"] += 1
        app.sequence.append(f"{type(self).__name__}.{member}")

    def _app(self) -> "App":
        raise NotImplementedError


_MEMBERS: dict[type, frozenset] = {}


def _members(cls: type) -> frozenset:
    if cls not in _MEMBERS:
        names = set()
        for klass in cls.__mro__:
            if klass in (Counted, object):
                continue
            names.update(n for n, v in vars(klass).items()
                         if n[0] != "_" and (callable(v) or isinstance(v, property)) and n not in NOT_COUNTED)
        _MEMBERS[cls] = frozenset(names)
    return _MEMBERS[cls]


class Engine:
    name = ENGINE_NAME
    type = "desktop"

    def __init__(self) -> None:
        self.apps = Apps(self)

    @staticmethod
    def prepare_xl_data_element(x: Any, date_format: Any = None) -> Any:
        return x

    @staticmethod
    def clean_value_data(data: Any, datetime_builder: Any, empty_as: Any, number_builder: Any,
                         err_to_str: Any = False) -> Any:
        """As xlwings/_xlwindows.py: "" and None are empty; an error code is its text with err_to_str, else None."""
        def clean(v: Any) -> Any:
            if v in ("", None):
                return empty_as
            if number_builder is not None and isinstance(v, float):
                return number_builder(v)
            if isinstance(v, int) and not isinstance(v, bool) and v in CELL_ERRORS:
                return CELL_ERRORS[v] if err_to_str else None
            return v

        return [[clean(v) for v in row] for row in data]


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


CALCULATION = {"automatic", "manual", "semiautomatic"}


class App(Counted):
    """Records what Excel would show and hold: message boxes, status-bar texts (False = Excel's own),
    screen updating and calculation mode, and the COM calls made."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._alerts: list[tuple[str, str]] = []
        self._status: list[Any] = []
        self._screen: list[bool] = [True]
        self._calc: list[str] = ["automatic"]
        self._display_alerts = True
        self._calls: collections.Counter = collections.Counter()
        self._sequence: list[str] = []
        self._books: list["Book"] = []

    def _app(self) -> "App":
        return self

    def run(self, macro: str, args: Any) -> Any:
        """Application.Run "'book.xlsm'!Name", args: the book's own VBA procedure, as Excel runs it."""
        book_name, _, name = macro.rpartition("!")
        book = next((b for b in self._books if b._path.name == book_name[1:-1].replace("''", "'")), None)
        if book is None or name not in book._procedures():
            raise OSError(-2147352567, "Exception occurred.", (0, "Microsoft Excel", f"Cannot run the macro "
                          f"'{macro}'. The macro may not be available in this workbook or all macros may be "
                          "disabled.", None, 0, -2146827284))
        if name != "BulletinApply":
            raise NotImplementedError(f"the test engine does not run {name}")
        return apply_plan(book, *args)

    def calculate(self) -> None:
        """Application.Calculate (the engine computes no formulas: only the call is recorded)."""

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def version(self) -> str:
        return "openpyxl"

    @property
    def pid(self) -> int:
        return 1

    def alert(self, prompt: str, title: str | None, buttons: Any, mode: Any, callback: Any) -> None:
        self._alerts.append((title or "", prompt))

    @property
    def status_bar(self) -> Any:
        return self._status[-1] if self._status else False

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self._status.append(value)

    @property
    def display_alerts(self) -> bool:
        return self._display_alerts

    @display_alerts.setter
    def display_alerts(self, value: bool) -> None:
        self._display_alerts = bool(value)

    @property
    def screen_updating(self) -> bool:
        return self._screen[-1]

    @screen_updating.setter
    def screen_updating(self, value: bool) -> None:
        self._screen.append(bool(value))

    @property
    def calculation(self) -> str:
        return self._calc[-1]

    @calculation.setter
    def calculation(self, value: str) -> None:
        if value not in CALCULATION:
            raise ValueError(value)
        self._calc.append(value)

    # -- what tests read (not COM members) --
    @property
    def alerts(self) -> list[tuple[str, str]]:
        return self._alerts

    @property
    def status_texts(self) -> list[Any]:
        return self._status

    @property
    def calls(self) -> collections.Counter:
        return self._calls

    @property
    def screen_history(self) -> list[bool]:
        return self._screen

    @property
    def calculation_history(self) -> list[str]:
        return self._calc

    @property
    def sequence(self) -> list[str]:
        """The COM calls in the order made."""
        return self._sequence


_MEMBERS[App] = _members(App) - {"alerts", "status_texts", "calls", "screen_history", "calculation_history",
                                 "sequence"}  # test records, not members of Excel's App


class Book(Counted):
    def __init__(self, path: Path, app: App | None = None, *, read_only: bool = False) -> None:
        self._path = Path(path)
        self._read_only = read_only  # opened read-only (someone else has it): Excel refuses to save
        self._names: dict[str, str] = {}
        self._xl = openpyxl.load_workbook(self._path, keep_vba=self._path.suffix.lower() == ".xlsm")
        self._cached = openpyxl.load_workbook(self._path, data_only=True)  # Excel shows formulas' values
        self._application = app or App(ENGINE)
        self._saved_to: list[Path] = []
        self._formulas: dict[tuple[str, int, int], str] = {}  # formulas written: evaluated on read
        self._macros: frozenset[str] | None = None
        self._application._books.append(self)

    def _app(self) -> App:
        return self._application

    def _procedures(self) -> frozenset[str]:
        """The Public Subs and Functions of the book's VBA project (none without one), as Excel finds them."""
        if self._macros is None:
            names: set[str] = set()
            if self._xl.vba_archive is not None:
                from pyopenvba import ExcelFile

                with ExcelFile(self._path) as f:
                    for module in f.module_names():
                        names.update(re.findall(r"^Public (?:Sub|Function) (\w+)", f.get_module(module), re.M))
            self._macros = frozenset(names)
        return self._macros

    @property
    def api(self) -> "Workbook":
        return Workbook(self)

    def _formula_value(self, sheet: str, cell: Any) -> Any:
        """The value Excel holds for a formula cell: a written one computed, a loaded one as last saved."""
        formula = self._formulas.get((sheet, cell.row, cell.column))
        if formula is not None:
            return _evaluate(formula)
        return self._cached[sheet][cell.coordinate].value if sheet in self._cached.sheetnames else None

    def _save_copy(self, path: Path) -> None:
        buffer = io.BytesIO()
        self._xl.save(buffer)
        wb = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()), keep_vba=self._xl.vba_archive is not None)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        c.value = self._formula_value(ws.title, c)
        for name, refers_to in self._names.items():
            wb.defined_names[name] = DefinedName(name, attr_text=refers_to.lstrip("="))
        wb.save(path)

    @property
    def app(self) -> App:
        return self._application

    @property
    def name(self) -> str:
        return self._path.name

    @property
    def fullname(self) -> str:
        return str(self._path)

    @property
    def sheets(self) -> "Sheets":
        return Sheets(self)

    @property
    def names(self) -> "Names":
        return Names(self)

    def save(self, path: str | None = None, password: str | None = None) -> None:
        if self._read_only and not path:  # Excel: "…is read-only. To save a copy, click OK…" as a COM error
            raise OSError(-2147352567, "Exception occurred.", (0, "Microsoft Excel", "read-only", None, 0, -2146827284))
        target = Path(path) if path else self._path
        self._xl.save(target)
        self._saved_to.append(target)

    @property
    def saved_to(self) -> list[Path]:
        return self._saved_to


_MEMBERS[Book] = _members(Book) - {"saved_to"}


class _OfBook(Counted):
    """A COM object that belongs to one book (its calls are counted on the book's App)."""

    def __init__(self, book: Book) -> None:
        self._book = book

    def _app(self) -> App:
        return self._book._application


class Workbook(_OfBook):
    """Book.api: the members of Excel's Workbook object the port calls itself."""

    def SaveCopyAs(self, Filename: str) -> None:
        """The book as it is in memory into a new file; the book itself stays as it is (name, saved state)."""
        self._book._save_copy(Path(Filename))


class Names(_OfBook):
    """The book's defined names (only what the port asks: is a name there; tests add one)."""

    def contains(self, name_or_index: str) -> bool:
        return name_or_index in self._book._names

    def add(self, name: str, refers_to: str) -> None:
        self._book._names[name] = refers_to


class Sheets(_OfBook):
    def __call__(self, name_or_index: str | int) -> "Sheet":
        self._count("Item")
        if isinstance(name_or_index, int):
            return Sheet(self._book, self._book._xl.worksheets[name_or_index - 1])
        return Sheet(self._book, self._book._xl[name_or_index])

    def __len__(self) -> int:
        self._count("Count")
        return len(self._book._xl.worksheets)

    def __iter__(self):
        self._count("Count")
        for ws in self._book._xl.worksheets:
            self._count("Item")
            yield Sheet(self._book, ws)

    def add(self, before: Any = None, after: Any = None, name: str | None = None) -> "Sheet":
        return Sheet(self._book, self._book._xl.create_sheet(name))


class Sheet(Counted):
    def __init__(self, book: Book, ws: Any) -> None:
        self._book, self._ws = book, ws

    def _app(self) -> App:
        return self._book._application

    @property
    def name(self) -> str:
        return self._ws.title

    @name.setter
    def name(self, value: str) -> None:
        self._ws.title = value

    @property
    def book(self) -> Book:
        return self._book

    @property
    def index(self) -> int:
        return self._book._xl.worksheets.index(self._ws) + 1

    def range(self, arg1: Any, arg2: Any = None) -> "Range":
        return self._range(arg1, arg2)

    def _range(self, arg1: Any, arg2: Any = None) -> "Range":
        if isinstance(arg1, Range):
            arg1 = (arg1._r1, arg1._c1)
        if isinstance(arg2, Range):
            arg2 = (arg2._r2, arg2._c2)
        if isinstance(arg1, str) and "," in arg1:  # a multi-area range: formats only (as the port uses it)
            return Areas(self, [self._range(part) for part in arg1.split(",")])
        if isinstance(arg1, str):
            c1, r1, c2, r2 = range_boundaries(arg1.replace("$", ""))
            return Range(self, (r1, c1), (r2, c2))
        if len(arg1) == 4:  # (row, column, rows, columns), as _xlwindows.Sheet.range
            r, c, n, m = arg1
            return Range(self, (r, c), (r + n - 1, c + m - 1))
        return Range(self, tuple(arg1), tuple(arg2) if arg2 else tuple(arg1))

    @property
    def used_range(self) -> "Range":
        return Range(self, (1, 1), (max(self._ws.max_row, 1), max(self._ws.max_column, 1)))


class Range(Counted):
    max_cells_per_read = None  # no chunking: one read per block, as the port intends
    max_cells_per_write = None

    def __init__(self, sheet: Sheet, first: tuple[int, int], last: tuple[int, int]) -> None:
        self._sheet = sheet
        self._r1, self._c1 = first
        self._r2, self._c2 = last
        self.options = None  # set by xlwings.Range

    def _app(self) -> App:
        return self._sheet._book._application

    @property
    def api(self) -> Any:
        """The COM Range object: xlwings only tests that it is there (pywin32's is true without a call)."""
        return True

    def __len__(self) -> int:
        self._count("Count")
        return self._size()

    def _size(self) -> int:
        return (self._r2 - self._r1 + 1) * (self._c2 - self._c1 + 1)

    @property
    def sheet(self) -> Sheet:
        return self._sheet

    @property
    def coords(self) -> tuple:
        return self._sheet._ws.title, self._r1, self._c1, self._r2 - self._r1 + 1, self._c2 - self._c1 + 1

    @property
    def row(self) -> int:
        return self._r1

    @property
    def column(self) -> int:
        return self._c1

    @property
    def shape(self) -> tuple[int, int]:
        return self._r2 - self._r1 + 1, self._c2 - self._c1 + 1

    def __call__(self, row: int, column: int) -> "Range":
        """The cell at (row, column) relative to this range (1-based), as Excel's Range.Item."""
        self._count("Item")
        r, c = self._r1 + row - 1, self._c1 + column - 1
        return Range(self._sheet, (r, c), (r, c))

    def _cells(self):
        ws = self._sheet._ws
        return [[ws.cell(r, c) for c in range(self._c1, self._c2 + 1)] for r in range(self._r1, self._r2 + 1)]

    def _read(self, cell: Any) -> Any:
        """One cell as Excel's COM Value gives it."""
        book, name = self._sheet._book, self._sheet._ws.title
        formula = book._formulas.get((name, cell.row, cell.column))
        if formula is not None:
            return _evaluate(formula)
        value = cell.value
        if cell.data_type == "f":
            value = book._cached[name][cell.coordinate].value if name in book._cached.sheetnames else None
        if isinstance(value, str) and value in ERROR_CODES and (cell.data_type == "e" or cell.data_type == "f"):
            return ERROR_CODES[value]
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # Excel holds every number as a double
        return value

    @property
    def raw_value(self) -> Any:
        rows = [[self._read(c) for c in row] for row in self._cells()]
        return rows[0][0] if self._size() == 1 else tuple(tuple(r) for r in rows)

    @raw_value.setter
    def raw_value(self, value: Any) -> None:
        rows = value if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)) \
            else [[value]]
        ws, book = self._sheet._ws, self._sheet._book
        for i, line in enumerate(rows):
            for j, v in enumerate(line):
                _assign(book, ws.cell(self._r1 + i, self._c1 + j), v)

    @property
    def number_format(self) -> str | None:
        formats = {c.number_format for row in self._cells() for c in row}
        return formats.pop() if len(formats) == 1 else None  # Excel answers Null for a mixed range

    @number_format.setter
    def number_format(self, value: str) -> None:
        self._set_number_format(value)

    @property
    def color(self) -> Any:
        """Interior.Color as xlwings gives it: (r, g, b), None without a fill or for a mixed range."""
        fills = {c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
                 for row in self._cells() for c in row}
        rgb = fills.pop() if len(fills) == 1 else None
        return tuple(int(rgb[-6:][i:i + 2], 16) for i in (0, 2, 4)) if isinstance(rgb, str) else None

    @color.setter
    def color(self, rgb: tuple[int, int, int]) -> None:
        self._set_fill("%02X%02X%02X" % tuple(rgb))

    @property
    def font(self) -> "RangeFont":
        return RangeFont(self)

    def merge(self, across: bool = False) -> None:
        self._merge()

    # -- what BulletinApply does to a range (in-process: no COM call) --
    def _put(self, value: Any) -> None:
        """Range.Value2 = one value: into every cell."""
        for row in self._cells():
            for c in row:
                _assign(self._sheet._book, c, value)

    def _set_number_format(self, value: str) -> None:
        for row in self._cells():
            for c in row:
                c.number_format = value

    def _set_fill(self, rgb: str) -> None:
        fill = PatternFill("solid", fgColor=rgb)
        for row in self._cells():
            for c in row:
                c.fill = fill

    def _set_bold(self, bold: bool) -> None:
        """Font.Bold: the rest of each cell's font stays as it was."""
        for row in self._cells():
            for c in row:
                font = copy.copy(c.font) if c.font is not None else Font()
                font.b = bool(bold)
                c.font = font

    def _merge(self) -> None:
        self._sheet._ws.merge_cells(start_row=self._r1, start_column=self._c1, end_row=self._r2,
                                    end_column=self._c2)

    def _add_condition(self, formula_a1: str, rgb: str) -> None:
        """FormatConditions.Add(xlExpression, formula).Interior.Color over this range (every area)."""
        ranges = self._parts if isinstance(self, Areas) else [self]
        sqref = " ".join(f"{get_column_letter(p._c1)}{p._r1}:{get_column_letter(p._c2)}{p._r2}" for p in ranges)
        self._sheet._ws.conditional_formatting.add(
            sqref, FormulaRule(formula=[formula_a1.lstrip("=")], fill=PatternFill("solid", fgColor=rgb)))

    def _areas(self) -> list[tuple[int, int, int, int]]:
        """Merged areas overlapping this range (min_row, min_col, max_row, max_col)."""
        return [(m.min_row, m.min_col, m.max_row, m.max_col) for m in self._sheet._ws.merged_cells.ranges
                if m.min_row <= self._r2 and m.max_row >= self._r1 and m.min_col <= self._c2 and m.max_col >= self._c1]

    @property
    def merge_cells(self) -> bool | None:
        """Range.MergeCells: True when every cell is merged, False when none, None (Null) when mixed."""
        areas = self._areas()
        covered = sum((min(a[2], self._r2) - max(a[0], self._r1) + 1) * (min(a[3], self._c2) - max(a[1], self._c1) + 1)
                      for a in areas)
        return False if covered == 0 else True if covered == self._size() else None

    @property
    def merge_area(self) -> "Range":
        for m in self._sheet._ws.merged_cells.ranges:
            if m.min_row <= self._r1 <= m.max_row and m.min_col <= self._c1 <= m.max_col:
                return Range(self._sheet, (m.min_row, m.min_col), (m.max_row, m.max_col))
        return Range(self._sheet, (self._r1, self._c1), (self._r1, self._c1))

    def resize(self, row_size: int | None = None, column_size: int | None = None) -> "Range":
        rows, cols = self._r2 - self._r1 + 1, self._c2 - self._c1 + 1
        return Range(self._sheet, (self._r1, self._c1),
                     (self._r1 + (row_size or rows) - 1, self._c1 + (column_size or cols) - 1))

    @property
    def address(self) -> str:
        return f"${get_column_letter(self._c1)}${self._r1}:${get_column_letter(self._c2)}${self._r2}"

    def get_address(self, *args: Any) -> str:
        return self.address


class Areas(Range):
    """Range("B3:B9,E3:E9"): number format, fill and font apply to every area; values are refused (Excel
    reads only the first area's)."""

    def __init__(self, sheet: Sheet, parts: list[Range]) -> None:
        super().__init__(sheet, (parts[0]._r1, parts[0]._c1), (parts[0]._r2, parts[0]._c2))
        self._parts = parts

    def _cells(self):
        return [row for part in self._parts for row in part._cells()]

    def _size(self) -> int:
        return sum(p._size() for p in self._parts)

    @property
    def raw_value(self) -> Any:
        raise NotImplementedError("a multi-area range's value: Excel answers the first area only")

    @raw_value.setter
    def raw_value(self, value: Any) -> None:
        raise NotImplementedError("writing a multi-area range")


NUMBER = re.compile(r"^[+-]?(\d+(,\d{3})*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
PERCENT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)%$")
DATE = re.compile(r"^(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _typed(text: str) -> tuple[Any, str | None] | None:
    """(value, number format Excel gives the cell) of a string Excel reads as something else when it is
    assigned to a cell as if typed — the forms the product meets; None for text that stays text."""
    t = text.strip()
    if NUMBER.match(t):
        return float(t.replace(",", "")), None
    if PERCENT.match(t):
        return float(t[:-1]) / 100, "0.00%" if "." in t else "0%"
    if t.upper() in ("TRUE", "FALSE"):
        return t.upper() == "TRUE", None
    if t.upper() in ERROR_CODES:
        return t.upper(), None
    m = DATE.match(t)
    if m:
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
        try:
            when = dt.datetime(y, mo, d or 1, h, mi, sec)
        except ValueError:
            return None
        return when, "yyyy/m/d h:mm" if m.group(4) else "yyyy/m/d"
    return None


def _assign(book: "Book", cell: Any, v: Any) -> None:
    """One cell's Value (or Value2 / Formula) set from COM, as Excel takes it."""
    key = (cell.parent.title, cell.row, cell.column)
    book._formulas.pop(key, None)
    if not isinstance(v, str):
        cell.value = v
        return
    if v == "":
        cell.value = None
    elif v.startswith("'"):  # Excel's text prefix: stored as text, without it
        cell.value = v[1:] or None
        cell.data_type = "s"
    elif cell.number_format == "@":  # a Text cell keeps what it is given
        cell.value = v
        cell.data_type = "s"
    elif (typed := _typed(v)) is not None:
        cell.value, fmt = typed
        if isinstance(cell.value, str):
            cell.data_type = "e"
        if fmt and cell.number_format == "General":
            cell.number_format = fmt
    elif v[0] in "=+-@":  # typed, this is a formula ("+x", "-x" and "@x" too)
        _evaluate(v)  # refuses what this engine cannot compute as Excel would
        cell.value = v
        book._formulas[key] = v
    else:
        cell.value = v
        cell.data_type = "s"


def _value2(book: "Book", cell: Any) -> Any:
    """What Range.Value2 reads back: text as str, a formula's value, numbers and dates as doubles."""
    key = (cell.parent.title, cell.row, cell.column)
    if key in book._formulas:
        return _evaluate(book._formulas[key])
    if cell.data_type == "e":
        return ERROR_CODES.get(cell.value, 0)
    if isinstance(cell.value, dt.date):
        return float(to_excel(cell.value))  # a date is its serial number
    if isinstance(cell.value, int) and not isinstance(cell.value, bool):
        return float(cell.value)
    return cell.value


R1C1 = re.compile(r"(?<![A-Za-z_])R(\[-?\d+\]|\d+)?C(\[-?\d+\]|\d+)?(?![A-Za-z_(\d])")


def _a1(formula: str, row: int, col: int) -> str:
    """An R1C1 formula in A1 style for the cell (row, col): R5 absolute, R[1] and R relative (outside
    strings; the references the product writes)."""
    def ref(m: re.Match) -> str:
        def part(token: str | None, base: int) -> tuple[int, str]:
            if token is None:
                return base, ""
            if token.startswith("["):
                return base + int(token[1:-1]), ""
            return int(token), "$"

        r, rd = part(m.group(1), row)
        c, cd = part(m.group(2), col)
        return f"{cd}{get_column_letter(c)}{rd}{r}"

    pieces = formula.split('"')
    return '"'.join(R1C1.sub(ref, p) if i % 2 == 0 else p for i, p in enumerate(pieces))


def _text(book: "Book", rng: "Range", v: str) -> None:
    """vba/Bulletin.bas, Case "text": text stays text."""
    if v == "":
        rng._put(v)
    elif v[0] in "=+-@'":
        rng._put("'" + v)
    else:
        for cell in (c for row in rng._cells() for c in row):
            keep = cell.number_format
            _assign(book, cell, v)
            if not isinstance(_value2(book, cell), str):
                cell.number_format = keep
                _assign(book, cell, "'" + v)


# vba/Bulletin.bas, BulletinApply: kind -> what it does with (book, range, value, colour); "add sheet" has no
# range. Same kinds, same rules (tests/test_xlwings_engine.py compares the kinds with the VBA's Case labels).
APPLY = {
    "value": lambda book, rng, v, colour: rng._put(v),
    "text": lambda book, rng, v, colour: _text(book, rng, v),
    "formula": lambda book, rng, v, colour: rng._put(v),
    "number format": lambda book, rng, v, colour: rng._set_number_format(v),
    "fill": lambda book, rng, v, colour: rng._set_fill(_rgb_of(v)),
    "bold": lambda book, rng, v, colour: rng._set_bold(v),
    "merge": lambda book, rng, v, colour: rng._merge(),
    "condition": lambda book, rng, v, colour: rng._add_condition(_a1(v, rng._r1, rng._c1), _rgb_of(colour)),
    "add sheet": lambda book, rng, v, colour: book._xl.create_sheet(v),
}
SCALARS = (str, float, int, bool)


def _rgb_of(bgr: int) -> str:
    return "%02X%02X%02X" % (bgr & 255, (bgr >> 8) & 255, (bgr >> 16) & 255)


def apply_plan(book: "Book", plan: Any) -> int:
    """BulletinApply(plan) inside Excel: no COM calls of its own. The plan must be what pywin32 can hand
    over as a 2-D Variant array: rows of equal length, scalars only (None would reach VBA as Null)."""
    if not isinstance(plan, (list, tuple)) or not plan or any(
            not isinstance(row, (list, tuple)) or len(row) != 5 or not all(type(v) in SCALARS for v in row)
            for row in plan):
        raise TypeError(f"not a plan of 5 scalars a row: {plan!r:.200}")
    for n, (sheet, where, kind, value, colour) in enumerate(plan, 1):
        try:
            if kind != "add sheet" and book._xl[sheet].protection.sheet:  # ws.ProtectContents
                return f"protected\t{sheet}"
            rng = None if kind == "add sheet" else Sheet(book, book._xl[sheet])._range(where)
            APPLY[kind](book, rng, value, colour)
        except Exception as exc:  # the VBA's Failed: the operation named, returned (never raised) as text
            return f"BulletinApply failed at operation {n} ({kind} {sheet}!{where}): {exc!r}"
    return len(plan)


def _evaluate(formula: str) -> Any:
    """What Excel shows for a formula the product writes; others are refused so a test notices."""
    link = HYPERLINK.match(formula)
    if link:
        return link.group(2).replace('""', '"')
    raise NotImplementedError(f"the test engine does not compute {formula!r} as Excel would")


class RangeFont(Counted):
    def __init__(self, rng: Range) -> None:
        self._rng = rng

    def _app(self) -> App:
        return self._rng._app()

    @property
    def bold(self) -> Any:
        """Font.Bold: None (Null) for a mixed range."""
        values = {bool(c.font.b) for row in self._rng._cells() for c in row}
        return values.pop() if len(values) == 1 else None

    @bold.setter
    def bold(self, value: bool) -> None:
        self._rng._set_bold(value)


ENGINE = Engine()


def register() -> None:
    """Add the engine to xlwings once (xw.engines.add(Engine(impl=…)))."""
    if ENGINE_NAME not in [e.name for e in xw.engines]:
        xw.engines.add(xw.main.Engine(impl=ENGINE))


def open_book(path: Path, *, read_only: bool = False) -> xw.Book:
    """A real xlwings Book over a file, through this engine (its own App: its own records and call count)."""
    register()
    return xw.Book(impl=Book(Path(path), App(ENGINE), read_only=read_only))


__all__ = ["open_book", "register", "column_index_from_string", "dt", "CELL_ERRORS"]
