"""The submission ledger of the collection loop, in the history SQLite file (tables created on first use,
as registry_rows is; an older file gains them):

- ``collect_ledger``   month, department, annex: the state (未发/已发/已报/逾期未报/退回/已确认/无需报送),
                       sent_at, submitted_at, updated_at, who, file_hash, reason, explanation, return_file
- ``collect_events``   every return received, in order (both an earlier and a later return are kept): month,
                       department, at, who, file_hash, file_name, stored, outcome, reason, explanation
- ``collect_cells``    month, department, sheet, position, column, value_json: what the send or the last import
                       left in each of the department's input cells of the master (to tell a clerk's hand edit)
- ``collect_months``   month, deadline
- ``collect_reminders`` month, department, due, sent_at: one reminder per due date

All the writes of one step go in one transaction (BEGIN IMMEDIATE … COMMIT): a process killed mid-way leaves
the previous state.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .history_sqlite import BUSY_TIMEOUT_SECONDS, History, HistoryError

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS collect_ledger (
        month         TEXT NOT NULL,
        department    TEXT NOT NULL,
        annex         TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('未发', '已发', '已报', '逾期未报', '退回', '已确认', '无需报送')),
        sent_at       TEXT,
        submitted_at  TEXT,
        updated_at    TEXT NOT NULL,
        who           TEXT NOT NULL DEFAULT '',
        file_hash     TEXT NOT NULL DEFAULT '',
        reason        TEXT NOT NULL DEFAULT '',
        explanation   TEXT NOT NULL DEFAULT '',
        return_file   TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (month, department, annex)
    )""",
    """CREATE TABLE IF NOT EXISTS collect_events (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        month         TEXT NOT NULL,
        department    TEXT NOT NULL,
        at            TEXT NOT NULL,
        who           TEXT NOT NULL,
        file_hash     TEXT NOT NULL,
        file_name     TEXT NOT NULL,
        stored        TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        reason        TEXT NOT NULL DEFAULT '',
        explanation   TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS collect_events_by_hash ON collect_events (file_hash)",
    """CREATE TABLE IF NOT EXISTS collect_cells (
        month       TEXT    NOT NULL,
        department  TEXT    NOT NULL,
        sheet       TEXT    NOT NULL,
        position    INTEGER NOT NULL,
        column_name TEXT    NOT NULL,
        value_json  TEXT    NOT NULL,
        PRIMARY KEY (month, department, sheet, position, column_name)
    )""",
    """CREATE TABLE IF NOT EXISTS collect_months (
        month     TEXT PRIMARY KEY,
        deadline  TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS collect_reminders (
        month       TEXT NOT NULL,
        department  TEXT NOT NULL,
        due         TEXT NOT NULL,
        sent_at     TEXT NOT NULL,
        PRIMARY KEY (month, department, due)
    )""",
)
_LEDGER_COLUMNS = ("month", "department", "annex", "state", "sent_at", "submitted_at", "updated_at", "who",
                   "file_hash", "reason", "explanation", "return_file")


@dataclass(frozen=True)
class LedgerRow:
    month: str
    department: str
    annex: str
    state: str
    sent_at: str | None
    submitted_at: str | None
    updated_at: str
    who: str
    file_hash: str
    reason: str
    explanation: str
    return_file: str


@dataclass(frozen=True)
class Event:
    id: int
    month: str
    department: str
    at: str
    who: str
    file_hash: str
    file_name: str
    stored: str
    outcome: str
    reason: str
    explanation: str


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class CollectLedger:
    """Reads are single statements; `batch()` is one write transaction for everything a step records."""

    def __init__(self, path: Path):
        self.path = Path(path)
        History(self.path).close()  # creates or checks the history schema
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._conn.execute("PRAGMA synchronous = FULL")
            for sql in _SCHEMA:
                self._conn.execute(sql)
        except sqlite3.Error as exc:
            raise HistoryError(f"历史库 {self.path.name} 中的报送记录无法读写：{exc}") from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"历史库 {self.path.name} 中的报送记录无法读取：{exc}") from exc

    @contextmanager
    def batch(self, at: str | None = None) -> Iterator["Batch"]:
        """One write transaction; `at`: the time the step records (now unless given)."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise HistoryError(f"历史库 {self.path.name} 正被占用或无法写入：{exc}") from exc
        try:
            yield Batch(self._conn, at or now())
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise HistoryError(f"历史库 {self.path.name} 中的报送记录无法写入：{exc}") from exc
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    # -- reads -------------------------------------------------------------------------------------------
    def rows(self, month: str) -> dict[tuple[str, str], LedgerRow]:
        out = self._query(f"SELECT {', '.join(_LEDGER_COLUMNS)} FROM collect_ledger WHERE month = ?", (month,))
        return {(r[1], r[2]): LedgerRow(*r) for r in out}

    def events(self, month: str | None = None) -> list[Event]:
        out = self._query("SELECT id, month, department, at, who, file_hash, file_name, stored, outcome, reason,"
                          " explanation FROM collect_events WHERE (? IS NULL OR month = ?) ORDER BY id", (month, month))
        return [Event(*r) for r in out]

    def seen(self, file_hash: str) -> Event | None:
        """The latest event of a file imported or sent back before (a duplicate is a no-op)."""
        out = self._query("SELECT id, month, department, at, who, file_hash, file_name, stored, outcome, reason,"
                          " explanation FROM collect_events WHERE file_hash = ? AND outcome IN ('已报', '退回')"
                          " ORDER BY id DESC LIMIT 1", (file_hash,))
        return Event(*out[0]) if out else None

    def cells(self, month: str, department: str) -> dict[tuple[str, int, str], Any]:
        out = self._query("SELECT sheet, position, column_name, value_json FROM collect_cells WHERE month = ? AND"
                          " department = ?", (month, department))
        return {(s, p, c): json.loads(v) for s, p, c, v in out}

    def deadline(self, month: str) -> dt.date | None:
        out = self._query("SELECT deadline FROM collect_months WHERE month = ?", (month,))
        return dt.date.fromisoformat(out[0][0]) if out else None

    def reminded(self, month: str) -> set[tuple[str, str]]:
        return {(d, due) for d, due in self._query("SELECT department, due FROM collect_reminders WHERE month = ?",
                                                   (month,))}

    def months_with_ledger(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT month FROM collect_ledger ORDER BY month")]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "CollectLedger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Batch:
    """The writes of one step, inside its transaction."""

    def __init__(self, conn: sqlite3.Connection, at: str):
        self._conn, self.at = conn, at

    def set_deadline(self, month: str, deadline: dt.date) -> None:
        self._conn.execute("INSERT INTO collect_months (month, deadline) VALUES (?, ?) ON CONFLICT (month) DO UPDATE"
                           " SET deadline = excluded.deadline", (month, deadline.isoformat()))

    def state(self, month: str, department: str, annex: str, state: str, *, who: str = "", file_hash: str = "",
              reason: str = "", explanation: str = "", return_file: str = "", sent: bool = False,
              submitted: bool = False) -> None:
        at = self.at
        self._conn.execute(
            "INSERT INTO collect_ledger (month, department, annex, state, sent_at, submitted_at, updated_at, who,"
            " file_hash, reason, explanation, return_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (month, department, annex) DO UPDATE SET state = excluded.state,"
            " sent_at = COALESCE(excluded.sent_at, collect_ledger.sent_at),"
            " submitted_at = COALESCE(excluded.submitted_at, collect_ledger.submitted_at),"
            " updated_at = excluded.updated_at, who = excluded.who,"
            " file_hash = CASE WHEN excluded.file_hash = '' THEN collect_ledger.file_hash ELSE excluded.file_hash END,"
            " reason = excluded.reason, explanation = excluded.explanation,"
            " return_file = CASE WHEN excluded.return_file = '' THEN collect_ledger.return_file"
            " ELSE excluded.return_file END",
            (month, department, annex, state, at if sent else None, at if submitted else None, at, who, file_hash,
             reason, explanation, return_file))

    def event(self, month: str, department: str, *, who: str, file_hash: str, file_name: str, stored: str,
              outcome: str, reason: str = "", explanation: str = "") -> None:
        self._conn.execute("INSERT INTO collect_events (month, department, at, who, file_hash, file_name, stored,"
                           " outcome, reason, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (month, department, self.at, who, file_hash, file_name, stored, outcome, reason, explanation))

    def cells(self, month: str, department: str, values: Iterable[tuple[str, int, str, Any]],
              *, keep: bool = False) -> None:
        """What the master holds in those cells now; `keep`: only where nothing is recorded yet."""
        verb = "INSERT OR IGNORE" if keep else "INSERT OR REPLACE"
        self._conn.executemany(f"{verb} INTO collect_cells (month, department, sheet, position, column_name,"
                               f" value_json) VALUES (?, ?, ?, ?, ?, ?)",
                               [(month, department, s, p, c, json.dumps(_plain(v), ensure_ascii=False))
                                for s, p, c, v in values])

    def reminded(self, month: str, department: str, due: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO collect_reminders (month, department, due, sent_at) VALUES"
                           " (?, ?, ?, ?)", (month, department, due, self.at))


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def read_ledger(path: Path) -> tuple[dict[str, list[LedgerRow]], dict[str, dt.date]]:
    """Every month's ledger rows and deadlines, read only (nothing is created: a history without a ledger, or
    no history at all, is ({}, {}))."""
    path = Path(path)
    if not path.is_file():
        return {}, {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error:
        return {}, {}
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"collect_ledger", "collect_months"} <= tables:
            return {}, {}
        rows: dict[str, list[LedgerRow]] = {}
        for r in conn.execute(f"SELECT {', '.join(_LEDGER_COLUMNS)} FROM collect_ledger ORDER BY month"):
            rows.setdefault(r[0], []).append(LedgerRow(*r))
        deadlines = {m: dt.date.fromisoformat(d) for m, d in conn.execute("SELECT month, deadline FROM collect_months")}
        return rows, deadlines
    except sqlite3.Error as exc:
        raise HistoryError(f"历史库 {path.name} 中的报送记录无法读取：{exc}") from exc
    finally:
        conn.close()
