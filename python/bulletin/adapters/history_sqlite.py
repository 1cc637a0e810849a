"""The month history: every closed month's raw inputs, in the office database (SQLAlchemy Core, office_db):
the history SQLite file of one desk, or PostgreSQL on an office server; `History(where)` takes either the file's
path or the database URL (the action layer decides which).

All SQL of these tables lives in this module, behind the small ``History`` class.

What is stored per month (the layout is the office database's migrations; a history file made before them,
with only ``schema_version`` to say its version, is adopted on first open):

- ``months``       month (YYYY-MM), source (the input workbook's file name), closed_at (ISO timestamp)
- ``scalars``      month, position, name, value_json (the 总体情况 figures; NULL for a blank)
- ``annexes``      month, sheet, position (which annexes the month has, in order)
- ``input_rows``   month, sheet, position, row_no, kind, section, label, department, known, values_json:
                   every intake record (the META_COLUMNS as real columns, every spec value column in
                   the JSON object, blanks as null)
- ``result_rows``  month, sheet, position, kind, row_no, section, department, label, values_json: the
                   recomputed figures, for querying and auditing only: each department/reference row's
                   computed columns, the total (kind 'total') and the subtotals (kind 'subtotal',
                   section = the subtotal's section) with all their value columns

- ``registry_rows`` month, position, values_json: the department registry the month was read with (the
                   office's with the workbook's 部门 rows laid over it; retired units with 停用 = 是; per unit
                   under "_set" the columns the workbook set), so next month's template carries what the
                   workbooks set: a unit added once stays (created on first use, also in an older file)

``load`` never reads ``result_rows``: it rebuilds the month from ``input_rows`` and recomputes every
figure with the current code, exactly as a freshly read workbook would be.

Storing a month replaces it in one transaction (delete, insert, commit; office_db.Store.write): a process
killed half-way leaves the previous state. A SQLite file uses the default rollback journal (no WAL): it
works on a shared network folder too (WAL needs shared memory on one machine) and a crash is undone by the
next connection that opens the file (the "hot journal" is rolled back); PostgreSQL rolls back the
transaction of a client that is gone.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import UserError
from .office_db import HISTORY_SCHEMA_VERSION, Store

from ..core.intake import META_COLUMNS, AnnexInput
from ..core.month import MonthData
from ..core.recompute import recompute
from ..spec import annex

SCHEMA_VERSION = HISTORY_SCHEMA_VERSION
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


_TABLES = {t.name: t for t in (
    _table("months", "month", "source", "closed_at"),
    _table("scalars", "month", "position", "name", "value_json"),
    _table("annexes", "month", "sheet", "position"),
    _table("input_rows", "month", "sheet", "position", "row_no", "kind", "section", "label", "department", "known",
           "values_json"),
    _table("result_rows", "month", "sheet", "position", "kind", "row_no", "section", "department", "label",
           "values_json"),
    _table("registry_rows", "month", "position", "values_json"))}
# children first: the order in which a month is deleted
_MONTH_TABLES = ("registry_rows", "result_rows", "input_rows", "annexes", "scalars", "months")


class HistoryError(UserError):
    """A history problem the user must see (message in Chinese)."""


def _plain(value: Any, where: str) -> Any:
    """A value as JSON can hold it exactly: None (also for NaN), bool, int, float or str."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (numbers.Real, Decimal)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            raise HistoryError(f"{where} 的值 {value} 不是有限数值，不能存入历史库。")
        return f
    raise HistoryError(f"{where} 的值 {value!r}（{type(value).__name__}）不能存入历史库。")


def _dumps(values: dict[str, Any], where: str) -> str:
    # repr-based float formatting: every float reads back bit for bit
    return json.dumps({k: _plain(v, f"{where} {k}") for k, v in values.items()}, ensure_ascii=False,
                      allow_nan=False)


def _scalar_json(value: Any, where: str) -> str | None:
    value = _plain(value, where)
    return None if value is None else json.dumps(value, ensure_ascii=False, allow_nan=False)


