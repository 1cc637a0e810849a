"""The workbook's 部门 sheet: rows laid over the office registry, merged by 部门.

A row whose 部门 is a listed unit changes only the columns it fills (a blank cell keeps the office's value; a
filled 别名, 邮箱 or 附件 replaces that list); a row with a new 部门 adds a unit (简称, 全称 and 附件 filled);
停用 = 是 retires a unit for this workbook and the months carried from it. Every problem is gathered in one pass
and names its cell. `carried_rows` is the other half: what a later month's 部门 sheet starts with, so a unit
added once stays while the office registry keeps every column no workbook set.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..spec import DEPT_SHEET
from .intake import Grid, address
from .numbers import EXCEL_CELL_LIMIT, ZERO_WIDTH, clean_text, excerpt, is_blank, visible, zero_width_in
from .problems import Messages, Problem
from .registry import (NO, REGISTRY_COLUMNS, REGISTRY_OPTIONAL, SET_KEY, YES, Department, Registry, parse_annexes,
                       parse_carried, row_of, split_emails, split_list)

COLUMNS = (*REGISTRY_COLUMNS, *REGISTRY_OPTIONAL)
NEW_UNIT_REQUIRED = ("简称", "全称", "附件")
LIST_COLUMNS = ("别名", "邮箱", "附件")  # replaced as a whole when filled
YES_NO = ("应进驻大厅", "停用")
NOTE_START = "本表"  # the layout's note beside the header (workbook_layout.DEPT_NOTE), not a column


@dataclass(frozen=True)
class _Row:
    number: int  # sheet row
    values: dict[str, str]  # column -> text as filled (blank columns left out)
    cells: dict[str, str]  # column -> cell address


def _text(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return "" if is_blank(value) else str(value).strip()


def read_rows(grid: Grid | None, msg: Messages) -> tuple[list[_Row], list[Problem]]:
    """The sheet's filled rows. Columns are the header cells of row 1 up to the first blank one (a note may
    stand after the gap); an unknown column is a warning, a cell over Excel's limit an error."""
    if grid is None or not grid.rows:
        return [], []
    problems: list[Problem] = []
    header: dict[int, str] = {}
    for c, h in enumerate(grid.rows[0], start=1):
        name = clean_text(h)
        if not name or name.startswith(NOTE_START):
            break
        if name in COLUMNS:
            header[c] = name
        else:
            problems.append(msg.problem("department.unknown_column", DEPT_SHEET, address(1, c),
                                        column=excerpt(visible(h)), known="、".join(COLUMNS)))
    rows = []
    for r in range(2, len(grid.rows) + 1):
        values, cells = {}, {}
        for c, column in header.items():
            raw = grid.value(r, c)
            text = _text(raw)
            if not text:
                continue
            cells[column] = address(r, c)
            if len(text) > EXCEL_CELL_LIMIT:
                problems.append(msg.problem("value.too_long", DEPT_SHEET, cells[column], column=column,
                                            value=str(len(text)), limit=EXCEL_CELL_LIMIT))
                continue
            chars = zero_width_in(raw)
            if chars:
                problems.append(msg.problem("value.zero_width", DEPT_SHEET, cells[column], column=column,
                                            value=excerpt(visible(text)), chars=chars))
                text = text.translate(dict.fromkeys(map(ord, ZERO_WIDTH))).strip()
            values[column] = text
        if values:
            rows.append(_Row(r, values, cells))
    return rows, problems


