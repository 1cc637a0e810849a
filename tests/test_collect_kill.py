"""`bulletin collect import` SIGKILLed at moments spread over its run: the master is the old workbook or the new
one (whole), the ledger holds none or all of the run's records (one transaction), and importing again converges on
the merged master and a complete ledger."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import openpyxl

from bulletin.actions import collect
from collect_fixtures import SECRET, blank_master, fill_all
from conftest import ROOT, SAMPLE


def _complete(path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            if z.testzip() is not None:
                return False
        openpyxl.load_workbook(path, read_only=True).close()
        return True
    except Exception:
        return False


def _values(path):
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets if ws.title != "报送情况"
            for row in ws.iter_rows() for c in row if c.value is not None}


def _ledger(path):
    with sqlite3.connect(path) as conn:
        events = conn.execute("SELECT COUNT(*) FROM collect_events").fetchone()[0]
        states = {r[0] for r in conn.execute("SELECT state FROM collect_ledger")}
    return events, states


def test_kills_leave_master_and_ledger_old_or_new(tmp_path, monkeypatch):
    monkeypatch.setenv(collect.SECRET_ENV, SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")
    master = blank_master(tmp_path / "通报数据-2023-06.xlsx")
    collect.send(master)
    fill_all(tmp_path / "out" / "collect" / "2023-06", tmp_path / "filled")
    old = _values(master)
    new = _values(SAMPLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    command = [sys.executable, "-m", "bulletin", "collect", "import", str(master), str(tmp_path / "filled")]
    # one undisturbed run on a copy: the kills are spread over its span
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / master.name).write_bytes(master.read_bytes())
    (probe / "history.sqlite").write_bytes((tmp_path / "history.sqlite").read_bytes())
    started = time.monotonic()
    done = subprocess.run([*command[:5], str(probe / master.name), str(tmp_path / "filled")], env=env,
                          capture_output=True, text=True)
    whole = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    killed = 0
    for k in range(1, 9):
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole * k / 8)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            killed += 1
        child.wait()
        assert _complete(master), k
        assert _values(master) in (old, new), k
        events, states = _ledger(tmp_path / "history.sqlite")
        assert (events, states) in ((0, {"已发"}), (32, {"已报"})), (k, events, states)
        if events:  # the run got through: nothing left to interrupt
            break
    assert killed >= 1
    final = subprocess.run(command, env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr
    assert _values(master) == new
    events, states = _ledger(tmp_path / "history.sqlite")
    assert states == {"已报"} and events == 32
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert all(name.startswith(".") for name in leftovers)
