"""The month history: every closed month's raw inputs, in an embedded SQLite file (stdlib sqlite3).

All SQL lives in this module, behind the small ``History`` class, so a server database can replace
the file later without touching its callers.

What is stored per month (the tables, created on first use; ``schema_version`` holds their version):

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

Storing a month replaces it in one transaction (BEGIN IMMEDIATE, delete, insert, COMMIT): a process
killed half-way leaves the previous state. The file uses SQLite's default rollback journal (no WAL):
it works on a shared network folder too (WAL needs shared memory on one machine) and a crash is undone
by the next connection that opens the file (the "hot journal" is rolled back).
"""
from __future__ import annotations

from ..errors import UserError

import datetime as dt
import json
import math
import numbers
import re
import sqlite3
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from ..core.intake import META_COLUMNS, AnnexInput
from ..core.month import MonthData
from ..core.recompute import recompute
from ..spec import annex

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

_SCHEMA = (
    """CREATE TABLE schema_version (
        version INTEGER NOT NULL
    )""",
    """CREATE TABLE months (
        month      TEXT PRIMARY KEY,
        source     TEXT NOT NULL,
        closed_at  TEXT NOT NULL
    )""",
    """CREATE TABLE scalars (
        month       TEXT    NOT NULL REFERENCES months (month),
        position    INTEGER NOT NULL,
        name        TEXT    NOT NULL,
        value_json  TEXT,
        PRIMARY KEY (month, name)
    )""",
    """CREATE TABLE annexes (
        month     TEXT    NOT NULL REFERENCES months (month),
        sheet     TEXT    NOT NULL,
        position  INTEGER NOT NULL,
        PRIMARY KEY (month, sheet)
    )""",
    """CREATE TABLE input_rows (
        month        TEXT    NOT NULL,
        sheet        TEXT    NOT NULL,
        position     INTEGER NOT NULL,
        row_no       INTEGER,
        kind         TEXT    NOT NULL,
        section      TEXT,
        label        TEXT,
        department   TEXT,
        known        INTEGER NOT NULL,
        values_json  TEXT    NOT NULL,
        PRIMARY KEY (month, sheet, position),
        FOREIGN KEY (month, sheet) REFERENCES annexes (month, sheet)
    )""",
    """CREATE TABLE result_rows (
        month        TEXT    NOT NULL,
        sheet        TEXT    NOT NULL,
        position     INTEGER NOT NULL,
        kind         TEXT    NOT NULL CHECK (kind IN ('department', 'reference', 'total', 'subtotal')),
        row_no       INTEGER,
        section      TEXT,
        department   TEXT,
        label        TEXT,
        values_json  TEXT    NOT NULL,
        PRIMARY KEY (month, sheet, position),
        FOREIGN KEY (month, sheet) REFERENCES annexes (month, sheet)
    )""",
    "CREATE INDEX result_rows_by_department ON result_rows (sheet, department, month)",
)
_REGISTRY_TABLE = """CREATE TABLE IF NOT EXISTS registry_rows (
        month        TEXT    NOT NULL,
        position     INTEGER NOT NULL,
        values_json  TEXT    NOT NULL,
        PRIMARY KEY (month, position)
    )"""
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


