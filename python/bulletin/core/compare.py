"""Month-over-month comparison: every indicator of every annex, per department and for the district.

Ratios change in percentage points, computed from the printed (2 dp) figures so a reader can check
them; counts change in absolute numbers and in percent. Departments new this month or missing this
month are listed, never zero-filled. Drivers explain a district ratio's move by each department's
share of it (an exact shift-share decomposition).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


from ..spec import AnnexSpec, Column
from .month import MonthData
from .numbers import present, round_half_up
from .recompute import side_sum

DISTRICT = "全区"
CHANGE_COLUMNS = ("sheet", "scope", "department", "key", "column", "type", "current", "previous", "change",
                  "change_pct", "direction", "from_zero", "to_zero")
UP, DOWN, SAME, NEW, MISSING, NO_DATA = "上升", "下降", "无变化", "新增", "缺报", "无数据"


def change_of(col_type: str, current: Any, previous: Any) -> dict[str, Any]:
    """The change of one figure: pp for ratios (from the 2 dp figures), absolute and % for counts."""
    if not present(current) or not present(previous):
        return {"change": None, "change_pct": None, "direction": NO_DATA, "from_zero": False, "to_zero": False}
    cur, prev = float(current), float(previous)
    if col_type == "ratio":
        cur, prev = round_half_up(cur), round_half_up(prev)
        # two 2 dp figures: their difference in whole hundredths is exact, and n / 100 is the float
        # nearest the exact decimal difference
        diff = (round(cur * 100) - round(prev * 100)) / 100
    elif cur.is_integer() and prev.is_integer() and max(abs(cur), abs(prev)) < 2 ** 52:
        diff = cur - prev  # whole numbers: the float difference is exact, as the decimal one would be
    else:
        diff = round_half_up(Decimal(repr(cur)) - Decimal(repr(prev)), 6)  # a count or number that is not whole
    pct = round_half_up(Decimal(repr(diff)) / Decimal(repr(prev)) * 100) if prev and col_type != "ratio" else None
    direction = UP if diff > 0 else DOWN if diff < 0 else SAME
    if col_type == "count" and diff == int(diff):
        diff = int(diff)
    return {"change": diff, "change_pct": pct, "direction": direction, "from_zero": prev == 0 and cur != 0,
            "to_zero": prev != 0 and cur == 0}


def _row_key(spec: AnnexSpec, r: dict[str, Any]) -> tuple:
    return (r["部门"], *(r.get(c.name) for c in spec.key_columns))


@dataclass
class Driver:
    """A department's share of the change of a district ratio."""

    department: str
    effect: float  # percentage points of the district ratio's change due to this department
    previous: float | None  # the department's own ratio last month
    current: float | None


@dataclass
class Comparison:
    """This month against the previous one: a change record per sheet, row and column."""

    month: str
    previous_month: str
    records: list[dict[str, Any]]  # one per (sheet, row, column), keys CHANGE_COLUMNS
    scalars: dict[str, dict[str, Any]]  # name -> {current, previous, change, ...}
    new_departments: dict[str, list[str]] = field(default_factory=dict)
    missing_departments: dict[str, list[str]] = field(default_factory=dict)
    drivers: dict[str, dict[str, list[Driver]]] = field(default_factory=dict)  # sheet -> column -> drivers

    def total_change(self, sheet: str, column: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["sheet"] == sheet and r["scope"] == "total"
                     and r["column"] == column), None)

    def department_change(self, sheet: str, department: str, column: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["sheet"] == sheet and r["department"] == department
                     and r["column"] == column), None)


