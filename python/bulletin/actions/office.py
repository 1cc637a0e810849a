"""The office database from the action layer: where it is, `bulletin db upgrade`, and (db copy) moving a SQLite
history into it. Accounts are in accounts.py; both are shared by the CLI and, later, the console.

Where it is (decided in common.configured_database / history_store, used by every store): an office server
configures a database (BULLETIN_DATABASE_URL, else settings.yaml's database_url) and keeps everything there —
the history, the mail and submission ledgers, the accounts, the audit log. Without one, one desk keeps it
all in the history file (history.sqlite beside the workbook, or settings.yaml's history_file): the history
file already is a database at the migrations' layout, so the accounts go into it too rather than into a
second file that could be copied, backed up or lost apart from the history it belongs with."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, ContextManager

from ..adapters import office_db
from ..adapters.office_db import OfficeDB
from ..errors import UsageError
from .common import DATABASE_URL_ENV, HISTORY_NAME, Outcome, history_path, history_store

__all__ = ["DATABASE_URL_ENV", "database_url", "open_db", "step_lock", "upgrade", "copy_history"]


def database_url(history: Path | None = None) -> str:
    """BULLETIN_DATABASE_URL, else settings.yaml's database_url, else the history file (--history, settings.yaml's
    history_file, else history.sqlite in the current folder) as a SQLite URL."""
    try:
        path = history_path(None, history)
    except UsageError:  # no workbook to stand beside: the folder the command runs in
        path = Path.cwd() / HISTORY_NAME
    return office_db.location_url(history_store(path))


def step_lock(workbook: Path, on_wait: Callable[[], None] | None = None) -> ContextManager[None]:
    """Held while a step runs on the workbook, across processes: in the database of the workbook's history
    (several server processes on one PostgreSQL, or several programs on one desk's history file).
    `on_wait` is called once when another process holds it."""
    try:
        where = history_store(history_path(workbook, None))
    except UsageError:  # a workbook never saved has no history: its own folder
        where = Path.cwd() / HISTORY_NAME
    return office_db.step_lock(where, str(Path(workbook).resolve()), on_wait)


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


def copy_history(history: Path | None, to: str, *, replace: bool = False) -> Outcome:
    """`bulletin db copy --to URL`: the SQLite history file (with its mail ledger) into the database at `to`,
    counts and checksums compared table by table."""
    try:
        source_path = history_path(None, history)
    except UsageError:  # no --history and no history_file in settings.yaml
        raise UsageError("请用 --history 指定要复制的历史库文件") from None
    if not source_path.is_file():
        raise UsageError(f"历史库 {source_path} 不存在（用 --history 指定要复制的历史库文件）")
    source = office_db.read_only_sqlite(source_path)
    target = office_db.connect(to)
    try:
        copied = office_db.copy_history(source, target, replace=replace)
        with target.connect() as conn:
            months = office_db.history_months(conn)
    finally:
        source.dispose()
        target.dispose()
    outcome = Outcome(None)
    where = office_db.shown(to)
    outcome.report.append(f"已把历史库 {source_path} 复制到 {where}：")
    for t in copied:
        state = "行数和校验和一致" if t.intact else (f"不一致！源 {t.source_rows} 行（{t.source_checksum[:12]}），"
                                                 f"目标 {t.target_rows} 行（{t.target_checksum[:12]}）")
        outcome.report.append(f"  {t.table}：{t.source_rows} 行，{state}")
    intact = all(t.intact for t in copied)
    outcome.report.append(f"共 {len(months)} 个月份（{'、'.join(months) or '无'}），全部一致。" if intact else
                          "复制结果与历史库不一致，请勿使用目标数据库，并把以上内容告知技术人员。")
    outcome.failed = not intact
    outcome.extra.update(database=where, months=months, intact=intact,
                         tables={t.table: {"rows": t.target_rows, "checksum": t.target_checksum,
                                           "intact": t.intact} for t in copied})
    return outcome
