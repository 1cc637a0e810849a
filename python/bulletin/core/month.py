"""One month's bulletin data: every annex read, recomputed and validated, plus the scalar figures."""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping


from ..spec import ANNEXES, PARAM_SHEET, SCALAR_SHEET, SCALARS, TEXT_ITEMS, TEXT_SHEET, AnnexSpec, Scalar
from .intake import AnnexInput, Grid, IntakeContext, address, read_annex, unknown_department
from .numbers import (EXCEL_CELL_LIMIT, BadNumber, clean_text, excerpt, is_blank, parse_number, present, visible,
                      zero_width_in)
from .problems import Messages, Problem, has_errors
from .recompute import AnnexResult, recompute
from .registry import Registry
from .agreements import check_agreements
from .validate import validate

_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")


def parse_month(value: Any) -> str | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    m = _MONTH.match(clean_text(value))
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    return None


def next_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"


def last_day(year: int, m: int) -> int:
    """The number of days of month m (1-12) of a year."""
    return ((dt.date(year + 1, 1, 1) if m == 12 else dt.date(year, m + 1, 1)) - dt.timedelta(days=1)).day


def previous_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


@dataclass
class MonthData:
    """A month as read and recomputed: scalars, annex inputs and results, parameters, problems."""

    month: str | None
    scalars: dict[str, Any]
    inputs: dict[str, AnnexInput]
    results: dict[str, AnnexResult]
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)  # 文字素材: item -> paragraphs
    params: dict[str, Any] = field(default_factory=dict)  # 参数 sheet: name -> value as entered
    param_cells: dict[str, str] = field(default_factory=dict)  # 参数 sheet: name -> cell of its value (B5)
    registry: Registry | None = None  # the registry the month was read with (the workbook's 部门 sheet or the CSV)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)

    def result(self, sheet_or_number: str | int) -> AnnexResult:
        for r in self.results.values():
            if sheet_or_number in (r.spec.sheet, r.spec.number):
                return r
        raise KeyError(sheet_or_number)


def _parse_scalar(s: Scalar, raw: Any) -> tuple[Any, str | None]:
    if is_blank(raw):
        return None, None
    if s.type == "month":
        m = parse_month(raw)
        return (m, None) if m else (None, "如 2023-06")
    if s.type == "date":
        if isinstance(raw, (dt.date, dt.datetime)):
            return raw.strftime("%Y-%m-%d"), None
        text = clean_text(raw)
        m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", text)
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3])) if m else None
        except ValueError:
            return None, "不是日历上的日期"
        return (day.isoformat(), None) if day else (None, "如 2023-06-30")
    if s.type == "text":
        text = str(raw).strip()
        return (text, None) if len(text) <= EXCEL_CELL_LIMIT else (None, f"超过 {EXCEL_CELL_LIMIT} 个字符")
    if isinstance(raw, str) and clean_text(raw).endswith("%"):
        return None, "应为数量，不能填百分数"
    try:
        v = parse_number(raw)
    except BadNumber:
        return None, "应为数字"
    if v is not None and (not math.isfinite(v) or (s.max is not None and v > s.max)):
        return None, f"超出合理范围，应不大于 {s.max:g}"
    if v is None or v < 0 or (s.type == "count" and v != int(v)):
        return None, "应为非负整数" if s.type == "count" else "应为非负数"
    return (int(v) if s.type == "count" else v), None


# Relations between scalars: (part, whole) — a part never exceeds its whole.
SCALAR_RELATIONS = (("差评已整改件数", "差评件数"),)


def _scalar_checks(values: Mapping[str, Any], cells: Mapping[str, str], msg: Messages) -> list[Problem]:
    problems = []
    month = values.get("月份")
    for s in SCALARS:
        v = values.get(s.name)
        if s.type == "date" and v and month and v[:7] != month:
            problems.append(msg.problem("scalar.out_of_month", SCALAR_SHEET, cells.get(s.name, ""), name=s.name,
                                        value=v, month=month))
    for part, whole in SCALAR_RELATIONS:
        p, w = values.get(part), values.get(whole)
        if p is not None and w is not None and p > w:
            problems.append(msg.problem("scalar.relation", SCALAR_SHEET, cells.get(part, ""), part=part,
                                        part_value=p, whole=whole, whole_value=w))
    return problems


