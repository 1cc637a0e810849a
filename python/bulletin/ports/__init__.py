"""The workbook port: what the actions need from a workbook, whether a file (openpyxl) or the live book in
Excel (xlwings). Read a table, write computed columns, write statuses, write text and problems, report
progress, show a message.

Everything above the four primitives (`sheet_names`, `values`, `write`, `extra`) is written once here, so
both implementations share it and CI runs it. Rules kept by every implementation:
- one block read per sheet and one block write per contiguous block (cell loops are 100× slower in Excel);
- input cells are never written: only computed columns, the 状态/触发规则/上月/变化 columns right of a table,
  and the generated sheets (问题文本, 校验结果) and the 控制台 status cells.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..adapters.workbook_layout import CONSOLE_ROWS, CONSOLE_SHEET
from ..adapters.xlsx_output import STATUS_HEADERS, TEXT_HEADERS, TEXT_SHEET_OUT, cell_value
from ..core.intake import Grid, address, column_letter
from ..core.month import MonthData
from ..core.problems import PROBLEM_HEADERS, SEVERITY_ZH, Problem
from ..spec import ANNEXES, DEPT_SHEET, PARAM_SHEET, PROBLEM_SHEET, SCALAR_SHEET, TEXT_SHEET

READ_SHEETS = (SCALAR_SHEET, TEXT_SHEET, PARAM_SHEET, DEPT_SHEET, *(a.sheet for a in ANNEXES))
PROBLEM_ORDER = ("severity", "sheet", "cell", "department", "rule", "message")


def runs(rows: Iterable[int]) -> list[list[int]]:
    """Sorted row numbers split into runs of consecutive rows (one write per run)."""
    out: list[list[int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][-1] + 1:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def problem_rows(problems: Sequence[Problem], sheets: Iterable[str]) -> list[list[Any]]:
    """校验结果 rows; the cell is a HYPERLINK formula (one block write, works in Excel, WPS and LibreOffice)."""
    sheets = set(sheets)
    rows = []
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        cell: Any = p.cell
        if p.cell and p.sheet in sheets and p.cell[0].isalpha():
            cell = f"=HYPERLINK(\"#'{p.sheet}'!{p.cell}\",\"{p.cell}\")"
        rows.append([SEVERITY_ZH[p.severity], p.sheet, cell, p.department, p.rule, p.message])
    return rows or [["", "", "", "", "", "未发现问题。"]]


def status_column_of(head: Sequence[Any]) -> int | None:
    """1-based column of the 状态 header (followed by 触发规则) in an annex's first header row, if any."""
    return next((i + 1 for i in range(len(head) - 1) if (head[i], head[i + 1]) == STATUS_HEADERS), None)


