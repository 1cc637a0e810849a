"""The month history (SQLite file): round trip, replacement, refusal, and a writer killed mid-write."""
from __future__ import annotations

import copy
import hashlib
import os
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from bulletin.adapters.history_sqlite import History, HistoryError
from bulletin.adapters.xlsx_files import read_grids
from bulletin.core.month import month_json
from bulletin.core.recompute import recompute
from bulletin.engine import compute

from conftest import edit_sample, python_child

TABLES = ("months", "scalars", "annexes", "input_rows", "result_rows", "registry_rows")
CHINESE = re.compile(r"[\u4e00-\u9fff]")



def as_month(data, month: str):
    other = copy.deepcopy(data)
    other.month = month
    other.scalars["月份"] = month
    return other


def figures(data) -> dict:
    """Every recomputed figure of a month: totals, subtotals, reference rows, department rows, scalars."""
    out: dict = {"scalars": data.scalars}
    for sheet, res in data.results.items():
        out[sheet] = {
            "total": res.total,
            "subtotals": res.subtotals,
            "references": res.references,
            "departments": [r for r in res.records if r["_kind"] == "department"],
        }
    return out


def counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def query(db: Path, sql: str, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_recomputes_identical_figures(tmp_path, june):
    db = tmp_path / "history.db"
    with History(db) as history:
        history.store(june, source="通报数据-2023-06.xlsx")
    with History(db) as history:  # a fresh connection: everything comes from the file
        loaded = history.load("2023-06")

    assert loaded.month == "2023-06" and loaded.problems == [] and not loaded.has_errors
    assert list(loaded.results) == list(june.results) == [f"附件{i}" for i in range(1, 9)]
    assert loaded.scalars == june.scalars
    assert list(loaded.scalars) == list(june.scalars)
    assert figures(loaded) == figures(june)
    for sheet, inp in june.inputs.items():  # raw inputs: same order, same keys, same values
        assert loaded.inputs[sheet].records == inp.records, sheet
        assert loaded.inputs[sheet].spec is inp.spec
    # the printed tables (sorted department order) and every figure of the JSON output agree too
    expected, got = month_json(june), month_json(loaded)
    expected.pop("problems"), got.pop("problems")
    assert got == expected
    # spot checks against the printed June bulletin
    assert loaded.result("附件1").total["即办件事项占比"] == 62.71
    assert loaded.result("附件8").subtotals.keys() == {"派驻部门", "公共服务单位"}
    assert "city" in loaded.result("附件5").references

    # the results are stored for querying: per department, the total and the subtotals
    (source, closed_at), = query(db, "SELECT source, closed_at FROM months WHERE month = '2023-06'")
    assert source == "通报数据-2023-06.xlsx" and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", closed_at)
    (ratio,), = query(db, "SELECT json_extract(values_json, '$.即办件事项占比') FROM result_rows"
                          " WHERE month = '2023-06' AND sheet = '附件1' AND department = '公安分局'")
    assert ratio == 44.76
    (total,), = query(db, "SELECT values_json FROM result_rows WHERE sheet = '附件6' AND kind = 'total'")
    assert '"部门报送数据": 88300' in total
    assert query(db, "SELECT section FROM result_rows WHERE sheet = '附件8' AND kind = 'subtotal'"
                     " ORDER BY position") == [("派驻部门",), ("公共服务单位",)]
    n_records = sum(len(i.records) for i in june.inputs.values())
    assert counts(db)["input_rows"] == n_records


def test_values_round_trip_exactly(tmp_path, june):
    data = copy.deepcopy(june)
    rec = next(r for r in data.inputs["附件1"].records if r["_kind"] == "department")
    rec["不见面审批事项占比"] = 0.1 + 0.2  # 0.30000000000000004: not a decimal-friendly float
    hours = next(r for r in data.inputs["附件8"].records if r["_kind"] == "department")
    hours["累计公出（小时）"] = 1 / 3
    note = data.inputs["附件7"].records[0]
    note["备注"] = float("nan")  # pandas' blank
    db = tmp_path / "history.db"
    with History(db) as history:
        history.store(data)
        loaded = history.load("2023-06")
    first = next(r for r in loaded.inputs["附件1"].records if r["_kind"] == "department")
    assert first["不见面审批事项占比"] == 0.1 + 0.2 and isinstance(first["不见面审批事项占比"], float)
    assert next(r for r in loaded.inputs["附件8"].records if r["_kind"] == "department")["累计公出（小时）"] == 1 / 3
    assert loaded.inputs["附件7"].records[0]["备注"] is None
    assert loaded.result("附件8").total == recompute(data.inputs["附件8"]).total  # edited inputs, recomputed
    stored = query(db, "SELECT values_json FROM input_rows WHERE sheet = '附件7' AND position = 0")[0][0]
    assert '"备注": null' in stored and "NaN" not in stored
    # integers stay integers, texts stay texts (ensure_ascii=False keeps them readable)
    assert isinstance(loaded.scalars["网上政务服务事项总数"], int)
    rec = next(r for r in loaded.inputs["附件3"].records if r["_kind"] == "department")
    assert isinstance(rec["证照类型名称"], str)
    assert any(CHINESE.search(v) for (v,) in query(db, "SELECT values_json FROM input_rows WHERE sheet = '附件3'"))


def test_months_ascending_and_load_many(tmp_path, june):
    db = tmp_path / "history.db"
    with History(db) as history:
        assert history.months() == [] and not history.has("2023-06")
        assert history.load_many() == {}
        history.store(as_month(june, "2023-07"), source="7月.xlsx")
        history.store(june, source="6月.xlsx")
        assert history.months() == ["2023-06", "2023-07"]
        assert history.has("2023-07") and history.has("2023-06") and not history.has("2023-05")
        every = history.load_many()
        assert list(every) == ["2023-06", "2023-07"]
        assert every["2023-07"].month == "2023-07" and every["2023-07"].scalars["月份"] == "2023-07"
        assert every["2023-06"].scalars["月份"] == "2023-06"
        assert figures(every["2023-07"])["附件2"] == figures(june)["附件2"]
        assert list(history.load_many(["2023-07"])) == ["2023-07"]
    assert query(db, "SELECT month, source FROM months ORDER BY month") == [("2023-06", "6月.xlsx"),
                                                                            ("2023-07", "7月.xlsx")]


def test_store_again_replaces(tmp_path, june):
    db = tmp_path / "history.db"
    with History(db) as history:
        history.store(june, source="first.xlsx")
        history.store(as_month(june, "2023-07"))
        once = counts(db)
        history.store(june, source="second.xlsx")
        assert counts(db) == once
        assert history.months() == ["2023-06", "2023-07"]
        assert figures(history.load("2023-06")) == figures(june)
    assert query(db, "SELECT source FROM months WHERE month = '2023-06'") == [("second.xlsx",)]
    per_month = dict(query(db, "SELECT month, COUNT(*) FROM input_rows GROUP BY month"))
    assert per_month == {"2023-06": sum(len(i.records) for i in june.inputs.values()), "2023-07": per_month["2023-07"]}
    assert per_month["2023-06"] == per_month["2023-07"]


def test_month_with_errors_is_refused_and_db_unchanged(tmp_path, june):
    path, _ = edit_sample(tmp_path, [("附件1", "殷都区交通局", "事项总数", "八十九")])
    bad = compute(read_grids(path))
    assert bad.has_errors
    errors = sum(p.severity == "error" for p in bad.problems)
    db = tmp_path / "history.db"
    with History(db) as history:
        history.store(june, source="good.xlsx")
    before = digest(db)
    with History(db) as history:
        with pytest.raises(HistoryError) as err:
            history.store(bad, source="bad.xlsx")
        assert CHINESE.search(str(err.value)) and f"{errors} 个错误" in str(err.value)
        assert history.months() == ["2023-06"]
        assert history.load("2023-06").result("附件1").total["事项总数"] == 1644
    assert digest(db) == before


def test_month_without_month_is_refused(tmp_path, june):
    data = copy.deepcopy(june)
    data.month = None
    with History(tmp_path / "history.db") as history:
        with pytest.raises(HistoryError, match="月份"):
            history.store(data)
        assert history.months() == []


def test_absent_month_raises_in_chinese(tmp_path, june):
    with History(tmp_path / "history.db") as history:
        with pytest.raises(HistoryError) as err:
            history.load("2023-05")
        assert "2023-05" in str(err.value) and CHINESE.search(str(err.value))
        history.store(june)
        with pytest.raises(HistoryError, match="2023-05"):
            history.load_many(["2023-06", "2023-05"])
        assert history.load_many(["2023-06"])["2023-06"].month == "2023-06"  # still usable


def test_schema_created_once_with_version(tmp_path, june):
    db = tmp_path / "sub" / "history.db"
    with History(db) as history:
        history.store(june)
    assert query(db, "SELECT version FROM schema_version") == [(1,)]
    with History(db) as history:  # reopening neither recreates nor loses anything
        assert history.months() == ["2023-06"]
    assert query(db, "SELECT version FROM schema_version") == [(1,)]
    # the history file is the office database of one desk: the migrations' layout, at their head
    assert {n for (n,) in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "schema_version", *TABLES, "mail_ledger", "collect_ledger", "collect_events", "collect_cells",
        "collect_months", "collect_reminders", "accounts", "sessions", "audit_log", "alembic_version"}
    assert query(db, "SELECT version_num FROM alembic_version") == [("0002",)]
    other = tmp_path / "not-a-db.db"
    other.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(HistoryError) as err:
        History(other)
    assert CHINESE.search(str(err.value))


# The child replaces the month like any caller, but a trace callback (installed only here, by wrapping
# sqlite3.connect) stops it between the deletes and the first insert: it prints a marker and sleeps. A small
# page cache makes the deletes spill into the database file, so the parent kills a writer whose half-done
# changes are really on disk (the rollback journal must undo them).
CHILD = r"""
import sqlite3, sys, time
from pathlib import Path

_connect = sqlite3.connect

def slow_connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.execute("PRAGMA cache_size = 10")
    state = {"deleted": False}

    def trace(sql):
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb == "DELETE":
            state["deleted"] = True
        elif verb == "INSERT" and state["deleted"]:
            print("DELETED", flush=True)
            time.sleep(300)

    conn.set_trace_callback(trace)
    return conn

sqlite3.connect = sqlite3.dbapi2.connect = slow_connect  # SQLAlchemy's driver calls the latter

from bulletin.adapters.history_sqlite import History

with History(Path(sys.argv[1])) as history:
    data = history.load(sys.argv[2])
    data.scalars["差评件数"] = 99
    history.store(data, source="child.xlsx")
print("COMMITTED", flush=True)
"""


def test_killed_writer_leaves_previous_state(tmp_path, june):
    db = tmp_path / "history.db"
    journal = db.with_name(db.name + "-journal")
    with History(db) as history:
        history.store(june, source="parent.xlsx")
        history.store(as_month(june, "2023-07"), source="july.xlsx")
    before_counts, before_digest = counts(db), digest(db)

    with python_child(CHILD, str(db), "2023-06") as child:
        marker = child.stdout.readline().strip()
        assert marker == "DELETED", (marker, child.stderr.read() if marker == "" else "")
        # the deletes are on disk: the database file changed and the rollback journal holds the old pages
        assert digest(db) != before_digest
        assert journal.exists() and journal.stat().st_size > 0
        child.kill()
        child.wait(timeout=30)
    if os.name == "posix":
        assert child.returncode == -signal.SIGKILL

    with History(db) as history:  # opening rolls the hot journal back: the previous state, complete
        assert history.months() == ["2023-06", "2023-07"]
        loaded = history.load("2023-06")
        assert figures(loaded) == figures(june)
        assert loaded.scalars["差评件数"] == june.scalars["差评件数"] != 99
    assert not journal.exists()
    assert counts(db) == before_counts
    assert query(db, "SELECT source FROM months ORDER BY month") == [("parent.xlsx",), ("july.xlsx",)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]

    with History(db) as history:  # and it can be written again
        changed = copy.deepcopy(june)
        changed.scalars["差评件数"] = 3
        history.store(changed, source="again.xlsx")
        assert history.load("2023-06").scalars["差评件数"] == 3
        assert figures(history.load("2023-07"))["附件5"] == figures(june)["附件5"]
    assert counts(db) == before_counts
