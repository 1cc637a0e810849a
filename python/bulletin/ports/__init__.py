"""The workbook port: what the actions need from a workbook, whether a file (openpyxl) or the live book in
Excel (xlwings). It is the ONE writer of the result workbook: the CLI's result file, the buttons' live book
and the console's file all get their cells, formats and colours from the code below.

Everything above the primitives (`sheet_names`, `has_sheet`, `values`, `merged`, `percent`, `write`,
`format`, `format_boxes`, `merge`, `add_sheet`, `colour_rows_by_status`, `busy`, `progress`, `message`) is
written once here, so both implementations share it and CI runs it. Rules kept by every implementation:
- one read of each sheet; formats and merges asked only where the intake uses them; values written as few
  rectangles as they allow, each format once per sheet (the live book reads all of it from one copy and
  applies all writes in one macro call: in Excel every call is a COM round trip);
- input cells are never written: only computed columns, total rows (the engine's), the 状态/触发规则/上月/变化
  columns right of a table, the generated sheets (问题文本, 校验结果) and the 控制台 status cells;
- a string is always written as text, never as a formula, whatever it starts with; only a `Formula` the
  program built itself (the 校验结果 links) is written as one.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..adapters.xlsx_files import READ_SHEETS
from ..adapters.workbook_layout import CONSOLE_ROWS, CONSOLE_SHEET
from ..adapters.xlsx_output import (CHANGE_FORMATS, COLOURS, STATUS_HEADERS, TEXT_HEADERS, TEXT_SHEET_OUT, OutputError,
                                    cell_value, number_format, text_rows)
from ..core.compare import DISTRICT
from ..core.intake import Grid, address, column_letter, header_rows, ratio_columns
from ..core.numbers import EXCEL_CELL_LIMIT
from ..core.month import MonthData
from ..core.problems import PROBLEM_HEADERS, SEVERITY_ZH, Problem
from ..core.rules import worst
from ..spec import ANNEXES, PROBLEM_SHEET, Column

ANNEX_BY_SHEET = {a.sheet: a for a in ANNEXES}
PROBLEM_ORDER = ("severity", "sheet", "cell", "department", "rule", "message")


class Formula(str):
    """A formula the program built itself; every other string is written as text."""


def check_lengths(sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
    """Every port's `write` calls this first: a text longer than a cell holds is refused at its cell,
    never cut (openpyxl and Excel would silently keep the first 32,767 characters)."""
    for i, line in enumerate(block):
        for j, value in enumerate(line):
            if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
                raise OutputError(f"工作表“{sheet}”{address(row + i, col + j)} 的内容有 {len(value)} 个字符，超过 "
                                  f"Excel 单元格上限 {EXCEL_CELL_LIMIT}，未写入（请删减这段文字）")


def runs(rows: Iterable[int]) -> list[list[int]]:
    """Sorted row numbers split into runs of consecutive rows (one write per run)."""
    out: list[list[int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][-1] + 1:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def rectangles(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cells covered by few rectangles (first row, first column, last row, last column): runs down each
    column joined across, or runs along each row joined down, whichever needs fewer (a computed column is
    one run down; a total row one run along)."""
    cells = list(cells)
    down = _column_rectangles(cells)
    along = [(c1, r1, c2, r2) for r1, c1, r2, c2 in _column_rectangles([(c, r) for r, c in cells])]
    return down if len(down) <= len(along) else sorted(along)