def _field(d: Department, column: str, text: str) -> dict[str, Any]:
    """The Department fields one filled column sets; ValueError(what it should be) when it cannot."""
    simple = {"简称": "short", "全称": "full", "类别": "category", "拼音": "pinyin"}
    if column in simple:
        return {simple[column]: text}
    if column == "别名":
        return {"aliases": split_list(text)}
    if column == "应进驻大厅":
        return {"hall": text in YES}
    if column == "附件":
        try:
            return {"annexes": parse_annexes(text, d.name)}
        except ValueError:
            raise ValueError("应为附件编号 1–8，多个用逗号隔开，如 1,2,3") from None
    if column == "邮箱":
        emails = split_emails(text)
        if any("@" not in e or any(ch.isspace() for ch in e) for e in emails):
            raise ValueError("应为邮箱地址，多个用分号隔开")
        return {"emails": emails}
    if column == "既往连续":
        try:
            return {"carried": parse_carried(text, d.name)}
        except ValueError:
            raise ValueError("应写成“规则名称 截至2023-05 连续5个月”，多条用分号隔开") from None
    return {}


def overlay(base: Registry, grid: Grid | None, msg: Messages) -> tuple[Registry, list[Problem]]:
    """The office registry with this workbook's 部门 rows laid over it, and every problem of those rows."""
    rows, problems = read_rows(grid, msg)
    if not rows:
        return base, problems
    merged: dict[str, Department] = {d.name: d for d in base.departments}
    retired = {d.name: d for d in base.retired}
    where: dict[str, _Row] = {}  # unit -> the row that set it
    for row in rows:
        name = row.values.get("部门")
        if not name:
            problems.append(msg.problem("department.missing_name", DEPT_SHEET,
                                        address(row.number, _column_of(grid, "部门"))))
            continue
        key = base._key(name)
        # any spelling of a listed unit names it (殷都区人力资源和社会保障局 is 人社局), a retired one by its 部门
        name = base._lookup.get(key) or next((n for n in retired if base._key(n) == key), name)
        if name in where:
            problems.append(msg.problem("department.duplicate", DEPT_SHEET, row.cells["部门"], name, name=name,
                                        first_row=where[name].number))
            continue
        where[name] = row
        retire = row.values.get("停用", "")
        for column in YES_NO:
            value = row.values.get(column, "")
            if value and value not in (*YES, *NO):
                problems.append(msg.problem("department.invalid", DEPT_SHEET, row.cells[column], name, name=name,
                                            column=column, value=excerpt(value), expected="填“是”或“否”，或留空"))
        if retire in YES:
            if name in merged:
                retired[name] = dataclasses.replace(merged.pop(name), set_fields=("停用",))
            elif name not in retired:
                problems.append(msg.problem("department.retire_unknown", DEPT_SHEET, row.cells["停用"], name,
                                            name=name))
            continue
        unit = merged.get(name) or retired.pop(name, None)  # a retired unit named again (停用 blank) is back
        if unit is None:  # a new unit
            missing = [c for c in NEW_UNIT_REQUIRED if c not in row.values]
            for column in missing:
                problems.append(msg.problem("department.incomplete", DEPT_SHEET, address(row.number, _column_of(
                    grid, column)), name, name=name, column=column))
            if missing:
                continue
            unit = Department(name, name, name, (), "", len(base.departments) + len(base.retired) + row.number)
        changes: dict[str, Any] = {}
        for column, text in row.values.items():
            if column in ("部门", "停用"):
                continue
            try:
                changes.update(_field(unit, column, text))
            except ValueError as exc:
                problems.append(msg.problem("department.invalid", DEPT_SHEET, row.cells[column], name, name=name,
                                            column=column, value=excerpt(text), expected=str(exc)))
        set_fields = tuple(c for c in COLUMNS if c in row.values and c != "部门")
        merged[name] = dataclasses.replace(unit, set_fields=set_fields, **changes)
    units, clash_problems = _without_clashes(list(merged.values()), base, where, msg)
    return Registry(tuple(units), base.prefixes, tuple(retired.values())), problems + clash_problems


def _column_of(grid: Grid | None, column: str) -> int:
    header = [clean_text(h) for h in (grid.rows[0] if grid and grid.rows else [])]
    return header.index(column) + 1 if column in header else 1


