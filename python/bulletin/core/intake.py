"""Intake: from a sheet's raw cells (a Grid, made by an adapter) to one typed row per table row.

Nothing here reads a file. Each parsed row keeps its sheet row number so every problem can name its
cell. Rows are classified as department rows, total/subtotal rows, reference rows (annex 5's city row)
and section lines (annex 8's 公共服务单位); blank lines are skipped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


from ..spec import TOTAL_LABELS, AnnexSpec, Column
from .numbers import EXCEL_CELL_LIMIT, BadNumber, clean_text, excerpt, is_blank, parse_number, visible, zero_width_in
from .problems import Messages, Problem
from .registry import Registry, UnknownDepartment

HEADER_SEARCH_ROWS = 20
META_COLUMNS = ("_row", "_kind", "_section", "_label", "部门", "_known")


@lru_cache(maxsize=None)  # asked for every cell read (the cell each figure came from): a few dozen columns
def column_letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@lru_cache(maxsize=65536)
def address(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


@dataclass
class Grid:
    """A sheet's cells as read: rows[0] is sheet row 1, rows[r-1][c-1] is the cell at (r, c)."""

    sheet: str
    rows: list[list[Any]]
    percent_cells: frozenset[tuple[int, int]] = frozenset()
    merged: tuple[tuple[int, int, int, int], ...] = ()  # (min_row, min_col, max_row, max_col)
    positional: bool = False  # header text unreliable (text extracted from a PDF): map by position
    uncalculated: frozenset[tuple[int, int]] = frozenset()  # formula cells saved without a computed value

    def value(self, row: int, col: int) -> Any:
        if 1 <= row <= len(self.rows) and 1 <= col <= len(self.rows[row - 1]):
            return self.rows[row - 1][col - 1]
        return None

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


@dataclass
class AnnexInput:
    """An annex as read from its sheet: printed values per row, with the cell of each."""

    spec: AnnexSpec
    records: list[dict[str, Any]]  # META_COLUMNS + one key per spec value column (printed values)
    columns: dict[str, int]  # spec column name -> sheet column number
    header_start: int
    header_end: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def sheet(self) -> str:
        return self.spec.sheet

    def cell(self, row: int, column: str) -> str:
        col = self.columns.get(column)
        return address(row, col) if col else f"第{row}行"


@dataclass(frozen=True)
class IntakeContext:
    """What reading a sheet needs besides its cells: the registry, messages and names."""

    registry: Registry
    messages: Messages
    district: str
    reference_names: dict[str, str]  # settings key -> row label, e.g. {"city": "安阳市"}


def _find_header(spec: AnnexSpec, grid: Grid) -> int | None:
    target = clean_text(spec.name_column.header[0])
    for r in range(1, min(len(grid.rows), HEADER_SEARCH_ROWS) + 1):
        if any(clean_text(v) == target for v in grid.rows[r - 1]):
            return r
    return None


def header_rows(spec: AnnexSpec, grid: Grid) -> range:
    """The rows of the annex's printed header in the grid (empty when its header is not found)."""
    start = _find_header(spec, grid)
    return range(start, start + spec.header_rows) if start else range(0)


def ratio_columns(spec: AnnexSpec, grid: Grid) -> set[int]:
    """Sheet columns of the annex's ratio columns (where a percent number format changes a reading)."""
    start = _find_header(spec, grid)
    columns = _map_columns(spec, grid, start) if start else {}
    return {columns[c.name] for c in spec.columns if c.type == "ratio" and c.name in columns}


def _header_paths(grid: Grid, start: int, depth: int) -> dict[int, tuple[str, ...]]:
    block = {(r, c): grid.value(r, c) for r in range(start, start + depth) for c in range(1, grid.width + 1)}
    for (r0, c0, r1, c1) in grid.merged:  # a merged header cell speaks for every cell it covers
        top_left = grid.value(r0, c0)
        for r in range(max(r0, start), min(r1, start + depth - 1) + 1):
            for c in range(c0, c1 + 1):
                block[(r, c)] = top_left
    # Unmerged, as copied from a Word table: a group heading (子项数, 行政检查) stands in its first cell only.
    # A blank cell of an upper header row, over a column with sub-headings, belongs to the group on its left
    # when that group has sub-headings too.
    def has_below(r: int, c: int) -> bool:
        return any(clean_text(block[(rr, c)]) for rr in range(r + 1, start + depth))

    for r in range(start, start + depth - 1):
        for c in range(2, grid.width + 1):
            if not clean_text(block[(r, c)]) and has_below(r, c) and clean_text(block[(r, c - 1)]) \
                    and has_below(r, c - 1):
                block[(r, c)] = block[(r, c - 1)]
    paths = {}
    for c in range(1, grid.width + 1):
        path: list[str] = []
        for r in range(start, start + depth):
            text = clean_text(block[(r, c)])
            if text and (not path or path[-1] != text):
                path.append(text)
        paths[c] = tuple(path)
    return paths


