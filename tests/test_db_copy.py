"""`bulletin db copy --to URL`: a history built from the bundled samples (with a mail ledger) moved into a
real PostgreSQL arrives intact -- row counts and checksums per table, and the months read back through History
are those of the original -- a target holding months is refused unless --replace, and the copy is one
transaction."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bulletin.adapters import office_db
from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.mail_ledger import MailLedger
from bulletin.adapters.office_db import DatabaseError, OfficeDB
from bulletin.core.month import month_json

from conftest import POSTGRES, ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
pytestmark = POSTGRES


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "python"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bulletin", *args], capture_output=True, text=True, env=full)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """May and June imported by the CLI, as an office builds its history, plus a mail ledger of two sends and
    July's submission ledger (its fill-in workbooks sent as drafts)."""
    desk = tmp_path_factory.mktemp("desk")
    path = desk / "history.sqlite"
    for workbook in (MAY, SAMPLE):
        res = cli("import-month", str(workbook), "--history", str(path))
        assert res.returncode == 0, res.stderr
    july = desk / "通报数据-2023-07.xlsx"
    res = cli("template", "--month", "2023-07", "-o", str(july), "--history", str(path))
    assert res.returncode == 0, res.stderr
    res = cli("collect", "send", str(july), "--history", str(path), "--out", str(desk / "out"))
    assert res.returncode == 0, res.stdout + res.stderr
    with MailLedger(path) as ledger:
        ledger.pending("2023-06", "交通局", "hash1", "jtj@yindu.example")
        ledger.sent("2023-06", "交通局", "250 OK")
        ledger.pending("2023-06", "住建局", "hash2", "zjj@yindu.example")
        ledger.uncertain("2023-06", "住建局", "连接中断")
    return path


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in office_db.HISTORY_TABLES}
    finally:
        conn.close()


def months_of(path: Path) -> dict:
    with History(path) as h:
        return {m: month_json(d) for m, d in h.load_many().items()}


def test_copy_to_postgresql_arrives_intact(history, postgres_server, tmp_path):
    url = postgres_server()
    expected = counts(history)
    assert expected["months"] == 2 and expected["input_rows"] > 100 and expected["mail_ledger"] == 2
    assert expected["collect_ledger"] > 30 and expected["collect_months"] == 1
    res = cli("db", "copy", "--to", url, "--history", str(history))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"已把历史库 {history} 复制到 {office_db.shown(url)}："
    for table in office_db.HISTORY_TABLES:
        assert f"  {table}：{expected[table]} 行，行数和校验和一致" in lines
    assert lines[-1] == "共 2 个月份（2023-05、2023-06），全部一致。"

    # the target's rows, read by plain SQL, are the source's (an independent check of the checksums)
    engine = sa.create_engine(url)
    src = sqlite3.connect(history)
    try:
        with engine.connect() as conn:
            for table, key in office_db.HISTORY_TABLES.items():
                columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
                order = ", ".join(key)
                mine = src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()
                theirs = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")).all()
                assert [tuple(r) for r in theirs] == mine, table
    finally:
        src.close()
        engine.dispose()

    # the ported stores read the copy on PostgreSQL itself: the same months, mail states and submission ledger
    with History(url) as h:
        assert {m: month_json(d) for m, d in h.load_many().items()} == months_of(history)
    with MailLedger(url) as ledger:
        assert {d: e.status for d, e in ledger.entries("2023-06").items()} == {"交通局": "sent", "住建局": "uncertain"}
    with CollectLedger(url) as on_server, CollectLedger(history) as on_desk:
        assert on_server.rows("2023-07") == on_desk.rows("2023-07") and len(on_server.rows("2023-07")) > 30
        assert on_server.deadline("2023-07") == on_desk.deadline("2023-07") is not None
        assert on_server.events() == on_desk.events()

    # History-equivalent reads: copied back from PostgreSQL into a fresh file, History loads the same months
    back = tmp_path / "back.sqlite"
    source, target = office_db.connect(url), office_db.connect(office_db.sqlite_url(back))
    try:
        assert all(t.intact for t in office_db.copy_history(source, target))
    finally:
        source.dispose(), target.dispose()
    assert months_of(back) == months_of(history)
    with MailLedger(back) as ledger:
        entries = ledger.entries("2023-06")
    assert {d: e.status for d, e in entries.items()} == {"交通局": "sent", "住建局": "uncertain"}


