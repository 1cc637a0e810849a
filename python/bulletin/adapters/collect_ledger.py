"""The submission ledger of the collection loop, beside the history in the office database (office_db.Store:
the history file of one desk or the office server's PostgreSQL; the tables are migration 0002's):

- ``collect_ledger``   month, department, annex: the state (未发/已发/已报/逾期未报/退回/已确认/无需报送),
                       sent_at, submitted_at, updated_at, who, file_hash, reason, explanation, return_file
- ``collect_events``   every return received, in order (both an earlier and a later return are kept): month,
                       department, at, who, file_hash, file_name, stored, outcome, reason, explanation
- ``collect_cells``    month, department, sheet, position, column, value_json: what the send or the last import
                       left in each of the department's input cells of the master (to tell a clerk's hand edit)
- ``collect_months``   month, deadline
- ``collect_reminders`` month, department, due, sent_at: one reminder per due date

All the writes of one step go in one transaction (`batch()`, office_db.Store.write): a process killed mid-way
leaves the previous state, on SQLite as on PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .history_sqlite import HistoryError
from .office_db import Store, connect, location_url, read_only_sqlite, reason, shown

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


_EVENT_COLUMNS = "id, month, department, at, who, file_hash, file_name, stored, outcome, reason, explanation"


class CollectLedger(Store):
    """Reads are single statements; `batch()` is one write transaction for everything a step records."""

    label = "历史库"
    error = HistoryError

    def _fail(self, exc: BaseException, doing: str = "读写失败") -> HistoryError:
        return HistoryError(f"历史库 {self.name} 中的报送记录无法读写：{reason(exc)}")

    def _query(self, sql: str, **params: Any) -> list[tuple]:
        with self.read() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    @contextmanager
    def batch(self, at: str | None = None) -> Iterator["Batch"]:
        """One write transaction; `at`: the time the step records (now unless given)."""
        with self.write() as conn:
            yield Batch(conn, at or now())

    # -- reads -------------------------------------------------------------------------------------------
    def rows(self, month: str) -> dict[tuple[str, str], LedgerRow]:
        out = self._query(f"SELECT {', '.join(_LEDGER_COLUMNS)} FROM collect_ledger WHERE month = :month",
                          month=month)
        return {(r[1], r[2]): LedgerRow(*r) for r in out}

    def events(self, month: str | None = None) -> list[Event]:
        where = "" if month is None else " WHERE month = :month"
        return [Event(*r) for r in self._query(f"SELECT {_EVENT_COLUMNS} FROM collect_events{where} ORDER BY id",
                                               month=month)]

    def seen(self, file_hash: str) -> Event | None:
        """The latest event of a file imported or sent back before (a duplicate is a no-op)."""
        out = self._query(f"SELECT {_EVENT_COLUMNS} FROM collect_events WHERE file_hash = :hash AND outcome IN"
                          " ('已报', '退回') ORDER BY id DESC LIMIT 1", hash=file_hash)
        return Event(*out[0]) if out else None

    def cells(self, month: str, department: str) -> dict[tuple[str, int, str], Any]:
        out = self._query("SELECT sheet, position, column_name, value_json FROM collect_cells WHERE month = :month"
                          " AND department = :department", month=month, department=department)
        return {(s, p, c): json.loads(v) for s, p, c, v in out}

    def deadline(self, month: str) -> dt.date | None:
        out = self._query("SELECT deadline FROM collect_months WHERE month = :month", month=month)
        return dt.date.fromisoformat(out[0][0]) if out else None

    def reminded(self, month: str) -> set[tuple[str, str]]:
        return {(d, due) for d, due in self._query("SELECT department, due FROM collect_reminders WHERE"
                                                   " month = :month", month=month)}

    def months_with_ledger(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT month FROM collect_ledger ORDER BY month")]


class Batch:
    """The writes of one step, inside its transaction."""

    def __init__(self, conn: Connection, at: str):
        self._conn, self.at = conn, at

    def _run(self, sql: str, params: Any) -> None:
        self._conn.execute(sa.text(sql), params)

    def set_deadline(self, month: str, deadline: dt.date) -> None:
        self._run("INSERT INTO collect_months (month, deadline) VALUES (:month, :deadline) ON CONFLICT (month)"
                  " DO UPDATE SET deadline = excluded.deadline", {"month": month, "deadline": deadline.isoformat()})

    def state(self, month: str, department: str, annex: str, state: str, *, who: str = "", file_hash: str = "",
              reason: str = "", explanation: str = "", return_file: str = "", sent: bool = False,
              submitted: bool = False) -> None:
        at = self.at
        self._run(
            "INSERT INTO collect_ledger (month, department, annex, state, sent_at, submitted_at, updated_at, who,"
            " file_hash, reason, explanation, return_file) VALUES (:month, :department, :annex, :state, :sent_at,"
            " :submitted_at, :updated_at, :who, :file_hash, :reason, :explanation, :return_file)"
            " ON CONFLICT (month, department, annex) DO UPDATE SET state = excluded.state,"
            " sent_at = COALESCE(excluded.sent_at, collect_ledger.sent_at),"
            " submitted_at = COALESCE(excluded.submitted_at, collect_ledger.submitted_at),"
            " updated_at = excluded.updated_at, who = excluded.who,"
            " file_hash = CASE WHEN excluded.file_hash = '' THEN collect_ledger.file_hash ELSE excluded.file_hash END,"
            " reason = excluded.reason, explanation = excluded.explanation,"
            " return_file = CASE WHEN excluded.return_file = '' THEN collect_ledger.return_file"
            " ELSE excluded.return_file END",
            {"month": month, "department": department, "annex": annex, "state": state,
             "sent_at": at if sent else None, "submitted_at": at if submitted else None, "updated_at": at,
             "who": who, "file_hash": file_hash, "reason": reason, "explanation": explanation,
             "return_file": return_file})

    def event(self, month: str, department: str, *, who: str, file_hash: str, file_name: str, stored: str,
              outcome: str, reason: str = "", explanation: str = "") -> None:
        self._run("INSERT INTO collect_events (month, department, at, who, file_hash, file_name, stored, outcome,"
                  " reason, explanation) VALUES (:month, :department, :at, :who, :file_hash, :file_name, :stored,"
                  " :outcome, :reason, :explanation)",
                  {"month": month, "department": department, "at": self.at, "who": who, "file_hash": file_hash,
                   "file_name": file_name, "stored": stored, "outcome": outcome, "reason": reason,
                   "explanation": explanation})

    def cells(self, month: str, department: str, values: Iterable[tuple[str, int, str, Any]],
              *, keep: bool = False) -> None:
        """What the master holds in those cells now; `keep`: only where nothing is recorded yet."""
        rows = [{"month": month, "department": department, "sheet": s, "position": p, "column_name": c,
                 "value_json": json.dumps(_plain(v), ensure_ascii=False)} for s, p, c, v in values]
        if rows:
            self._run("INSERT INTO collect_cells (month, department, sheet, position, column_name, value_json)"
                      " VALUES (:month, :department, :sheet, :position, :column_name, :value_json)"
                      " ON CONFLICT (month, department, sheet, position, column_name) DO "
                      + ("NOTHING" if keep else "UPDATE SET value_json = excluded.value_json"), rows)

    def reminded(self, month: str, department: str, due: str) -> None:
        self._run("INSERT INTO collect_reminders (month, department, due, sent_at) VALUES (:month, :department,"
                  " :due, :at) ON CONFLICT (month, department, due) DO NOTHING",
                  {"month": month, "department": department, "due": due, "at": self.at})


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def read_ledger(where: Path | str) -> tuple[dict[str, list[LedgerRow]], dict[str, dt.date]]:
    """Every month's ledger rows and deadlines, read only (nothing is created: a history without a ledger, or
    no history at all, is ({}, {}))."""
    url = location_url(where)
    file = sa.make_url(url).database if url.startswith("sqlite") else None
    if file is not None:
        if not Path(file).is_file():
            return {}, {}
        engine = read_only_sqlite(Path(file))
    else:
        engine = connect(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if not {"collect_ledger", "collect_months"} <= tables:
                return {}, {}
            rows: dict[str, list[LedgerRow]] = {}
            for r in conn.execute(sa.text(f"SELECT {', '.join(_LEDGER_COLUMNS)} FROM collect_ledger ORDER BY month")):
                rows.setdefault(r[0], []).append(LedgerRow(*r))
            deadlines = {m: dt.date.fromisoformat(d)
                         for m, d in conn.execute(sa.text("SELECT month, deadline FROM collect_months"))}
            return rows, deadlines
    except sa.exc.SQLAlchemyError as exc:
        raise HistoryError(f"历史库 {Path(file).name if file else shown(url)} 中的报送记录无法读取："
                           f"{reason(exc)}") from exc
    finally:
        engine.dispose()
