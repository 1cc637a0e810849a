"""The printed table: one annex as the bulletin prints it, built once and drawn by every renderer.

`build_table` turns the spec and the recomputed AnnexResult (with, where known, the statuses and last
month's changes) into a frozen PrintedTable: the merged header layout, the printed columns and the rows
in printed order — reference rows, the total at the top or bottom as the spec puts it, departments
numbered 1…n in the spec's order, section lines and their subtotals (annex 8), annex 3's name cells
merged down. Each row carries its values (for renderers that keep numbers) and its printed strings (for
Word). The Word annexes, the mail extracts and the workbook's header are drawn from it: one built
table, many renderers. Pure: nothing here knows about Word or Excel.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

from ..spec import AnnexSpec, Column
from .compare import DISTRICT
from .month import MonthData
from .numbers import present
from .recompute import AnnexResult
from .rules import RowStatus, Status


class RowKind(str, Enum):
    DEPARTMENT = "department"
    TOTAL = "total"  # 合计/总计 or the district row
    SUBTOTAL = "subtotal"  # a section's 小计 (annex 8)
    REFERENCE = "reference"  # a row printed for comparison only (annex 5's 安阳市)
    SECTION = "section"  # a section line across the table (annex 8's 公共服务单位)


class Merge(str, Enum):
    """Annex 3's department cell: the first row of a group starts a vertical merge, the others continue it."""

    NONE = ""
    RESTART = "restart"
    CONTINUE = "continue"


@dataclass(frozen=True)
class HeaderCell:
    """One header cell: 0-based first row and column, and how many rows and columns it spans."""

    row: int
    col: int
    text: str
    rows: int = 1
    cols: int = 1

    @property
    def last_row(self) -> int:
        return self.row + self.rows - 1

    @property
    def last_col(self) -> int:
        return self.col + self.cols - 1

    @property
    def merged(self) -> bool:
        return self.rows > 1 or self.cols > 1


def header_layout(paths: Sequence[Sequence[str]], depth: int) -> tuple[HeaderCell, ...]:
    """The header cells of columns whose headers are `paths` (top label first), merged as printed: a
    group label spans the neighbouring columns that share it; a leaf reaches down to the last header row.
    The one place header merges are computed (Word annexes, workbook layout, mail extracts)."""
    cells = []
    for level in range(depth):
        c = 0
        while c < len(paths):
            path = paths[c]
            if level >= len(path):  # covered by this column's leaf above
                c += 1
                continue
            end = c
            if level < len(path) - 1:
                while end + 1 < len(paths) and tuple(paths[end + 1][: level + 1]) == tuple(path[: level + 1]):
                    end += 1
            last = level if level < len(path) - 1 else depth - 1
            cells.append(HeaderCell(level, c, path[level], last - level + 1, end - c + 1))
            c = end + 1
    return tuple(cells)


@dataclass(frozen=True)
class Change:
    """Last month's value of one figure and this month's change (percentage points for ratios)."""

    previous: Any
    change: Any


@dataclass(frozen=True)
class TableRow:
    """One printed row of an annex table: its kind, label and printed strings."""

    kind: RowKind
    label: str  # as printed: department short name, 合计, 小计, 殷都区, 安阳市, a section's name
    cells: tuple[str, ...]  # the printed strings, one per printed column
    values: Mapping[str, Any] = field(default_factory=dict)  # value column -> value (None when blank)
    number: int | None = None  # 序号 of a department row, 1…n
    department: str = ""  # registry name of a department row
    key: str = ""  # the row key besides the department (annex 3: 证照类型名称), '|'-joined
    section: str = ""  # the section the row belongs to (annex 8)
    status: Status | None = None
    rules: tuple[str, ...] = ()  # names of the rules that fired
    previous: Mapping[str, Any] = field(default_factory=dict)  # column -> last month's value
    change: Mapping[str, Any] = field(default_factory=dict)  # column -> this month − last month
    merge: Merge = Merge.NONE

    @property
    def bold(self) -> bool:
        return self.kind in (RowKind.TOTAL, RowKind.SUBTOTAL)

    @property
    def standalone_label(self) -> str:
        """The label read out of the table's context: a subtotal names its section (派驻部门小计)."""
        return f"{self.section}{self.label}" if self.kind is RowKind.SUBTOTAL else self.label


@dataclass(frozen=True)
class PrintedTable:
    """An annex table as printed, built once for the workbook, the document and the mail."""

    spec: AnnexSpec
    title: str  # the annex's title, district filled in
    columns: tuple[Column, ...]  # the printed columns, in order
    header: tuple[HeaderCell, ...]
    rows: tuple[TableRow, ...]  # in printed order

    @property
    def header_rows(self) -> int:
        return self.spec.header_rows

    @property
    def name_at(self) -> int:
        """Position of the department (name) column among the printed columns."""
        return next(i for i, c in enumerate(self.columns) if c.role == "name")

    def of_kind(self, *kinds: RowKind) -> list[TableRow]:
        return [r for r in self.rows if r.kind in kinds]


def printed_columns(spec: AnnexSpec) -> tuple[Column, ...]:
    return tuple(c for c in spec.columns if c.printed)


def table_header(spec: AnnexSpec) -> tuple[HeaderCell, ...]:
    """The header of the annex's printed columns."""
    return header_layout([c.header for c in printed_columns(spec)], spec.header_rows)