class WorkbookPort:
    """Base of both implementations. Subclasses provide the primitives below; rows/columns are 1-based."""

    path: Path | None = None
    messages: list[str]
    progress_log: list[str]

    # -- primitives ------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        raise NotImplementedError

    def values(self, sheet: str) -> list[list[Any]]:
        """The sheet's cells from A1 to the end of its used range, in one read."""
        raise NotImplementedError

    def extra(self, sheet: str, rows: list[list[Any]]) -> tuple[frozenset, tuple]:
        """(percent-formatted cells, merged ranges) the intake needs besides the values."""
        raise NotImplementedError

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[Any]]) -> None:
        """One rectangular block of values (formulas start with "=") at (row, col)."""
        raise NotImplementedError

    def add_sheet(self, name: str) -> None:
        """A new sheet at the end (for 问题文本 / 校验结果 when a book lacks them)."""
        raise NotImplementedError

    def progress(self, text: str) -> None:
        raise NotImplementedError

    def message(self, text: str) -> None:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------
    def read_grids(self) -> dict[str, Grid]:
        grids = {}
        names = set(self.sheet_names())
        for sheet in READ_SHEETS:
            if sheet in names:
                rows = self.values(sheet)
                percent, merged = self.extra(sheet, rows)
                grids[sheet] = Grid(sheet, rows, percent, merged)
        return grids

    def read_table(self, sheet: str, header_row: int = 1) -> pd.DataFrame:
        """A sheet's block below its header row as a DataFrame (one read)."""
        rows = self.values(sheet)
        header = [str(h) if h is not None else f"列{i + 1}" for i, h in enumerate(rows[header_row - 1])]
        body = [r for r in rows[header_row:] if any(v is not None for v in r)]
        return pd.DataFrame(body, columns=header)

    def write_computed(self, data: MonthData) -> None:
        """Recomputed values of every computed column, department, reference and total rows."""
        for sheet, inp in data.inputs.items():
            if not inp.columns:
                continue
            res = data.results[sheet]
            by_row = {r["_row"]: r for r in res.records}
            values: dict[int, dict[str, Any]] = {}
            for r in inp.records:
                if r["_kind"] in ("department", "reference"):
                    values[r["_row"]] = by_row[r["_row"]]
                elif r["_kind"] == "total" and res.total is not None:
                    values[r["_row"]] = res.total
                elif r["_kind"] == "subtotal":
                    values[r["_row"]] = res.subtotals.get(r["_section"], {})
            for col in inp.spec.computed_columns:
                c = inp.columns.get(col.name)
                if c is None:
                    continue
                for run in runs(values):
                    self.write(sheet, run[0], c, [[cell_value(col, values[r].get(col.name))] for r in run])

    def write_statuses(self, analysis: Any, rule_names: Mapping[str, str]) -> None:
        """状态 and 触发规则 (existing columns are reused), then 上月/变化 of each computed column."""
        from ..core.compare import DISTRICT

        comparison = analysis.comparison
        changes = {}
        for rec in comparison.records if comparison is not None else []:
            who = rec["department"] if rec["scope"] != "total" else DISTRICT
            changes[(rec["sheet"], who, rec["key"], rec["column"])] = rec
        for sheet, inp in analysis.data.inputs.items():
            if not inp.columns:
                continue
            spec, rows = inp.spec, self.values(sheet)
            head = rows[inp.header_start - 1] if len(rows) >= inp.header_start else []
            status_col = status_column_of(head)
            if status_col is None:
                status_col = max(len(head), max(inp.columns.values())) + 1
                self.write(sheet, inp.header_start, status_col, [list(STATUS_HEADERS)])
            extra = [(col, what) for col in spec.computed_columns for what in ("previous", "change")] \
                if comparison is not None else []
            if extra:
                self.write(sheet, inp.header_start, status_col + 2,
                           [[f"上月{col.name}" if what == "previous" else
                             f"{col.name}变化{'（百分点）' if col.type == 'ratio' else ''}" for col, what in extra]])
            statuses = analysis.assessment.statuses.get(sheet, {})
            out: dict[int, list[Any]] = {}
            for r in inp.records:
                if r["_kind"] not in ("department", "total"):
                    continue
                who = r["部门"] if r["_kind"] == "department" else DISTRICT
                key = "|".join(str(r.get(k.name)) for k in spec.key_columns) if who != DISTRICT else ""
                entry = statuses.get(who)
                line: list[Any] = [entry["status"] if entry else None,
                                   "、".join(rule_names.get(i, i) for i in entry["rules"]) if entry else None]
                for col, what in extra:
                    rec = changes.get((sheet, who, key, col.name))
                    v = None if rec is None else rec[what]
                    if what == "previous":
                        line.append(None if rec is None else cell_value(col, v))
                    else:
                        line.append(None if v is None or v != v else (round(float(v), 2) if col.type == "ratio" else v))
                out[r["_row"]] = line
            for run in runs(out):
                self.write(sheet, run[0], status_col, [out[r] for r in run])

    def _replace_body(self, sheet: str, header: Sequence[str], body: list[list[Any]]) -> None:
        """Header and rows of a generated sheet; leftover rows of an earlier run are blanked (one block)."""
        if sheet not in self.sheet_names():
            self.add_sheet(sheet)
        old = self.values(sheet)
        width = max(len(header), max((len(r) for r in old), default=0))
        block = [list(header) + [None] * (width - len(header))]
        block += [list(r) + [None] * (width - len(r)) for r in body]
        block += [[None] * width for _ in range(max(0, len(old) - len(block)))]
        self.write(sheet, 1, 1, block)

    def write_problems(self, problems: Sequence[Problem]) -> None:
        self._replace_body(PROBLEM_SHEET, [PROBLEM_HEADERS[f] for f in PROBLEM_ORDER],
                           problem_rows(problems, self.sheet_names()))

    def read_text(self) -> dict[str, dict[str, str]]:
        """Paragraphs already in 问题文本 (staff edits in column D): id -> {text, generated}."""
        if TEXT_SHEET_OUT not in self.sheet_names():
            return {}
        out = {}
        for row in self.values(TEXT_SHEET_OUT)[1:]:
            row = list(row) + [None] * (7 - len(row))
            if row[0]:
                out[str(row[0])] = {"text": str(row[3] or ""), "generated": str(row[5] or "")}
        return out

    def write_text(self, rows: Sequence[Mapping[str, str]]) -> None:
        self._replace_body(TEXT_SHEET_OUT, TEXT_HEADERS,
                           [[r["id"], r["section"], r["heading"], r["text"], r["generated_now"], r["generated"],
                             r["note"]] for r in rows])

    def set_status(self, action: str, result: str, output: str | None = None, history: str | None = None) -> None:
        """The 控制台 block: 上次操作, 时间, 结果, 输出文件, 历史库 (B5:B9, one write)."""
        if CONSOLE_SHEET not in self.sheet_names():
            return
        first = CONSOLE_ROWS["上次操作"]
        self.write(CONSOLE_SHEET, first, 2, [[action], [dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")],
                                              [result], [output or ""], [history or ""]])

    def write_overview(self, analysis: Any, past: Mapping[str, Any]) -> bool:
        """The 总览 sheet with native charts. False where this port cannot draw charts (the live Excel
        workbook for now): the caller then points the user to `bulletin run` / `bulletin charts`."""
        return False

    def where(self, p: Problem) -> str:
        return p.where


__all__ = ["WorkbookPort", "READ_SHEETS", "problem_rows", "runs", "status_column_of", "address", "column_letter"]
