"""The history, the mail ledger and the submission ledger on both databases (the `db_url` fixture: a SQLite file,
then the session's real PostgreSQL): a round trip of months, the mail states, the submission ledger's batch that
a killed process leaves old-or-new, and a history file made before the office database adopted intact."""
from __future__ import annotations

import datetime as dt
from contextlib import closing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.adapters.collect_ledger import CollectLedger, read_ledger
from bulletin.adapters.history_sqlite import History, HistoryError
from bulletin.adapters.mail_ledger import MailLedger
from bulletin.core.month import month_json

from conftest import ROOT, SAMPLE, python_child

OLD = Path(__file__).with_name("fixtures") / "history-pre-alembic.sqlite"  # made by the sqlite3 code (see its script)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")])}


def stored(data) -> dict:
    """A month as the history keeps it: every input and recomputed figure (the reading's problems are not kept)."""
    return {k: v for k, v in month_json(data).items() if k != "problems"}


def test_history_round_trip(db_url, june, may):
    with History(db_url) as h:
        assert h.months() == [] and not h.has("2023-06") and h.latest_registry() is None
        h.store(june, source="june.xlsx")
        h.store(may, source="may.xlsx")
        h.store(june, source="june-again.xlsx")  # replaces, in one transaction
        assert h.months() == ["2023-05", "2023-06"] and h.has("2023-05")
        loaded = h.load_many()
        registry = h.latest_registry(before="2023-06")
    assert stored(loaded["2023-06"]) == stored(june) and stored(loaded["2023-05"]) == stored(may)
    assert registry is not None and registry[0] == "2023-05" and registry[1] == may.registry.rows(stored=True)
    with History(db_url) as h, pytest.raises(HistoryError, match="2023-04"):
        h.load("2023-04")


def test_mail_ledger_states(db_url):
    with MailLedger(db_url) as m:
        m.pending("2023-06", "交通局", "h1", "a@x")
        m.sent("2023-06", "交通局", "250 OK", "b@x")
        m.pending("2023-06", "税务局", "h2", "c@x")
        m.uncertain("2023-06", "税务局", "连接中断")
        m.pending("2023-06", "公安分局", "h3", "d@x")
        m.failed("2023-06", "公安分局", "拒收")
        m.pending("2023-06", "公安分局", "h4", "d@x")  # a retry: counted, its answer cleared
        entries = m.entries("2023-06")
        assert m.entries("2023-05") == {}
    assert {d: (e.status, e.attempts, e.answer) for d, e in entries.items()} == {
        "交通局": ("sent", 1, "250 OK"), "税务局": ("uncertain", 1, "连接中断"), "公安分局": ("pending", 2, "")}
    assert entries["交通局"].refused == "b@x" and entries["交通局"].sent_at is not None
    assert entries["公安分局"].content_hash == "h4" and entries["税务局"].sent_at is None


def test_collect_ledger_reads_and_a_failed_batch_leaves_nothing(db_url):
    with CollectLedger(db_url) as ledger:
        with ledger.batch("2023-07-03T09:00:00+08:00") as b:
            b.set_deadline("2023-07", dt.date(2023, 7, 5))
            b.state("2023-07", "交通局", "附件1", "已发", sent=True)
            b.event("2023-07", "交通局", who="jt", file_hash="f1", file_name="a.xlsx", stored="s", outcome="已报")
            b.cells("2023-07", "交通局", [("附件1", 0, "事项总数", 89)])
            b.cells("2023-07", "交通局", [("附件1", 0, "事项总数", 90), ("附件1", 1, "备注", dt.date(2023, 7, 1))],
                    keep=True)  # only where nothing is recorded yet
            b.reminded("2023-07", "交通局", "2023-07-05")
            b.reminded("2023-07", "交通局", "2023-07-05")  # once per due date
        with ledger.batch("2023-07-04T10:00:00+08:00") as b:
            b.state("2023-07", "交通局", "附件1", "已报", who="jt", file_hash="f1", submitted=True)
        with pytest.raises(RuntimeError), ledger.batch() as b:
            b.state("2023-07", "交通局", "附件1", "退回", reason="x")
            b.set_deadline("2023-07", dt.date(2023, 7, 9))
            raise RuntimeError("the step failed half-way")
        row = ledger.rows("2023-07")[("交通局", "附件1")]
        assert (row.state, row.sent_at, row.submitted_at, row.file_hash) == (
            "已报", "2023-07-03T09:00:00+08:00", "2023-07-04T10:00:00+08:00", "f1")
        assert ledger.deadline("2023-07") == dt.date(2023, 7, 5) and ledger.deadline("2023-08") is None
        assert ledger.cells("2023-07", "交通局") == {("附件1", 0, "事项总数"): 89, ("附件1", 1, "备注"): "2023-07-01"}
        assert ledger.reminded("2023-07") == {("交通局", "2023-07-05")}
        assert [e.file_hash for e in ledger.events()] == ["f1"] and ledger.seen("f1").department == "交通局"
        assert ledger.seen("nothing") is None and ledger.months_with_ledger() == ["2023-07"]
    rows, deadlines = read_ledger(db_url)
    assert [r.state for r in rows["2023-07"]] == ["已报"] and deadlines == {"2023-07": dt.date(2023, 7, 5)}