def cell_text(col: Column, value: Any) -> str:
    """A figure as printed in the annex tables: ratios with two decimals and %, counts as integers."""
    if not present(value):
        return ""
    if col.type == "ratio":
        return f"{float(value):.2f}%"
    if col.type == "count":
        return str(int(value))
    if col.type == "number":
        return format(Decimal(str(round(float(value), 6))).normalize(), "f")
    return str(value).strip()  # as entered: full-width brackets stay


def row_key(spec: AnnexSpec, record: Mapping[str, Any]) -> str:
    """A row's key besides its department (how comparison records name annex 3's rows)."""
    return "|".join(str(record.get(c.name)) for c in spec.key_columns)


def changes_of(records: Iterable[Mapping[str, Any]], sheet: str) -> dict[tuple[str, str, str], Change]:
    """One sheet's comparison records by (department or 全区, row key, column)."""
    return {(r["department"], r["key"], r["column"]): Change(r["previous"], r["change"])
            for r in records if r["sheet"] == sheet}


def _plain(v: Any) -> Any:
    """None for blank; whole floats as ints (so values compare and serialise alike)."""
    if not present(v):
        return None
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def build_table(result: AnnexResult, district: str, *, statuses: Mapping[str, RowStatus] | None = None,
                changes: Mapping[tuple[str, str, str], Change] | None = None,
                rule_names: Mapping[str, str] | None = None) -> PrintedTable:
    """The annex as printed. `statuses`: department (全区 for the district) -> RowStatus of this
    sheet; `changes`: from changes_of; `rule_names`: rule id -> the name shown."""
    spec = result.spec
    columns = printed_columns(spec)
    statuses, changes, rule_names = statuses or {}, changes or {}, rule_names or {}

    def make(kind: RowKind, label: str, values: Mapping[str, Any], who: str = "", key: str = "",
             section: str = "", number: int | None = None) -> TableRow:
        cells = tuple(str(number or "") if c.role == "index" else label if c.role == "name"
                      else cell_text(c, values.get(c.name)) for c in columns)
        previous, change = {}, {}
        for c in spec.value_columns:
            found = changes.get((who, key, c.name)) if who else None
            if found is not None:
                previous[c.name], change[c.name] = _plain(found.previous), _plain(found.change)
        entry = statuses.get(who) if who else None
        return TableRow(kind, label, cells, {c.name: _plain(values.get(c.name)) for c in spec.value_columns},
                        number, who if kind is RowKind.DEPARTMENT else "", key, section,
                        entry.status if entry else None,
                        tuple(rule_names.get(r, r) for r in entry.rules) if entry else (), previous, change)

    def line(section: str) -> TableRow:
        return TableRow(RowKind.SECTION, section, (section, *[""] * (len(columns) - 1)), section=section)

    references = [make(RowKind.REFERENCE, r["_label"], r, r["部门"], row_key(spec, r))
                  for r in result.references.values()]
    total = [make(RowKind.TOTAL, spec.total.label.format(district=district), result.total, DISTRICT)
             ] if spec.total and result.total is not None else []
    body: list[TableRow] = []
    section = spec.sections[0] if spec.sections else ""

    def subtotal() -> None:
        if spec.subtotal_label and section in result.subtotals:
            body.append(make(RowKind.SUBTOTAL, spec.subtotal_label, result.subtotals[section], section=section))

    for number, r in enumerate(result.ordered, start=1):
        if spec.sections and r["_section"] != section:
            subtotal()
            section = r["_section"]
            body.append(line(section))
        body.append(make(RowKind.DEPARTMENT, r["_label"], r, r["部门"], row_key(spec, r), r["_section"], number))
    if result.ordered:
        subtotal()
    if spec.fill_down_name:
        body = _merged_down(body, next(i for i, c in enumerate(columns) if c.role == "name"))
    top, bottom = (total, []) if spec.total and spec.total.position == "top" else ([], total)
    return PrintedTable(spec, spec.title_for(district), columns, table_header(spec),
                        (*references, *top, *body, *bottom))


def _merged_down(rows: list[TableRow], name_at: int) -> list[TableRow]:
    """One name per department group, its cells merged down (annex 3 as printed)."""
    def same(i: int, row: TableRow) -> bool:
        return 0 <= i < len(rows) and rows[i].kind is RowKind.DEPARTMENT and rows[i].label == row.label

    out = []
    for i, row in enumerate(rows):
        if row.kind is RowKind.DEPARTMENT and same(i - 1, row):
            cells = list(row.cells)
            cells[name_at] = ""
            row = replace(row, cells=tuple(cells), merge=Merge.CONTINUE)
        elif row.kind is RowKind.DEPARTMENT and same(i + 1, row):
            row = replace(row, merge=Merge.RESTART)
        out.append(row)
    return out


def build_tables(data: MonthData, district: str, *, statuses: Mapping[str, Mapping[str, RowStatus]] | None = None,
                 comparison: Iterable[Mapping[str, Any]] = (),
                 rule_names: Mapping[str, str] | None = None) -> dict[str, PrintedTable]:
    """Every annex the month holds, sheet -> table. `statuses`: sheet -> department -> RowStatus
    (Assessment.statuses); `comparison`: the comparison's records."""
    records = list(comparison)
    return {sheet: build_table(res, district, statuses=(statuses or {}).get(sheet),
                               changes=changes_of(records, sheet), rule_names=rule_names)
            for sheet, res in data.results.items()}