class History(Store):
    """The stored months. Every method is one short transaction."""

    label = "历史库"
    error = HistoryError

    # -- public interface ---------------------------------------------------------------------
    def months(self) -> list[str]:
        with self.read() as conn:
            return _months(conn)

    def has(self, month: str) -> bool:
        with self.read() as conn:
            return conn.execute(sa.text("SELECT 1 FROM months WHERE month = :m"), {"m": month}).first() is not None

    def store(self, data: MonthData, *, source: str = "") -> None:
        """Store (or replace) a month. Refuses a month with errors or without a month."""
        if data.has_errors:
            errors = sum(1 for p in data.problems if p.severity == "error")
            which = f"{data.month} 的" if data.month else ""
            raise HistoryError(f"{which}数据有 {errors} 个错误，改正后才能存入历史库。")
        if data.month is None:
            raise HistoryError("数据没有月份（请在“总体情况”表填写月份），不能存入历史库。")
        if not _MONTH.match(str(data.month)):
            raise HistoryError(f"月份 {data.month!r} 格式不对（应如 2023-06），不能存入历史库。")
        month = data.month
        rows = self._rows(data)  # everything converted before the lock is taken
        closed_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        rows["months"] = [(month, source or "", closed_at)]
        with self.write() as conn:
            for table in _MONTH_TABLES:
                conn.execute(sa.text(f"DELETE FROM {table} WHERE month = :m"), {"m": month})
            for table in reversed(_MONTH_TABLES):  # parents first
                t = _TABLES[table]
                if rows[table]:
                    conn.execute(sa.insert(t), [dict(zip(t.c.keys(), r)) for r in rows[table]])

    def latest_registry(self, before: str | None = None) -> tuple[str, list[dict[str, str]]] | None:
        """(month, registry rows) of the latest closed month (before `before` when given) that stored one."""
        query = "SELECT month FROM registry_rows" + ("" if before is None else " WHERE month < :before")
        with self.read() as conn:
            found = conn.execute(sa.text(query + " ORDER BY month DESC LIMIT 1"), {"before": before}).scalar()
            if found is None:
                return None
            rows = conn.execute(sa.text("SELECT values_json FROM registry_rows WHERE month = :m ORDER BY position"),
                                {"m": found}).scalars().all()
        return found, [json.loads(v) for v in rows]

    def load(self, month: str) -> MonthData:
        """The month rebuilt from its stored inputs, every figure recomputed."""
        return self.load_many([month])[month]

    def load_many(self, months: list[str] | None = None) -> dict[str, MonthData]:
        """Several months (all when None), read in one consistent snapshot."""
        with self.read() as conn:
            stored = _months(conn)
            wanted = stored if months is None else list(dict.fromkeys(months))
            missing = [m for m in wanted if m not in stored]
            if missing:
                have = "、".join(stored) if stored else "无"
                raise HistoryError(f"历史库中没有 {'、'.join(map(str, missing))} 的数据（已存月份：{have}）。")
            raw = {m: self._read_month(conn, m) for m in wanted}
        return {m: self._rebuild(m, *raw[m]) for m in wanted}

    # -- rows -------------------------------------------------------------------------------------
    @staticmethod
    def _rows(data: MonthData) -> dict[str, list[tuple]]:
        month = data.month
        out: dict[str, list[tuple]] = {"scalars": [], "annexes": [], "input_rows": [], "result_rows": [],
                                       "registry_rows": []}
        for i, row in enumerate(data.registry.rows(stored=True) if data.registry is not None else []):
            out["registry_rows"].append((month, i, _dumps(row, f"部门 第{i + 2}行")))
        for i, (name, value) in enumerate(data.scalars.items()):
            out["scalars"].append((month, i, name, _scalar_json(value, f"总体情况 {name}")))
        for a, (sheet, inp) in enumerate(data.inputs.items()):
            spec = inp.spec
            out["annexes"].append((month, sheet, a))
            value_names = [c.name for c in spec.value_columns]
            for i, rec in enumerate(inp.records):
                values = {k: rec.get(k) for k in value_names}
                values.update((k, v) for k, v in rec.items() if k not in META_COLUMNS and k not in values)
                row_no = rec.get("_row")
                out["input_rows"].append((
                    month, sheet, i, None if row_no is None else int(row_no), rec["_kind"], rec.get("_section"),
                    rec.get("_label"), rec.get("部门"), 1 if rec.get("_known", True) else 0,
                    _dumps(values, f"{sheet} 第{row_no}行")))
            res = data.results.get(sheet)
            if res is None:
                continue
            computed = [c.name for c in spec.computed_columns]
            pos = 0
            for rec in res.records:
                out["result_rows"].append((
                    month, sheet, pos, rec["_kind"], rec.get("_row"), rec.get("_section"), rec.get("部门"),
                    rec.get("_label"), _dumps({k: rec.get(k) for k in computed}, f"{sheet} 第{rec.get('_row')}行")))
                pos += 1
            if res.total is not None:
                label = next((r.get("_label") for r in inp.records if r["_kind"] == "total"), None)
                out["result_rows"].append((month, sheet, pos, "total", None, None, None, label,
                                           _dumps(res.total, f"{sheet} 合计")))
                pos += 1
            for section, sub in res.subtotals.items():
                out["result_rows"].append((month, sheet, pos, "subtotal", None, section, None,
                                           spec.subtotal_label, _dumps(sub, f"{sheet} {section} 小计")))
                pos += 1
        return out

    @staticmethod
    def _read_month(conn: Connection, month: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
        def rows(sql: str) -> list[tuple]:
            return [tuple(r) for r in conn.execute(sa.text(sql), {"m": month})]

        scalars = rows("SELECT name, value_json FROM scalars WHERE month = :m ORDER BY position")
        annexes = rows("SELECT sheet FROM annexes WHERE month = :m ORDER BY position")
        inputs = rows("SELECT sheet, row_no, kind, section, label, department, known, values_json FROM input_rows"
                      " WHERE month = :m ORDER BY sheet, position")
        return scalars, annexes, inputs

    @staticmethod
    def _rebuild(month: str, scalar_rows: list[tuple], annex_rows: list[tuple], input_rows: list[tuple]) -> MonthData:
        scalars = {name: None if value is None else json.loads(value) for name, value in scalar_rows}
        records: dict[str, list[dict[str, Any]]] = {sheet: [] for (sheet,) in annex_rows}
        for sheet, row_no, kind, section, label, department, known, values_json in input_rows:
            rec = {"_row": row_no, "_kind": kind, "_section": section, "_label": label, "部门": department,
                   "_known": bool(known)}
            rec.update(json.loads(values_json))
            records[sheet].append(rec)
        inputs, results = {}, {}
        for sheet, recs in records.items():
            try:
                spec = annex(sheet)
            except KeyError:
                raise HistoryError(f"历史库中 {month} 的 {sheet} 不是本程序认识的附件。") from None
            for rec in recs:  # a column the spec gained after the month was stored reads as blank
                for col in spec.value_columns:
                    rec.setdefault(col.name, None)
            inputs[sheet] = AnnexInput(spec, recs, columns={}, header_start=0, header_end=0, problems=[])
            results[sheet] = recompute(inputs[sheet])
        return MonthData(month, scalars, inputs, results, problems=[])


def _months(conn: Connection) -> list[str]:
    return list(conn.execute(sa.text("SELECT month FROM months ORDER BY month")).scalars())