# The child writes one step's batch and stops half-way (the rows so far sent to the database, uncommitted); the
# parent kills it: the ledger is the one before the batch, on SQLite (the journal) as on PostgreSQL (the server
# rolls back the transaction of a client that is gone).
CHILD = r"""
import sys, time
from bulletin.adapters.collect_ledger import CollectLedger

with CollectLedger(sys.argv[1]) as ledger, ledger.batch() as b:
    for i in range(40):
        b.state("2023-07", f"单位{i}", "附件1", "已报", submitted=True)
        b.event("2023-07", f"单位{i}", who="x", file_hash=f"k{i}", file_name="f", stored="s", outcome="已报")
    print("HALF", flush=True)
    time.sleep(300)
"""


def test_a_killed_batch_leaves_the_ledger_old(db_url):
    with CollectLedger(db_url) as ledger, ledger.batch() as b:
        b.state("2023-07", "单位0", "附件1", "已发", sent=True)
    with python_child(CHILD, db_url) as child:
        marker = child.stdout.readline().strip()
        assert marker == "HALF", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with CollectLedger(db_url) as ledger:
        assert {k: r.state for k, r in ledger.rows("2023-07").items()} == {("单位0", "附件1"): "已发"}
        assert ledger.events() == []
        with ledger.batch() as b:  # and it is writable again (no lock left behind)
            b.state("2023-07", "单位1", "附件1", "已报", submitted=True)
        assert len(ledger.rows("2023-07")) == 2


def sql(path: Path, script: str) -> None:
    """Raw SQL on a SQLite file, as another program would write it."""
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(script)


