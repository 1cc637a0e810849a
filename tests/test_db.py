"""The office database (adapters/office_db.py): Alembic migrations on an empty SQLite file and an empty
database of a real PostgreSQL, idempotent; a database newer than the program refused in Chinese; the history's
tables exactly as history_sqlite.py makes them; the audit log append-only in the database itself."""
from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from bulletin.adapters import office_db
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.office_db import AuditEvent, DatabaseError, OfficeDB

TABLES = {"schema_version", "months", "scalars", "annexes", "input_rows", "result_rows", "registry_rows",
          "mail_ledger", "accounts", "sessions", "audit_log", "alembic_version", "collect_ledger", "collect_events",
          "collect_cells", "collect_months", "collect_reminders"}
HEAD = "0002"


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_is_idempotent(db_url):
    engine = office_db.connect(db_url)
    try:
        assert table_names(db_url) == set()
        before, head = office_db.upgrade(engine)
        assert before == [] and head == HEAD
        assert table_names(db_url) == TABLES
        assert office_db.upgrade(engine) == ([HEAD], HEAD)  # again: nothing to do, nothing changed
        assert office_db.revision(engine) == [HEAD]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version FROM schema_version")).all() == [(1,)]
    finally:
        engine.dispose()


def test_database_newer_than_the_program_is_refused_in_chinese(db_url):
    OfficeDB(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for migrate in (True, False):
        with pytest.raises(DatabaseError) as exc:
            OfficeDB(db_url, migrate=migrate)
        assert "9999" in str(exc.value) and "比本程序新" in str(exc.value) and "请升级程序" in str(exc.value)


def test_audit_log_is_append_only_in_the_database(db_url):
    with OfficeDB(db_url) as db:
        with db.transaction() as tx:
            tx.audit([AuditEvent("admin", "account_add", "127.0.0.1", target="张三", detail={"角色": "科员"})])
        total, [entry] = db.audit()
        assert total == 1 and entry.username == "admin" and entry.detail == {"角色": "科员"}
        assert not hasattr(db, "delete_audit") and not any(n for n in dir(db) if "update" in n or "delete" in n)
        for sql in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(sa.text(sql))
        assert db.audit()[1] == [entry]


def test_history_tables_match_history_sqlite(tmp_path):
    """The migration's history tables are those History creates: same columns, types, keys and checks."""
    own = tmp_path / "history.sqlite"
    History(own).close()
    migrated = tmp_path / "office.sqlite"
    OfficeDB(office_db.sqlite_url(migrated)).close()

    def layout(path):
        conn = sqlite3.connect(path)
        try:
            out = {}
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                # a key column counts as NOT NULL (SQLite alone lets a TEXT PRIMARY KEY hold NULL)
                cols = [(r[1], r[2].upper(), bool(r[3] or r[5]), r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]
                fks = sorted((r[2], r[3], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({table})"))
                out[table] = (cols, fks)
            return out
        finally:
            conn.close()

    mine, theirs = layout(own), layout(migrated)
    for table in ("schema_version", "months", "scalars", "annexes", "input_rows", "result_rows", "registry_rows"):
        assert theirs[table] == mine[table], table
    with History(migrated) as history:  # History itself opens the migrated file as its own
        assert history.months() == []


def test_every_write_is_all_or_nothing(db_url):
    """A transaction that fails half-way leaves nothing of itself (the killed-process case: test_accounts)."""
    with OfficeDB(db_url) as db:
        with pytest.raises(RuntimeError):
            with db.transaction() as tx:
                tx.add_account("甲", "科员", None, "h", True, "2026-01-01T00:00:00+00:00")
                tx.audit([AuditEvent("admin", "account_add", target="甲")])
                raise RuntimeError("stop")
        assert db.accounts() == [] and db.audit() == (0, [])


def test_bad_urls_are_chinese_errors(tmp_path):
    with pytest.raises(DatabaseError, match="写法不对"):
        OfficeDB("not a url")
    with pytest.raises(DatabaseError, match="只支持 SQLite 和 PostgreSQL"):
        OfficeDB("mysql://u@h/d")
    with pytest.raises(DatabaseError, match="连不上数据库服务器"):
        OfficeDB("postgresql+psycopg://u:secret@127.0.0.1:1/d")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(DatabaseError, match="不是有效的数据库"):
        OfficeDB(office_db.sqlite_url(bad))


def run_cli(*args: str, env: dict | None = None, cwd=None):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    full = {**os.environ, "PYTHONPATH": str(ROOT / "python"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bulletin", *args], capture_output=True, text=True, env=full,
                          cwd=cwd)


def test_db_upgrade_command_where_the_database_is(tmp_path, monkeypatch):
    """BULLETIN_DATABASE_URL wins; else settings.yaml's database_url; else the history file itself (one desk keeps
    history, ledgers and accounts in one file)."""
    from bulletin import config
    from bulletin.actions import office

    history = tmp_path / "desk" / "history.sqlite"
    res = run_cli("db", "upgrade", "--history", str(history), env={"BULLETIN_DATABASE_URL": ""})
    assert res.returncode == 0, res.stderr
    assert history.is_file() and "已升级：空库 → 0002" in res.stdout
    assert not (tmp_path / "desk" / "office.sqlite").exists()
    res = run_cli("db", "upgrade", "--history", str(history), env={"BULLETIN_DATABASE_URL": ""})
    assert res.returncode == 0 and "已是最新版本（0002），无需升级" in res.stdout

    elsewhere = tmp_path / "server" / "office.sqlite"
    res = run_cli("db", "upgrade", env={"BULLETIN_DATABASE_URL": office_db.sqlite_url(elsewhere)})
    assert res.returncode == 0 and elsewhere.is_file()

    folder = tmp_path / "config"
    folder.mkdir()
    text = (config.DATA_DIR / "settings.yaml").read_text(encoding="utf-8")
    assert 'database_url: ""' in text
    other = tmp_path / "configured.sqlite"
    (folder / "settings.yaml").write_text(
        text.replace('database_url: ""', f'database_url: "{office_db.sqlite_url(other)}"'), encoding="utf-8")
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
    monkeypatch.delenv(office.DATABASE_URL_ENV, raising=False)
    assert office.database_url(history) == office_db.sqlite_url(other)
    monkeypatch.setenv(office.DATABASE_URL_ENV, "postgresql+psycopg://u@h/d")
    assert office.database_url(history) == "postgresql+psycopg://u@h/d"

    (folder / "settings.yaml").write_text(text.replace('database_url: ""', "database_url: mysql://x"),
                                          encoding="utf-8")
    res = run_cli("db", "upgrade", env={config.CONFIG_DIR_ENV: str(folder), "BULLETIN_DATABASE_URL": ""})
    assert res.returncode == 2 and "settings.yaml" in res.stderr and "database_url" in res.stderr


def test_db_upgrade_refuses_a_newer_database_with_exit_2(tmp_path):
    url = office_db.sqlite_url(tmp_path / "office.sqlite")
    OfficeDB(url).close()
    conn = sqlite3.connect(tmp_path / "office.sqlite")
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.commit()
    conn.close()
    res = run_cli("db", "upgrade", env={"BULLETIN_DATABASE_URL": url})
    assert res.returncode == 2 and "比本程序新" in res.stderr and "Traceback" not in res.stderr


def test_processes_opening_an_empty_database_at_once_migrate_it_once(db_url):
    """Four processes open the same empty database together (as server processes starting at once): each gets
    a migrated database, none fails on a table another has just created."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    code = "import sys; from bulletin.adapters.office_db import OfficeDB; OfficeDB(sys.argv[1]).close(); print('ok')"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    assert table_names(db_url) == TABLES
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [("0002",)]
        assert conn.execute(sa.text("SELECT version FROM schema_version")).all() == [(1,)]
    engine.dispose()