def read_scalars(grid: Grid | None, msg: Messages, given: Mapping[str, Any] | None = None,
                 cells: dict[str, str] | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """The 总体情况 sheet: 项目 in column A, 数值 in column B. A figure `given` (the --month option) is taken
    as it is and its cell is not read."""
    given = given or {}
    problems: list[Problem] = []
    found: dict[str, tuple[Any, int]] = {}
    if grid is not None:
        for r, row in enumerate(grid.rows, start=1):
            name = clean_text(row[0]) if row else ""
            if name and name not in found:
                found[name] = (row[1] if len(row) > 1 else None, r)
    values: dict[str, Any] = {}
    cells = {} if cells is None else cells  # filled for the caller too (the agreement checks name cells)
    for s in SCALARS:
        if s.name in given:
            values[s.name] = given[s.name]
            continue
        raw, r = found.get(clean_text(s.name), (None, 0))
        value, expected = _parse_scalar(s, raw)
        cell = address(r, 2) if r else ""
        if expected:
            problems.append(msg.problem("scalar.invalid", SCALAR_SHEET, cell, name=s.name,
                                        value=_shown_scalar(raw), expected=expected))
        elif value is None and s.required:
            problems.append(msg.problem("scalar.missing", SCALAR_SHEET, cell, name=s.name))
        elif zero_width_in(raw):
            problems.append(msg.problem("value.zero_width", SCALAR_SHEET, cell, column=s.name,
                                        value=excerpt(visible(raw)), chars=zero_width_in(raw)))
        values[s.name] = value
        cells[s.name] = cell
    return values, problems + _scalar_checks(values, cells, msg)


def _shown_scalar(raw: Any) -> str:
    return excerpt(visible(raw))


def read_texts(grid: Grid | None, msg: Messages) -> tuple[dict[str, list[str]], list[Problem]]:
    """The 文字素材 sheet: 栏目 in column A, 内容 in column B, a header row first."""
    texts: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for r, row in enumerate(grid.rows if grid else [], start=1):
        item = clean_text(row[0]) if row else ""
        body = str(row[1]).strip() if len(row) > 1 and not is_blank(row[1]) else ""
        if r == 1 or not item or not body:
            continue
        if len(body) > EXCEL_CELL_LIMIT:
            problems.append(msg.problem("text.too_long", TEXT_SHEET, address(r, 2), item=item, value=len(body),
                                        limit=EXCEL_CELL_LIMIT))
            continue
        if item not in TEXT_ITEMS:
            problems.append(msg.problem("text.unknown_item", TEXT_SHEET, address(r, 1), item=item,
                                        known="、".join(TEXT_ITEMS)))
            continue
        texts.setdefault(item, []).append(body)
    return texts, problems


def read_params(grid: Grid | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The 参数 sheet: 参数 in column A, 值 in column B, a header row first. Values as entered
    (numbers stay numbers, dates stay dates; an empty value cell is left out: the staff file decides),
    and the cell of each value. Each consumer checks the keys it uses."""
    params: dict[str, Any] = {}
    cells: dict[str, str] = {}
    for r, row in enumerate(grid.rows if grid else [], start=1):
        name = clean_text(row[0]) if row else ""
        value = row[1] if len(row) > 1 else None
        if r == 1 or not name or is_blank(value):
            continue
        params[name] = value.strip() if isinstance(value, str) else value
        cells[name] = address(r, 2)
    return params, cells


def build_month(grids: Mapping[str, Grid], ctx: IntakeContext, *, month: str | None = None,
                ratio_tolerance_pp: float = 0.005, total_tolerance: float = 1e-6,
                annexes: tuple[AnnexSpec, ...] = ANNEXES) -> MonthData:
    """Intake, recompute and validate every annex; problems of all sheets in one list."""
    msg = ctx.messages
    scalar_cells: dict[str, str] = {}
    scalars, problems = read_scalars(grids.get(SCALAR_SHEET), msg, {"月份": month} if month else None, scalar_cells)
    texts, text_problems = read_texts(grids.get(TEXT_SHEET), msg)
    problems += text_problems
    inputs, results = {}, {}
    for spec in annexes:
        grid = grids.get(spec.sheet)
        if grid is None:
            problems.append(msg.problem("sheet.missing", spec.sheet, sheet_name=spec.sheet))
            continue
        data = read_annex(spec, grid, ctx)
        result = recompute(data)
        problems += data.problems
        problems += validate(data, result, msg, ratio_tolerance_pp=ratio_tolerance_pp,
                             total_tolerance=total_tolerance)
        inputs[spec.sheet], results[spec.sheet] = data, result
    problems = _unknowns_with_every_annex(problems, inputs, ctx)
    problems += check_agreements(inputs, results, scalars, scalar_cells, msg)
    params, param_cells = read_params(grids.get(PARAM_SHEET))
    return MonthData(scalars.get("月份"), scalars, inputs, results, problems, texts, params,
                     param_cells=param_cells, registry=ctx.registry)


def _unknowns_with_every_annex(problems: list[Problem], inputs: Mapping[str, AnnexInput], ctx: IntakeContext
                               ) -> list[Problem]:
    """An unknown unit's message proposes the row that adds it: with 附件 = every annex it was found in."""
    found: dict[str, list[int]] = {}
    for inp in inputs.values():
        for rec in inp.records:
            if rec["_kind"] == "department" and not rec["_known"] and rec["部门"]:
                numbers = found.setdefault(ctx.registry._key(rec["_label"]), [])
                if inp.spec.number not in numbers:
                    numbers.append(inp.spec.number)
    if not any(len(v) > 1 for v in found.values()):
        return problems
    out = []
    for p in problems:
        if p.rule == "department.unknown" and len(found.get(ctx.registry._key(p.department), ())) > 1:
            p = unknown_department(ctx, p.sheet, p.cell, p.department, tuple(found[ctx.registry._key(p.department)]))
            inputs[p.sheet].problems[:] = [p if (q.rule, q.cell) == (p.rule, p.cell) else q
                                           for q in inputs[p.sheet].problems]
        out.append(p)
    return out


def _jsonable(v: Any, col_type: str | None = None) -> Any:
    if not present(v):
        return None
    if col_type == "count" or (isinstance(v, float) and col_type is None and v == int(v)):
        return int(v)
    if isinstance(v, float):
        return round(v, 6)
    return v


def row_dict(spec: AnnexSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    out = {"部门": row.get("部门")} if "部门" in row else {}
    for col in spec.columns:
        if col.role == "index":
            continue
        v = row.get(col.name)
        out[col.name] = _jsonable(v, col.type) if col.is_numeric else (v if present(v) else None)
    return out


def month_json(data: MonthData) -> dict[str, Any]:
    tables, totals, subtotals, references = {}, {}, {}, {}
    for sheet, res in data.results.items():
        spec = res.spec
        tables[sheet] = [{**row_dict(spec, r), spec.name_column.name: r["_label"]}
                         for r in res.ordered]
        if res.total is not None:
            totals[sheet] = {k: v for k, v in row_dict(spec, res.total).items() if k != "部门"}
        if res.subtotals:
            subtotals[sheet] = {s: {k: v for k, v in row_dict(spec, t).items() if k != "部门"}
                                for s, t in res.subtotals.items()}
        if len(res.references):
            references[sheet] = {k: row_dict(spec, r) for k, r in res.references.items()}
    return {
        "month": data.month,
        "scalars": {k: _jsonable(v) for k, v in data.scalars.items()},
        "tables": tables,
        "totals": totals,
        "subtotals": subtotals,
        "references": references,
        "problems": [p.as_dict() for p in data.problems],
    }
