"""The office database from the action layer: where it is, `bulletin db upgrade`, and (db copy) moving a SQLite
history into it. Accounts are in accounts.py; both are shared by the CLI and, later, the console."""
from __future__ import annotations

import os
from pathlib import Path

from ..adapters import office_db
from ..adapters.office_db import OfficeDB
from ..config import load_settings
from ..errors import UsageError
from .common import Outcome, history_path

DATABASE_URL_ENV = "BULLETIN_DATABASE_URL"
OFFICE_DB_NAME = "office.sqlite"


def database_url(history: Path | None = None) -> str:
    """BULLETIN_DATABASE_URL, else settings.yaml's database_url, else the SQLite file office.sqlite beside the
    history file (--history, settings.yaml's history_file, else the current folder)."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip() or load_settings().database_url
    if url:
        return url
    try:
        folder = history_path(None, history).parent
    except UsageError:  # no workbook to stand beside: the folder the command runs in
        folder = Path.cwd()
    return office_db.sqlite_url(folder / OFFICE_DB_NAME)


def open_db(history: Path | None = None, url: str | None = None) -> OfficeDB:
    """The office database, migrated to this program's layout (a newer one is refused)."""
    return OfficeDB(url or database_url(history))


def upgrade(history: Path | None = None, url: str | None = None) -> Outcome:
    url = url or database_url(history)
    engine = office_db.connect(url)
    try:
        before, head = office_db.upgrade(engine)
    finally:
        engine.dispose()
    outcome = Outcome(None, extra={"database": office_db.shown(url), "revision": head})
    where = office_db.shown(url)
    if before == [head]:
        outcome.report.append(f"数据库 {where} 已是最新版本（{head}），无需升级。")
    else:
        was = "、".join(before) if before else "空库"
        outcome.report.append(f"数据库 {where} 已升级：{was} → {head}。")
    return outcome
