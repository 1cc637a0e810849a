"""The send ledger: one row per (month, department) in the history's database, table ``mail_ledger``.

A message is recorded as ``pending`` (with its content hash and recipients) in its own committed
transaction before it is handed to the server, and right after as ``sent`` (with the server's answer and
the recipients it refused, if any), ``failed`` (refused before its data went out: safe to retry) or
``uncertain`` (the link was lost after the data went out and before the server's answer). A row left
``pending`` means the process died mid-send. Neither pending nor uncertain is ever sent again unless the
user forces it (--resend): nobody knows whether the server took the message.

The table lives beside the history's own tables, in the same database (office_db.Store: the history file of
one desk or the office server's PostgreSQL).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .history_sqlite import HistoryError
from .office_db import Store, reason

STATUSES = ("pending", "sent", "failed", "uncertain")
_COLUMNS = "month, department, content_hash, recipients, status, answer, attempts, updated_at, sent_at"


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


class MailLedger(Store):
    """Every method is one short transaction, committed before it returns."""

    label = "历史库"
    error = HistoryError

    def _fail(self, exc: BaseException, doing: str = "读写失败") -> HistoryError:
        return HistoryError(f"历史库 {self.name} 中的发送记录无法读写：{reason(exc)}")

    def _run(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        with self.write() as conn:
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []

    def entries(self, month: str) -> dict[str, Entry]:
        with self.read() as conn:
            rows = conn.execute(sa.text(f"SELECT {_COLUMNS}, refused FROM mail_ledger WHERE month = :month"
                                        " ORDER BY department"), {"month": month}).all()
        return {r[1]: Entry(*r) for r in rows}

    def pending(self, month: str, department: str, content_hash: str, recipients: str) -> None:
        """Before the message goes to the server."""
        self._run("INSERT INTO mail_ledger (month, department, content_hash, recipients, status, answer, attempts,"
                  " updated_at, refused) VALUES (:month, :department, :hash, :recipients, 'pending', '', 1, :now, '')"
                  " ON CONFLICT (month, department) DO UPDATE SET content_hash = excluded.content_hash,"
                  " recipients = excluded.recipients, status = 'pending', answer = '', refused = '',"
                  " attempts = mail_ledger.attempts + 1, updated_at = excluded.updated_at",
                  {"month": month, "department": department, "hash": content_hash, "recipients": recipients,
                   "now": _now()})

    def sent(self, month: str, department: str, answer: str, refused: str = "") -> None:
        now = _now()
        self._run("UPDATE mail_ledger SET status = 'sent', answer = :answer, refused = :refused, updated_at = :now,"
                  " sent_at = :now WHERE month = :month AND department = :department",
                  {"answer": answer, "refused": refused, "now": now, "month": month, "department": department})

    def uncertain(self, month: str, department: str, reason: str) -> None:
        self._status("uncertain", month, department, reason)

    def failed(self, month: str, department: str, reason: str) -> None:
        self._status("failed", month, department, reason)

    def _status(self, status: str, month: str, department: str, reason: str) -> None:
        self._run("UPDATE mail_ledger SET status = :status, answer = :answer, updated_at = :now WHERE month = :month"
                  " AND department = :department", {"status": status, "answer": reason, "now": _now(),
                                                    "month": month, "department": department})
