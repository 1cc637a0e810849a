"""The send ledger: one row per (month, department) in the history SQLite file, table ``mail_ledger``.

A message is recorded as ``pending`` (with its content hash and recipients) in its own committed
transaction before it is handed to the server, and right after as ``sent`` (with the server's answer and
the recipients it refused, if any), ``failed`` (refused before its data went out: safe to retry) or
``uncertain`` (the link was lost after the data went out and before the server's answer). A row left
``pending`` means the process died mid-send. Neither pending nor uncertain is ever sent again unless the
user forces it (--resend): nobody knows whether the server took the message.

The table lives beside the history's own tables; the file is opened through ``History`` first so a new
file gets the history schema (History refuses a file holding only foreign tables).
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .history_sqlite import BUSY_TIMEOUT_SECONDS, History, HistoryError

STATUSES = ("pending", "sent", "failed", "uncertain")
_COLUMNS = "month, department, content_hash, recipients, status, answer, attempts, updated_at, sent_at"
_SCHEMA = """CREATE TABLE IF NOT EXISTS {table} (
    month         TEXT    NOT NULL,
    department    TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    recipients    TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'uncertain')),
    answer        TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT    NOT NULL,
    sent_at       TEXT,
    refused       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (month, department)
)"""


@dataclass(frozen=True)
class Entry:
    """One department's mail of a month in the ledger, with its state."""

    month: str
    department: str
    content_hash: str
    recipients: str
    status: str
    answer: str
    attempts: int
    updated_at: str
    sent_at: str | None
    refused: str = ""  # recipients the server refused while it took the message for the others


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class MailLedger:
    """Every method is one short transaction, committed before it returns."""

    def __init__(self, path: Path):
        self.path = Path(path)
        History(self.path).close()  # creates or checks the history schema
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute(_SCHEMA.format(table="mail_ledger"))
            self._upgrade()
        except sqlite3.Error as exc:
            raise HistoryError(f"历史库 {self.path.name} 中的发送记录无法读写：{exc}") from exc

    def _upgrade(self) -> None:
        """A ledger written before the uncertain state: its rows copied into the new table, in one
        transaction (a CHECK constraint cannot be altered in place)."""
        (sql,) = self._conn.execute("SELECT sql FROM sqlite_master WHERE name = 'mail_ledger'").fetchone()
        if "uncertain" in sql:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(_SCHEMA.format(table="mail_ledger_new"))
            self._conn.execute(f"INSERT INTO mail_ledger_new ({_COLUMNS}) SELECT {_COLUMNS} FROM mail_ledger")
            self._conn.execute("DROP TABLE mail_ledger")
            self._conn.execute("ALTER TABLE mail_ledger_new RENAME TO mail_ledger")
            self._conn.execute("COMMIT")
        except sqlite3.Error:
            self._conn.execute("ROLLBACK")
            raise

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            rows = self._conn.execute(sql, params).fetchall()
            self._conn.execute("COMMIT")
            return rows
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise HistoryError(f"历史库 {self.path.name} 中的发送记录无法读写：{exc}") from exc

    def entries(self, month: str) -> dict[str, Entry]:
        rows = self._run(f"SELECT {_COLUMNS}, refused FROM mail_ledger WHERE month = ? ORDER BY rowid", (month,))
        return {r[1]: Entry(*r) for r in rows}

    def pending(self, month: str, department: str, content_hash: str, recipients: str) -> None:
        """Before the message goes to the server."""
        self._run("INSERT INTO mail_ledger (month, department, content_hash, recipients, status, answer, attempts,"
                  " updated_at) VALUES (?, ?, ?, ?, 'pending', '', 1, ?)"
                  " ON CONFLICT (month, department) DO UPDATE SET content_hash = excluded.content_hash,"
                  " recipients = excluded.recipients, status = 'pending', answer = '', refused = '',"
                  " attempts = mail_ledger.attempts + 1, updated_at = excluded.updated_at",
                  (month, department, content_hash, recipients, _now()))

    def sent(self, month: str, department: str, answer: str, refused: str = "") -> None:
        now = _now()
        self._run("UPDATE mail_ledger SET status = 'sent', answer = ?, refused = ?, updated_at = ?, sent_at = ?"
                  " WHERE month = ? AND department = ?", (answer, refused, now, now, month, department))

    def uncertain(self, month: str, department: str, reason: str) -> None:
        self._run("UPDATE mail_ledger SET status = 'uncertain', answer = ?, updated_at = ? WHERE month = ? AND"
                  " department = ?", (reason, _now(), month, department))

    def failed(self, month: str, department: str, reason: str) -> None:
        self._run("UPDATE mail_ledger SET status = 'failed', answer = ?, updated_at = ? WHERE month = ? AND"
                  " department = ?", (reason, _now(), month, department))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "MailLedger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