def _map_columns(spec: AnnexSpec, grid: Grid, start: int) -> dict[str, int]:
    if grid.positional:
        printed = [c for c in spec.columns if c.printed]
        return {c.name: i + 1 for i, c in enumerate(printed) if i + 1 <= grid.width}
    paths = _header_paths(grid, start, spec.header_rows)
    by_path = {}
    for c, path in paths.items():
        by_path.setdefault(path, c)
    mapping = {}
    for col in spec.columns:
        want = tuple(clean_text(h) for h in col.header)
        if want in by_path:
            mapping[col.name] = by_path[want]
    return mapping


def _shown(raw: Any) -> str:
    return excerpt(visible(raw).strip()) if isinstance(raw, str) else f"{raw:g}" if isinstance(raw, float) else str(raw)


def unknown_department(ctx: IntakeContext, sheet: str, cell: str, label: str, annexes: tuple[int, ...]) -> Problem:
    """department.unknown with the one row that fixes it, its values guessed from the name as written and
    the annexes it was found in; a unit retired in the 部门 sheet is told so instead."""
    registry, msg, shown = ctx.registry, ctx.messages, excerpt(visible(label))
    retired = registry.retired_as(label)
    if retired is not None:
        return msg.problem("department.retired", sheet, cell, label, name=shown, unit=retired.name)
    unit = excerpt(registry._key(label)) or shown
    full = shown if clean_text(label).startswith(clean_text(ctx.district)) else f"{ctx.district}{unit}"
    near = registry.nearest(label)
    nearest = ""
    if near:
        owner = registry.resolve(near[0])
        nearest = (f"名录中相近的名称：{'、'.join(near)}。若它是“{owner}”的另一种写法，请在“部门”表新增一行："
                   f"部门={owner}，别名={shown}。")
    return msg.problem("department.unknown", sheet, cell, label, name=shown, nearest=nearest, unit=unit, short=unit,
                       full=full, annex=",".join(map(str, annexes)))


def _parse_cell(col: Column, raw: Any, percent_format: bool) -> tuple[Any, str | None, str]:
    """-> (value, rule of the problem or None, value as shown). Each column kind accepts only its own
    values: counts non-negative integers (no "%"), ratios 0–100 %, every figure within the column's bound."""
    if col.type == "text":
        if is_blank(raw):
            return None, None, ""
        text = str(raw).strip()
        if len(text) > EXCEL_CELL_LIMIT:
            return None, "value.too_long", str(len(text))
        return text, None, ""
    if col.type != "ratio" and isinstance(raw, str) and clean_text(raw).endswith("%"):
        return None, "value.percent_not_allowed", _shown(raw)
    try:
        value = parse_number(raw, percent=col.type == "ratio", percent_format=percent_format)
    except BadNumber as bad:
        return None, bad.rule, bad.shown
    if value is None:
        return None, None, ""
    if not math.isfinite(value) or (col.max is not None and abs(value) > col.max):
        if col.type == "ratio" and percent_format and isinstance(raw, (int, float)) and math.isfinite(value):
            return None, "value.percent_format", f"{raw:g}（显示为 {raw * 100:g}%）"  # 62.71 typed into a %-formatted cell: 6271%
        return None, "value.too_large" if col.type != "ratio" else "value.ratio_range", _shown(raw)
    if value < 0:
        return value, "value.negative", f"{value:g}"
    if col.type == "count" and value != int(value):
        return value, "value.not_integer", f"{value:g}"
    return value, None, ""