def _without_clashes(units: list[Department], base: Registry, where: Mapping[str, _Row], msg: Messages
                     ) -> tuple[list[Department], list[Problem]]:
    """A spelling (部门, 简称, 全称 or 别名) may name one unit only: a spelling the sheet gave a second unit is an
    error naming both cells, and is taken off the sheet's unit so the rest of the month can still be read."""
    entries = []  # (set by the sheet, row, unit, column, spelling, cell)
    for d in units:
        row = where.get(d.name)
        for column, spelling in (("部门", d.name), ("简称", d.short), ("全称", d.full), *(("别名", a) for a in d.aliases)):
            by_sheet = row is not None and column in row.values
            entries.append((by_sheet, row.number if by_sheet else 0, d.name, column, spelling,
                            row.cells[column] if by_sheet else "部门名录"))
    owner: dict[str, tuple[str, str]] = {}  # key -> (unit, cell)
    dropped: dict[str, set[str]] = {}
    problems: list[Problem] = []
    for by_sheet, _, unit, column, spelling, cell in sorted(entries, key=lambda e: e[:2]):  # the office's first
        key = base._key(spelling)
        first = owner.setdefault(key, (unit, cell)) if key else (unit, cell)
        if first[0] != unit:
            problems.append(msg.problem("department.name_clash", DEPT_SHEET, cell, unit, spelling=spelling,
                                        first=first[0], first_cell=first[1], second=unit, second_cell=cell))
            dropped.setdefault(unit, set()).add(spelling if column == "别名" else column)
    out = []
    for d in units:
        gone = dropped.get(d.name, set())
        if "部门" in gone:  # a new unit whose very name is another's: left out, its rows stay unknown
            continue
        out.append(dataclasses.replace(d, aliases=tuple(a for a in d.aliases if a not in gone),
                                       short=d.name if "简称" in gone else d.short,
                                       full=d.name if "全称" in gone else d.full) if gone else d)
    return out, problems


def department_grid(rows: Iterable[Mapping[str, str]]) -> Grid:
    """Rows of text as the 部门 sheet would hold them (a header row of every column first)."""
    return Grid(DEPT_SHEET, [list(COLUMNS), *([row.get(c) or None for c in COLUMNS] for row in rows)])


def carried_rows(stored: Iterable[Mapping[str, str]], office: Registry) -> list[dict[str, str]]:
    """The 部门 rows a later month's workbook starts with: what earlier workbooks set, less what the office
    registry now says itself (a field IT has since put into departments.csv is no longer repeated). Rows
    stored before the sheet was an overlay (no SET_KEY) are compared with the office registry instead."""
    stored = [dict(r) for r in stored]
    office_rows = {r["部门"]: r for r in office.rows()}
    out = []
    if not any(SET_KEY in r for r in stored):  # an older history: every row the workbook listed
        names = {r.get("部门") for r in stored}
        for r in stored:
            mine = office_rows.get(r.get("部门", ""))
            columns = COLUMNS[1:] if mine is None else [c for c in COLUMNS[1:] if r.get(c, "") != mine.get(c, "")]
            row = {"部门": r["部门"], **{c: r.get(c, "") for c in columns if r.get(c, "") or mine is not None}}
            if len(row) > 1:
                out.append(row)
        out += [{"部门": n, "停用": "是"} for n in office_rows if stored and n not in names]
        return out
    for r in stored:
        mine = office_rows.get(r["部门"])
        columns = [c for c in str(r.get(SET_KEY, "")).split("、") if c]
        if r.get("停用") in YES:
            columns = ["停用"] if mine is not None else []
        elif mine is not None:
            columns = [c for c in columns if r.get(c, "") != mine.get(c, "")]
        if columns:
            out.append({"部门": r["部门"], **{c: r.get(c, "") for c in columns}})
    return out


__all__ = ["COLUMNS", "carried_rows", "department_grid", "overlay", "read_rows", "row_of"]