def drivers_of(spec: AnnexSpec, col: Column, current: list[dict], previous: list[dict],
               prev_total: dict[str, Any] | None) -> list[Driver]:
    """effect_i = [(num_i' − num_i) − R·(den_i' − den_i)] / D'; the effects add up to R' − R exactly."""
    f = col.formula
    if not f or not f.den or not prev_total:
        return []
    den_prev = side_sum(f.den, prev_total)
    num_prev = side_sum(f.num, prev_total)
    zero = Decimal(0)

    def sides(rows: list[dict]) -> list[tuple[Any, Decimal, Decimal]]:  # (row, num, den), each side once
        return [(r, side_sum(f.num, r) or zero, side_sum(f.den, r) or zero) for r in rows]

    cur, prev = sides(current), sides(previous)
    den_cur = sum((den for _, _, den in cur), zero)  # every row, a department's repeated ones included
    cur_by, prev_by = {s[0]["部门"]: s for s in cur}, {s[0]["部门"]: s for s in prev}
    if not den_prev or den_cur == 0 or num_prev is None:
        return []
    ratio_prev = num_prev / den_prev
    out = []
    none = ({}, zero, zero)
    for dept in dict.fromkeys([*cur_by, *prev_by]):
        (c, num_c, den_c), (p, num_p, den_p) = cur_by.get(dept, none), prev_by.get(dept, none)
        effect = ((num_c - num_p) - ratio_prev * (den_c - den_p)) / den_cur * 100
        out.append(Driver(dept, float(round_half_up(effect)), p.get(col.name), c.get(col.name)))
    return sorted(out, key=lambda d: abs(d.effect), reverse=True)


def compare(current: MonthData, previous: MonthData) -> Comparison:
    rows: list[dict[str, Any]] = []
    new, missing, drivers = {}, {}, {}
    for sheet, res in current.results.items():
        spec = res.spec
        prev_res = previous.results.get(sheet)
        prev_records = prev_res.records if prev_res else []
        prev_by = {_row_key(spec, r): r for r in prev_records}
        cur_keys = set()
        columns = spec.numeric_columns
        for r in res.records:
            key = _row_key(spec, r)
            cur_keys.add(key)
            p = prev_by.get(key)
            scope = "reference" if r["_kind"] == "reference" else "department"
            department, key_text = r["部门"], "|".join(str(k) for k in key[1:])
            for col in columns:
                now, before = r.get(col.name), p.get(col.name) if p else None
                record = {"sheet": sheet, "scope": scope, "department": department, "key": key_text,
                          "column": col.name, "type": col.type, "current": now, "previous": before}
                record.update(change_of(col.type, now, before))
                if p is None:
                    record["direction"] = NEW
                rows.append(record)
        cur_depts = {r["部门"] for r in res.records if r["_kind"] == "department"}
        prev_depts = {r["部门"] for r in prev_records if r["_kind"] == "department"}
        new[sheet] = [d for d in dict.fromkeys(r["部门"] for r in res.records) if d in cur_depts - prev_depts]
        missing[sheet] = [d for d in dict.fromkeys(r["部门"] for r in prev_records) if d in prev_depts - cur_depts]
        for key, p in prev_by.items():  # rows gone this month: reported, not zero-filled
            if key not in cur_keys and p["_kind"] == "department":
                for col in spec.numeric_columns:
                    rows.append({"sheet": sheet, "scope": "department", "department": p["部门"],
                                 "key": "|".join(str(k) for k in key[1:]), "column": col.name, "type": col.type,
                                 "current": None, "previous": p.get(col.name),
                                 **{**change_of(col.type, None, None), "direction": MISSING}})
        prev_total = prev_res.total if prev_res else None
        if res.total is not None:
            for col in spec.numeric_columns:
                rows.append({"sheet": sheet, "scope": "total", "department": DISTRICT, "key": "", "column": col.name,
                             "type": col.type, "current": res.total.get(col.name),
                             "previous": prev_total.get(col.name) if prev_total else None,
                             **change_of(col.type, res.total.get(col.name),
                                         prev_total.get(col.name) if prev_total else None)})
            cur_d = [r for r in res.records if r["_kind"] == "department"]
            prev_d = [r for r in prev_records if r["_kind"] == "department"]
            drivers[sheet] = {c.name: drivers_of(spec, c, cur_d, prev_d, prev_total)
                              for c in spec.computed_columns if c.type == "ratio"}
    scalars = {}
    for name, value in current.scalars.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            prev_value = previous.scalars.get(name)
            scalars[name] = {"current": value, "previous": prev_value, "type": "count",
                            **change_of("count", value, prev_value)}
    return Comparison(current.month or "", previous.month or "", rows, scalars, new, missing, drivers)