class History:
    """The stored months. One connection per instance; every method is one short transaction."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions, every one is explicit below
            self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._ensure_schema()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise HistoryError(f"无法打开历史库 {self.path.name}：{self._reason(exc)}") from exc
        except OSError as exc:
            self.close()
            raise HistoryError(f"无法打开历史库 {self.path}：{exc.strerror or exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- public interface ---------------------------------------------------------------------
    def months(self) -> list[str]:
        with self._transaction() as conn:
            return [m for (m,) in conn.execute("SELECT month FROM months ORDER BY month")]

    def has(self, month: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("SELECT 1 FROM months WHERE month = ?", (month,)).fetchone() is not None

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
        with self._transaction("IMMEDIATE") as conn:
            for table in _MONTH_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE month = ?", (month,))
            conn.execute("INSERT INTO months (month, source, closed_at) VALUES (?, ?, ?)",
                         (month, source or "", closed_at))
            conn.executemany("INSERT INTO scalars (month, position, name, value_json) VALUES (?, ?, ?, ?)",
                             rows["scalars"])
            conn.executemany("INSERT INTO annexes (month, sheet, position) VALUES (?, ?, ?)", rows["annexes"])
            conn.executemany(
                "INSERT INTO input_rows (month, sheet, position, row_no, kind, section, label, department,"
                " known, values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows["input_rows"])
            conn.executemany(
                "INSERT INTO result_rows (month, sheet, position, kind, row_no, section, department, label,"
                " values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows["result_rows"])
            conn.executemany("INSERT INTO registry_rows (month, position, values_json) VALUES (?, ?, ?)",
                             rows["registry_rows"])

    def latest_registry(self, before: str | None = None) -> tuple[str, list[dict[str, str]]] | None:
        """(month, registry rows) of the latest closed month (before `before` when given) that stored one."""
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT month FROM registry_rows WHERE (? IS NULL OR month < ?) ORDER BY month DESC LIMIT 1",
                (before, before)).fetchone()
            if found is None:
                return None
            rows = conn.execute("SELECT values_json FROM registry_rows WHERE month = ? ORDER BY position",
                                (found[0],)).fetchall()
        return found[0], [json.loads(v) for (v,) in rows]

    def load(self, month: str) -> MonthData:
        """The month rebuilt from its stored inputs, every figure recomputed."""
        return self.load_many([month])[month]

    def load_many(self, months: list[str] | None = None) -> dict[str, MonthData]:
        """Several months (all when None), read in one consistent snapshot."""
        with self._transaction() as conn:
            stored = [m for (m,) in conn.execute("SELECT month FROM months ORDER BY month")]
            wanted = stored if months is None else list(dict.fromkeys(months))
            missing = [m for m in wanted if m not in stored]
            if missing:
                have = "、".join(stored) if stored else "无"
                raise HistoryError(f"历史库中没有 {'、'.join(map(str, missing))} 的数据（已存月份：{have}）。")
            raw = {m: self._read_month(conn, m) for m in wanted}
        return {m: self._rebuild(m, *raw[m]) for m in wanted}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- transactions and schema ------------------------------------------------------------------
    @staticmethod
    def _reason(exc: sqlite3.Error) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return "文件正被其他程序使用，请稍后再试"
        if "not a database" in text or "malformed" in text:
            return "文件不是有效的历史库（已损坏或不是 SQLite 数据库）"
        if "readonly" in text or "unable to open" in text:
            return "文件无法写入或打开（请检查路径和权限）"
        return text

    @contextmanager
    def _transaction(self, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
        """One transaction: COMMIT when the block ends, ROLLBACK when it raises."""
        if self._conn is None:
            raise HistoryError("历史库已关闭。")
        conn = self._conn
        try:
            conn.execute(f"BEGIN {mode}")
        except sqlite3.Error as exc:
            raise HistoryError(f"历史库 {self.path.name} 无法访问：{self._reason(exc)}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the original error says more; SQLite undoes the rest on the next open
            if isinstance(exc, sqlite3.Error):
                raise HistoryError(f"历史库 {self.path.name} 读写失败：{self._reason(exc)}") from exc
            raise

    def _ensure_schema(self) -> None:
        def version(conn: sqlite3.Connection) -> int | None:
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" in tables:
                row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                return int(row[0]) if row and row[0] is not None else 0
            if tables:
                raise HistoryError(f"{self.path.name} 不是通报历史库（其中已有其他数据表）。")
            return None

        with self._transaction() as conn:
            found = version(conn)
        if found is None:
            with self._transaction("IMMEDIATE") as conn:
                found = version(conn)  # another process may have created it meanwhile
                if found is None:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                    found = SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise HistoryError(f"历史库 {self.path.name} 的版本（{found}）比本程序新（{SCHEMA_VERSION}），请升级程序。")
        if found < SCHEMA_VERSION:  # no older layout exists yet; migrations go here
            raise HistoryError(f"历史库 {self.path.name} 的版本（{found}）无法识别。")
        with self._transaction("IMMEDIATE") as conn:
            conn.execute(_REGISTRY_TABLE)

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
    def _read_month(conn: sqlite3.Connection, month: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
        scalars = conn.execute("SELECT name, value_json FROM scalars WHERE month = ? ORDER BY position",
                               (month,)).fetchall()
        annexes = conn.execute("SELECT sheet FROM annexes WHERE month = ? ORDER BY position", (month,)).fetchall()
        rows = conn.execute(
            "SELECT sheet, row_no, kind, section, label, department, known, values_json FROM input_rows"
            " WHERE month = ? ORDER BY sheet, position", (month,)).fetchall()
        return scalars, annexes, rows

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