def test_a_target_with_months_is_refused_unless_replace(history, postgres_server, tmp_path):
    url = postgres_server()
    assert cli("db", "copy", "--to", url, "--history", str(history)).returncode == 0
    # a second, smaller history: June only
    june_only = tmp_path / "june.sqlite"
    assert cli("import-month", str(SAMPLE), "--history", str(june_only)).returncode == 0
    res = cli("db", "copy", "--to", url, "--history", str(june_only))
    assert res.returncode == 2
    assert "已有 2 个月份的历史（2023-05、2023-06）；如要用本历史库替换，请加 --replace" in res.stderr
    with OfficeDB(url) as db, db.engine.connect() as conn:
        assert office_db.history_months(conn) == ["2023-05", "2023-06"]
    res = cli("db", "copy", "--to", url, "--history", str(june_only), "--replace", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["months"] == ["2023-06"] and out["intact"] and out["tables"]["mail_ledger"]["rows"] == 0


def test_a_failed_copy_leaves_the_target_untouched(history, postgres_server, tmp_path):
    """A row the target refuses (here: a ledger status its CHECK does not allow) rolls the whole copy back."""
    url = postgres_server()
    assert cli("db", "copy", "--to", url, "--history", str(history)).returncode == 0
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(history.read_bytes())
    conn = sqlite3.connect(broken)
    conn.execute("DROP TABLE mail_ledger")  # a ledger table without its CHECK, holding a bad status
    conn.execute("CREATE TABLE mail_ledger (month TEXT, department TEXT, content_hash TEXT, recipients TEXT,"
                 " status TEXT, answer TEXT, attempts INTEGER, updated_at TEXT, sent_at TEXT, refused TEXT)")
    conn.execute("INSERT INTO mail_ledger VALUES ('2023-06', '交通局', 'h', 'r', 'lost', '', 1, 't', NULL, '')")
    conn.execute("DELETE FROM months WHERE month = '2023-05'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="目标数据库未作任何改动"):
        source, target = office_db.read_only_sqlite(broken), office_db.connect(url)
        try:
            office_db.copy_history(source, target, replace=True)
        finally:
            source.dispose(), target.dispose()
    with OfficeDB(url) as db, db.engine.connect() as c:
        assert office_db.history_months(c) == ["2023-05", "2023-06"]
        assert c.execute(sa.text("SELECT COUNT(*) FROM mail_ledger")).scalar_one() == 2


def test_copy_refuses_what_is_not_a_history(tmp_path, postgres_server):
    url = postgres_server()
    res = cli("db", "copy", "--to", url, "--history", str(tmp_path / "none.sqlite"))
    assert res.returncode == 2 and "不存在" in res.stderr
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    res = cli("db", "copy", "--to", url, "--history", str(other))
    assert res.returncode == 2 and "不是通报历史库" in res.stderr and "Traceback" not in res.stderr


def test_a_history_made_before_the_office_database_is_copied_and_read_on_postgresql(postgres_server, tmp_path):
    """The fixture file made by the sqlite3 code (no Alembic) moves as it is, and the stores read it there."""
    old = tmp_path / "history.sqlite"
    old.write_bytes((Path(__file__).with_name("fixtures") / "history-pre-alembic.sqlite").read_bytes())
    expected = counts(old)
    url = postgres_server()
    res = cli("db", "copy", "--to", url, "--history", str(old))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[-1] == "共 2 个月份（2023-05、2023-06），全部一致。"
    assert counts(old) == expected  # the source is only read (not even adopted)
    with sqlite3.connect(old) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchall() == []
    with History(url) as h:
        copied = {m: month_json(d) for m, d in h.load_many().items()}
    assert copied == months_of(old) and sorted(copied) == ["2023-05", "2023-06"]
    with CollectLedger(url) as ledger:
        assert [e.outcome for e in ledger.events("2023-07")] == ["已报", "退回"]
        with ledger.batch() as b:  # ids go on after the copied ones
            b.event("2023-07", "殷都区税务局", who="sw", file_hash="f2", file_name="b.xlsx", stored="s", outcome="已报")
        assert [e.id for e in ledger.events()] == [1, 2, 3]