def _column_rectangles(cells: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Each column's runs of rows, a run joined with the same run of the column to its left."""
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    open_: dict[tuple[int, int], list[int]] = {}  # (first row, last row) -> [first col, last col]
    out: list[tuple[int, int, int, int]] = []
    for c in sorted(by_col):
        spans = {(run[0], run[-1]) for run in runs(by_col[c])}
        for span, cols in list(open_.items()):
            if span not in spans or cols[1] != c - 1:
                out.append((span[0], cols[0], span[1], cols[1]))
                del open_[span]
        for span in spans:
            if span in open_:
                open_[span][1] = c
            else:
                open_[span] = [c, c]
    out += [(span[0], cols[0], span[1], cols[1]) for span, cols in open_.items()]
    return sorted(out)


def problem_rows(problems: Sequence[Problem], sheets: Iterable[str]) -> list[list[Any]]:
    """校验结果 rows; the cell is a HYPERLINK formula (one block write, works in Excel, WPS and LibreOffice)."""
    sheets = set(sheets)
    rows = []
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        cell: Any = p.cell
        if p.cell and p.sheet in sheets and p.cell[0].isalpha():
            cell = Formula(f"=HYPERLINK(\"#'{p.sheet}'!{p.cell}\",\"{p.cell}\")")
        rows.append([SEVERITY_ZH[p.severity], p.sheet, cell, p.department, p.rule, p.message])
    return rows or [["", "", "", "", "", "未发现问题。"]]


def percent_sensitive(grid: Grid, columns: Iterable[int]) -> list[tuple[int, int]]:
    """The cells whose reading a percent format changes: numbers outside 0…1 in ratio columns (the
    intake scales a fraction anyway, and reads "62.71%" text by its sign)."""
    columns = set(columns)
    return [(r, c) for r, line in enumerate(grid.rows, 1) for c, v in enumerate(line, 1)
            if c in columns and isinstance(v, (int, float)) and not isinstance(v, bool) and not 0 <= v <= 1]


def status_column_of(head: Sequence[Any]) -> int | None:
    """1-based column of the 状态 header (followed by 触发规则) in an annex's first header row, if any."""
    return next((i + 1 for i in range(len(head) - 1) if (head[i], head[i + 1]) == STATUS_HEADERS), None)


def change_header(col: Column, what: str) -> str:
    return f"上月{col.name}" if what == "previous" else f"{col.name}变化{'（百分点）' if col.type == 'ratio' else ''}"


class WorkbookPort:
    """Base of both implementations. Subclasses provide the primitives below; rows/columns are 1-based."""

    path: Path | None = None
    draws_charts = False  # whether write_overview can draw the 总览 charts here
    messages: list[str]
    progress_log: list[str]

    # -- primitives ------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        raise NotImplementedError

    def has_sheet(self, name: str) -> bool:
        return name in self.sheet_names()

    def values(self, sheet: str) -> list[list[Any]]:
        """The sheet's cells from A1 to the end of its used range, in one read."""
        raise NotImplementedError

    def merged(self, sheet: str, rows: list[list[Any]], header_rows: range) -> tuple[tuple[int, int, int, int], ...]:
        """Merged areas (first row, first column, last row, last column) the intake needs: those over blank
        cells of `header_rows` at least (both ports answer all of the sheet's)."""
        raise NotImplementedError

    def percent(self, sheet: str, cells: Iterable[tuple[int, int]]) -> frozenset:
        """Which of `cells` have a percent number format."""
        raise NotImplementedError

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        """One rectangular block of values at (row, col): strings as text, `Formula`s as formulas."""
        raise NotImplementedError

    def format(self, sheet: str, row: int, col: int, rows: int, cols: int, *, number_format: str | None = None,
               fill: str | None = None, bold: bool | None = None) -> None:
        """Number format, fill (RGB hex) and bold of a rectangular block, one call each."""
        raise NotImplementedError

    def format_boxes(self, sheet: str, boxes: Sequence[tuple[int, int, int, int]], *,
                     number_format: str | None = None, fill: str | None = None) -> None:
        """The same format on several blocks (first row, first column, last row, last column); the live
        book sets it once per few blocks (a multi-area range)."""
        for r1, c1, r2, c2 in boxes:
            self.format(sheet, r1, c1, r2 - r1 + 1, c2 - c1 + 1, number_format=number_format, fill=fill)

    def merge(self, sheet: str, row: int, col: int, last_row: int, last_col: int) -> None:
        raise NotImplementedError

    def colour_rows_by_status(self, sheet: str, first_row: int, last_row: int, last_col: int,
                              status_col: int) -> None:
        """Conditional formatting: a row takes its 状态's colour (COLOURS["红"/"黄"]), so an edit recolours it."""
        raise NotImplementedError

    def add_sheet(self, name: str) -> None:
        """A new sheet at the end (for 问题文本 / 校验结果 when a book lacks them)."""
        raise NotImplementedError

    def progress(self, text: str) -> None:
        raise NotImplementedError

    def message(self, text: str) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def busy(self) -> Any:
        """Around one button's step (the live book: no redrawing, manual calculation, restored after)."""
        yield

    def write_overview(self, overview: Any) -> bool:
        """The 总览 sheet with native charts. False where this port cannot draw charts (the live Excel
        workbook for now): the caller then points the user to `bulletin run` / `bulletin charts`."""
        return False

    # -- shared ----------------------------------------------------------------------------------------
    def read_grids(self) -> dict[str, Grid]:
        """The sheets the engine reads; formats and merges only for the annexes (nothing else uses them)."""
        grids = {}
        for sheet in READ_SHEETS:
            if self.has_sheet(sheet):
                grid = Grid(sheet, self.values(sheet))
                grid.uncalculated = self.uncalculated(sheet)
                self._as_read()[sheet] = grid.rows
                spec = ANNEX_BY_SHEET.get(sheet)
                if spec is not None:
                    head = header_rows(spec, grid)
                    own = status_column_of(grid.rows[head.start - 1]) if head else None
                    table = [line[:own - 1] for line in grid.rows] if own else grid.rows  # 状态… are the program's
                    grid.merged = self.merged(sheet, table, head)
                    grid.percent_cells = self.percent(sheet, percent_sensitive(grid, ratio_columns(spec, grid)))
                grids[sheet] = grid
        self._read = grids  # the 状态 staff left are read back from this same read (read_statuses)
        return grids

    def read_statuses(self, data: MonthData, rules: Any) -> dict[str, dict[str, str]]:
        """The 状态 staff set, as the book holds them (Excel, WPS, the console or a file): sheet -> department
        -> 红/黄/绿. A 状态 counts as staff's when it differs from what its row's 触发规则 proposes (the worst
        status of the rules named there; none = 绿) — so a re-run follows changed figures where staff left
        the proposal alone — or, in a sheet whose 触发规则 column is still empty (never run), whenever filled."""
        grids = getattr(self, "_read", None) or self.read_grids()
        by_name = {r.name: r for r in rules.rules}
        out: dict[str, dict[str, str]] = {}
        for sheet, inp in data.inputs.items():
            grid = grids.get(sheet)
            if grid is None or not inp.columns or len(grid.rows) < inp.header_start:
                continue
            col = status_column_of(grid.rows[inp.header_start - 1])
            if col is None:
                continue
            cells = {}
            for r in inp.records:
                if r["_kind"] != "department" or r["_row"] > len(grid.rows):
                    continue
                line = list(grid.rows[r["_row"] - 1]) + [None, None]
                cells[r["部门"]] = (str(line[col - 1] or "").strip(), str(line[col] or "").strip())
            never_run = not any(fired for _, fired in cells.values())
            for dept, (status, fired) in cells.items():
                if status not in ("红", "黄", "绿"):
                    continue
                proposed = worst(by_name[n].status for n in fired.split("、") if n in by_name)
                if never_run or status != proposed:
                    out.setdefault(sheet, {})[dept] = status
        return out

    def uncalculated(self, sheet: str) -> frozenset[tuple[int, int]]:
        """Formula cells without a computed value (a file saved by a program that does not calculate):
        none where the application calculates as it goes (Excel)."""
        return frozenset()

    def _write_cells(self, sheet: str, cells: Mapping[tuple[int, int], Any],
                     formats: Mapping[tuple[int, int], tuple[str | None, str | None]] | None = None) -> None:
        """Cells {(row, col): value} in as few rectangular writes as they allow, then each (number format,
        fill) on its cells in as few rectangles (a write or a format is one COM call in Excel)."""
        for r1, c1, r2, c2 in rectangles(cells):
            self.write(sheet, r1, c1, [[cells[(r, c)] for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)])
        groups: dict[tuple[str | None, str | None], list[tuple[int, int]]] = {}
        for cell, fmt in (formats or {}).items():
            if fmt != (None, None):
                groups.setdefault(fmt, []).append(cell)
        for (fmt, fill), group in sorted(groups.items(), key=lambda g: (str(g[0][0]), str(g[0][1]))):
            self.format_boxes(sheet, rectangles(group), number_format=fmt, fill=fill)

    def write_computed(self, data: MonthData) -> None:
        """Every computed column of department and reference rows, and every figure of the total rows
        (the engine's: each sum recomputed, each ratio from the summed parts)."""
        for sheet, inp in data.inputs.items():
            if not inp.columns:
                continue
            res = data.results[sheet]
            by_row = {r["_row"]: r for r in res.records}
            values: dict[int, Mapping[str, Any]] = {}
            totals: dict[int, Mapping[str, Any]] = {}
            for r in inp.records:
                if r["_kind"] in ("department", "reference"):
                    values[r["_row"]] = by_row[r["_row"]]
                elif r["_kind"] == "total" and res.total is not None:
                    totals[r["_row"]] = res.total
                elif r["_kind"] == "subtotal":
                    totals[r["_row"]] = res.subtotals.get(r["_section"], {})
            cells: dict[tuple[int, int], Any] = {}
            formats: dict[tuple[int, int], tuple[str | None, str | None]] = {}
            for col in inp.spec.value_columns:
                c = inp.columns.get(col.name)
                if c is None or not col.is_numeric:
                    continue
                fmt = (number_format(col), COLOURS["computed"] if col.role == "computed" else None)
                for r, v in {**(values if col.role == "computed" else {}), **totals}.items():
                    cells[(r, c)] = cell_value(col, v.get(col.name))
                    formats[(r, c)] = fmt
            self._write_cells(sheet, cells, formats)

    def _as_read(self) -> dict[str, list[list[Any]]]:
        """The sheets' rows as read_grids read them (this port is one step: its own writes are known)."""
        return self.__dict__.setdefault("_rows_read", {})

    def _status_column(self, sheet: str, inp: Any) -> int:
        """The 状态 column (followed by 触发规则): the template's own, else added right of the table; found
        from the rows already read, and remembered once added."""
        known: dict[str, int] = self.__dict__.setdefault("_status_columns", {})
        if sheet in known:
            return known[sheet]
        rows = self._as_read().get(sheet) or self.values(sheet)
        head = rows[inp.header_start - 1] if len(rows) >= inp.header_start else []
        found = status_column_of(head)
        if found is not None:
            known[sheet] = found
            return found
        status_col = max(len(head), max(inp.columns.values())) + 1
        self._extra_headers(sheet, inp, status_col, list(STATUS_HEADERS))
        last_row = max((r["_row"] for r in inp.records), default=inp.header_end + 1)
        self.colour_rows_by_status(sheet, inp.header_end + 1, last_row, status_col + 1, status_col)
        known[sheet] = status_col
        return status_col

    def _extra_headers(self, sheet: str, inp: Any, col: int, texts: list[str]) -> None:
        """Headers of columns the program adds beside a table, spanning the table's header rows (left as
        they are when an earlier run wrote them)."""
        depth = inp.header_end - inp.header_start + 1
        read = self._as_read().get(sheet) or []
        if len(read) >= inp.header_start and read[inp.header_start - 1][col - 1:col - 1 + len(texts)] == texts:
            return
        self.write(sheet, inp.header_start, col, [texts])
        if depth > 1:
            for i in range(len(texts)):
                self.merge(sheet, inp.header_start, col + i, inp.header_end, col + i)
        self.format(sheet, inp.header_start, col, depth, len(texts), fill=COLOURS["extra"], bold=True)

    def write_statuses(self, analysis: Any, rule_names: Mapping[str, str]) -> None:
        """状态 and 触发规则 (existing columns are reused), then 上月/变化 of each computed column."""
        comparison = analysis.comparison
        changes = {}
        for rec in comparison.records if comparison is not None else []:
            who = rec["department"] if rec["scope"] != "total" else DISTRICT
            changes[(rec["sheet"], who, rec["key"], rec["column"])] = rec
        for sheet, inp in analysis.data.inputs.items():
            if not inp.columns:
                continue
            spec = inp.spec
            status_col = self._status_column(sheet, inp)
            extra = [(col, what) for col in spec.computed_columns for what in ("previous", "change")] \
                if comparison is not None else []
            if extra:
                self._extra_headers(sheet, inp, status_col + 2, [change_header(col, what) for col, what in extra])
            statuses = analysis.assessment.statuses.get(sheet, {})
            status_rows: dict[int, list[Any]] = {}
            change_rows: dict[int, list[Any]] = {}
            for r in inp.records:
                if r["_kind"] not in ("department", "total"):
                    continue
                who = r["部门"] if r["_kind"] == "department" else DISTRICT
                key = "|".join(str(r.get(k.name)) for k in spec.key_columns) if who != DISTRICT else ""
                entry = statuses.get(who)
                status_rows[r["_row"]] = [entry.status.value if entry else None,
                                          "、".join(rule_names.get(i, i) for i in entry.rules) if entry else None]
                line: list[Any] = []
                for col, what in extra:
                    rec = changes.get((sheet, who, key, col.name))
                    v = None if rec is None else rec[what]
                    if what == "previous":
                        line.append(None if rec is None else cell_value(col, v))
                    else:
                        line.append(None if v is None or v != v else (round(float(v), 2) if col.type == "ratio" else v))
                change_rows[r["_row"]] = line
            fmts = [number_format(col) if what == "previous" else CHANGE_FORMATS[col.type == "ratio"]
                    for col, what in extra]
            cells = {(r, status_col + i): v for r, line in status_rows.items() for i, v in enumerate(line)}
            cells.update({(r, status_col + 2 + i): v for r, line in change_rows.items() for i, v in enumerate(line)})
            self._write_cells(sheet, cells, {(r, status_col + 2 + i): (fmt, None) for r in change_rows
                                             for i, fmt in enumerate(fmts)})

    def _replace_body(self, sheet: str, header: Sequence[str], body: list[list[Any]]) -> None:
        """Header and rows of a generated sheet; leftover rows of an earlier run are blanked (one block)."""
        if not self.has_sheet(sheet):
            self.add_sheet(sheet)
        old = self.values(sheet)
        width = max(len(header), max((len(r) for r in old), default=0))
        block = [list(header) + [None] * (width - len(header))]
        block += [list(r) + [None] * (width - len(r)) for r in body]
        block += [[None] * width for _ in range(max(0, len(old) - len(block)))]
        self.write(sheet, 1, 1, block)
        self.format(sheet, 1, 1, 1, len(header), fill=COLOURS["header"], bold=True)

    def write_table(self, sheet: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A generated sheet of plain rows (e.g. 报送情况): header and rows, what an earlier run left blanked."""
        self._replace_body(sheet, header, [list(r) for r in rows])

    def write_problems(self, problems: Sequence[Problem]) -> None:
        sheets = {p.sheet for p in problems if p.sheet and self.has_sheet(p.sheet)}
        self._replace_body(PROBLEM_SHEET, [PROBLEM_HEADERS[f] for f in PROBLEM_ORDER], problem_rows(problems, sheets))

    def read_text(self) -> dict[str, dict[str, str]]:
        """Paragraphs already in 问题文本 (staff edits in column D): id -> {text, generated}."""
        if not self.has_sheet(TEXT_SHEET_OUT):
            return {}
        return text_rows(self.values(TEXT_SHEET_OUT))

    def write_text(self, rows: Sequence[Mapping[str, str]]) -> None:
        self._replace_body(TEXT_SHEET_OUT, TEXT_HEADERS,
                           [[r["id"], r["section"], r["heading"], r["text"], r["generated_now"], r["generated"],
                             r["note"]] for r in rows])

    def set_status(self, action: str, result: str, output: str | None = None, history: str | None = None) -> None:
        """The 控制台 block: 上次操作, 时间, 结果, 输出文件, 历史库 (B5:B9, one write)."""
        if not self.has_sheet(CONSOLE_SHEET):
            return
        first = CONSOLE_ROWS["上次操作"]
        self.write(CONSOLE_SHEET, first, 2, [[action], [dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")],
                                              [result], [output or ""], [history or ""]])


__all__ = ["WorkbookPort", "Formula", "READ_SHEETS", "problem_rows", "runs", "status_column_of", "text_rows", "address", "column_letter"]