def read_annex(spec: AnnexSpec, grid: Grid, ctx: IntakeContext) -> AnnexInput:
    msg = ctx.messages
    problems: list[Problem] = []
    start = _find_header(spec, grid)
    empty: list[dict[str, Any]] = []
    if start is None:
        problems.append(msg.problem("header.missing", spec.sheet, "A1", column=spec.name_column.name))
        return AnnexInput(spec, empty, {}, 0, 0, problems)
    header_end = start + spec.header_rows - 1
    columns = _map_columns(spec, grid, start)
    for col in spec.columns:
        if col.name not in columns and col.printed and col.role in ("name", "input", "key") and (
                col.required or col.role != "input"):
            problems.append(msg.problem("header.missing", spec.sheet, address(start, 1), column=col.name))
    if spec.name_column.name not in columns:
        return AnnexInput(spec, empty, columns, start, header_end, problems)

    name_col = columns[spec.name_column.name]
    index_col = columns.get(spec.index_column.name) if spec.index_column else None
    district = clean_text(ctx.district)
    references = {clean_text(v): k for k, v in ctx.reference_names.items() if k in spec.reference_rows}
    sections = [clean_text(s) for s in spec.sections]
    section = spec.sections[0] if spec.sections else ""
    subtotal = clean_text(spec.subtotal_label) if spec.subtotal_label else None
    last_department: tuple[str, str, bool] | None = None  # (canonical, label, known) for fill-down
    records = []

    for r in range(header_end + 1, len(grid.rows) + 1):
        raw = grid.rows[r - 1]
        filled = [v for v in raw if not is_blank(v)]
        if not filled:
            continue
        label_raw = grid.value(r, name_col)
        label = clean_text(label_raw)
        index_text = clean_text(grid.value(r, index_col)) if index_col else ""
        if len(filled) == 1 and clean_text(filled[0]) in sections:
            section = spec.sections[sections.index(clean_text(filled[0]))]
            continue
        marker = label if label in (*TOTAL_LABELS, district) else (
            index_text if index_text in TOTAL_LABELS else "")
        record: dict[str, Any] = {"_row": r, "_section": section, "_label": str(label_raw or "").strip(),
                                  "部门": None, "_known": True}
        if marker:
            record["_kind"] = "subtotal" if subtotal and marker == subtotal else "total"
            record["_label"] = record["_label"] or marker
        elif label in references:
            record["_kind"] = "reference"
            record["部门"] = references[label]
        else:
            record["_kind"] = "department"
            if not label and spec.fill_down_name and last_department:
                record["部门"], record["_label"], record["_known"] = last_department
            elif not label:
                problems.append(msg.problem("department.missing_name", spec.sheet, address(r, name_col)))
                record["_known"] = False
            elif len(str(label_raw)) > EXCEL_CELL_LIMIT:
                record["部门"], record["_label"], record["_known"] = excerpt(label), excerpt(label), False
                problems.append(msg.problem("value.too_long", spec.sheet, address(r, name_col), record["部门"],
                                            column=spec.name_column.name, value=str(len(str(label_raw))),
                                            limit=EXCEL_CELL_LIMIT))
            else:
                try:
                    record["部门"] = ctx.registry.resolve(label)
                except UnknownDepartment:
                    record["部门"], record["_known"] = label, False
                    problems.append(unknown_department(ctx, spec.sheet, address(r, name_col), record["_label"],
                                                       (spec.number,)))
                chars = zero_width_in(label_raw)
                if chars:
                    problems.append(msg.problem("value.zero_width", spec.sheet, address(r, name_col), record["部门"],
                                                column=spec.name_column.name, value=excerpt(visible(label_raw)),
                                                chars=chars))
                last_department = (record["部门"], record["_label"], record["_known"])
        dept = record["部门"] if record["_kind"] == "department" else ""
        for col in spec.value_columns:
            c = columns.get(col.name)
            raw_value = grid.value(r, c) if c else None
            value, rule, shown = _parse_cell(col, raw_value, (r, c) in grid.percent_cells)
            record[col.name] = value
            if col.role == "computed":
                continue  # a printed computed value is only compared; the recomputed one replaces it
            where = address(r, c) if c else f"第{r}行"
            if rule:
                limit = EXCEL_CELL_LIMIT if rule == "value.too_long" else f"{col.max:g}" if col.max else ""
                problems.append(msg.problem(rule, spec.sheet, where, dept, column=col.name, value=shown,
                                            limit=limit))
            elif value is not None and isinstance(raw_value, str) and zero_width_in(raw_value):
                problems.append(msg.problem("value.zero_width", spec.sheet, where, dept, column=col.name,
                                            value=excerpt(visible(raw_value)), chars=zero_width_in(raw_value)))
            elif value is None and c and (r, c) in grid.uncalculated:
                problems.append(msg.problem("value.uncalculated", spec.sheet, where, dept, column=col.name))
            elif value is None and col.required and record["_kind"] in ("department", "reference") and c:
                problems.append(msg.problem("value.missing", spec.sheet, where, dept, column=col.name))
        records.append(record)

    return AnnexInput(spec, records, columns, start, header_end, problems)