def _old_tables(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        conn.close()


def test_a_history_file_made_before_the_office_database_is_adopted(tmp_path, june, may):
    path = tmp_path / "history.sqlite"
    shutil.copy(OLD, path)
    before = _old_tables(path)
    assert "alembic_version" not in before and before["schema_version"] == 1 and before["months"] == 2
    with History(path) as h:
        assert h.months() == ["2023-05", "2023-06"]
        assert stored(h.load("2023-06")) == stored(june) and stored(h.load("2023-05")) == stored(may)
    after = _old_tables(path)
    assert {t: n for t, n in after.items() if t in before} == before  # every row kept
    assert set(after) - set(before) == {"alembic_version", "accounts", "sessions", "audit_log"}
    with MailLedger(path) as m:
        assert {d: e.status for d, e in m.entries("2023-06").items()} == {"殷都区交通局": "sent",
                                                                            "殷都区税务局": "uncertain"}
    with CollectLedger(path) as ledger:
        assert ledger.deadline("2023-07") == dt.date(2023, 7, 5)
        assert {k: r.state for k, r in ledger.rows("2023-07").items()} == {
            ("殷都区交通局", "附件1"): "已报", ("殷都区税务局", "附件1"): "已发"}
        assert [e.outcome for e in ledger.events("2023-07")] == ["已报", "退回"]
        with ledger.batch() as b:  # new rows after the old ones (the old AUTOINCREMENT table kept)
            b.event("2023-07", "殷都区税务局", who="sw", file_hash="f2", file_name="b.xlsx", stored="s", outcome="已报")
        assert [e.id for e in ledger.events()] == [1, 2, 3]
    with History(path) as h:  # and writable: a month replaced
        h.store(june, source="again.xlsx")
        assert h.months() == ["2023-05", "2023-06"]
    # the earlier program still reads it: its schema_version is untouched
    assert sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall() == [(1,)]


def test_an_old_mail_ledger_without_the_uncertain_state_is_rebuilt(tmp_path):
    """A ledger from before the uncertain state (its CHECK lists three states, no refused column), as the sqlite3
    code rebuilt it on open: the migration does the same, rows kept."""
    path = tmp_path / "history.sqlite"
    shutil.copy(OLD, path)
    sql(path, """
        DROP TABLE mail_ledger;
        CREATE TABLE mail_ledger (
            month TEXT NOT NULL, department TEXT NOT NULL, content_hash TEXT NOT NULL, recipients TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
            answer TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
            sent_at TEXT, PRIMARY KEY (month, department));
        INSERT INTO mail_ledger VALUES ('2023-06', '交通局', 'h', 'a@x', 'sent', '250', 1, 't', 't');
    """)
    with MailLedger(path) as m:
        assert {d: (e.status, e.refused) for d, e in m.entries("2023-06").items()} == {"交通局": ("sent", "")}
        m.pending("2023-06", "税务局", "h2", "b@x")
        m.uncertain("2023-06", "税务局", "连接中断")
        assert m.entries("2023-06")["税务局"].status == "uncertain"


def test_a_file_of_foreign_tables_or_a_newer_history_is_refused(tmp_path):
    foreign = tmp_path / "other.sqlite"
    sql(foreign, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(HistoryError, match="不是通报历史库"):
        History(foreign)
    newer = tmp_path / "newer.sqlite"
    shutil.copy(OLD, newer)
    sql(newer, "UPDATE schema_version SET version = 2")
    with pytest.raises(HistoryError, match="比本程序新"):
        CollectLedger(newer)
    assert "alembic_version" not in _old_tables(newer)  # refused before anything was written


def test_with_a_database_configured_the_steps_keep_history_and_ledgers_there(db_url, tmp_path):
    """An office server (BULLETIN_DATABASE_URL): import-month, template and the collection's send write the
    month, and the submission ledger into that database; no history file appears beside the workbook."""
    env = {**ENV, "BULLETIN_DATABASE_URL": db_url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "bulletin", *args], capture_output=True, text=True, env=env,
                             cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        return res

    desk = tmp_path / "desk"
    desk.mkdir()
    book = desk / "通报数据-2023-06.xlsx"
    shutil.copy(SAMPLE, book)
    cli("import-month", str(book))
    july = desk / "通报数据-2023-07.xlsx"
    cli("template", "--month", "2023-07", "-o", str(july))
    cli("collect", "send", str(july), "--out", str(desk / "out"))
    assert not (desk / "history.sqlite").exists()
    with History(db_url) as h:
        assert h.months() == ["2023-06"]
    with CollectLedger(db_url) as ledger:
        assert ledger.rows("2023-07") and ledger.deadline("2023-07") is not None
    from bulletin.actions.office import open_db

    with open_db(url=db_url) as db:  # the command line's steps on the server's workbook are in its audit log
        steps = [(e.username.endswith("（命令行）"), e.from_address, e.target, e.month, e.new_value)
                 for e in db.audit_all(action="month_step", newest_first=False)]
    assert steps == [(True, "本机", "导入往月数据", "2023-06", "完成"), (True, "本机", "下发报送表", "2023-07", "完成")]


def test_on_an_office_server_the_command_line_waits_for_the_servers_step(tmp_path):
    """With a database configured, a command's step on a workbook takes the servers' step lock: while a server
    process holds the workbook, `bulletin run` waits (and says so), then runs."""
    import threading

    from bulletin.actions import office

    url = f"sqlite:///{(tmp_path / 'office.sqlite').as_posix()}"
    book = tmp_path / "通报数据-2023-06.xlsx"
    shutil.copy(SAMPLE, book)
    env = {**ENV, "BULLETIN_DATABASE_URL": url}
    os.environ["BULLETIN_DATABASE_URL"] = url  # the lock taken here, as a server process would
    try:
        held, release = threading.Event(), threading.Event()

        def server_step() -> None:
            with office.step_lock(book):
                held.set()
                release.wait(60)

        server = threading.Thread(target=server_step)
        server.start()
        assert held.wait(30)
        cli = subprocess.Popen([sys.executable, "-m", "bulletin", "run", str(book), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
        try:
            cli.wait(4)
            waited = False
        except subprocess.TimeoutExpired:
            waited = True
        release.set()
        server.join(30)
        out, err = cli.communicate(timeout=120)
    finally:
        del os.environ["BULLETIN_DATABASE_URL"]
    assert waited and cli.returncode == 0, out + err
    assert "正在等待同一工作簿上的另一个步骤" in err and (tmp_path / "out" / "通报结果-2023-06.xlsx").exists()
