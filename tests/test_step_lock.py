"""The step lock across processes, on both databases: a second process asking for the same workbook waits (and
says so) until the first releases it or is killed; another workbook does not wait; the console's Runner shows a
step of this process waiting for a step of another server process, and runs it when that one ends."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bulletin.console.jobs import ELSEWHERE, Runner

from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")])}

# Takes the lock through the action layer (as the Runner does), reports each moment, holds it until told to go.
HOLDER = r"""
import sys
from pathlib import Path
from bulletin.actions import office

print("ASKING", flush=True)
with office.step_lock(Path(sys.argv[1]), lambda: print("WAITING", flush=True)):
    print("HELD", flush=True)
    sys.stdin.readline()
print("RELEASED", flush=True)
"""


class Holder:
    def __init__(self, workbook: Path, env: dict):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(workbook)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(s.strip()) for s in self.proc.stdout], daemon=True).start()
        assert self.line() == "ASKING"

    def line(self, timeout: float = 60) -> str | None:
        """The next line within `timeout` seconds (None when nothing came)."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            assert self.proc.poll() is None, self.proc.stderr.read()
            return None

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


@pytest.fixture
def env(db_url, monkeypatch):
    """Both processes on the same database: the office server's URL (the SQLite one stands for a desk's file)."""
    monkeypatch.setenv("BULLETIN_DATABASE_URL", db_url)
    return {**ENV, "BULLETIN_DATABASE_URL": db_url}


def test_a_second_process_waits_until_the_first_releases(tmp_path, env):
    book = tmp_path / "通报数据.xlsx"
    first = Holder(book, env)
    second = other = None
    try:
        assert first.line() == "HELD"
        second = Holder(book, env)
        assert second.line() == "WAITING"
        assert second.line(timeout=2) is None  # still waiting while the first holds it
        other = Holder(tmp_path / "另一个.xlsx", env)  # another workbook is not held up
        assert other.line() == "HELD"
        first.release()
        assert first.line() == "RELEASED"
        assert second.line() == "HELD"
        second.release()
        assert second.line() == "RELEASED"
    finally:
        for h in (first, second, other):
            if h is not None:
                h.close()


def test_a_killed_holder_releases_the_lock(tmp_path, env):
    book = tmp_path / "通报数据.xlsx"
    first = Holder(book, env)
    second = None
    try:
        assert first.line() == "HELD"
        second = Holder(book, env)
        assert second.line() == "WAITING"
        first.proc.send_signal(signal.SIGKILL)  # the server ends its session; the system drops its file locks
        first.proc.wait(timeout=30)
        assert second.line() == "HELD"
        second.release()
        assert second.line() == "RELEASED"
    finally:
        first.close()
        if second is not None:
            second.close()


def test_the_runner_shows_a_step_waiting_for_another_server_process(tmp_path, env):
    book = tmp_path / "通报数据.xlsx"
    holder = Holder(book, env)
    try:
        assert holder.line() == "HELD"
        ran: list[float] = []
        job = Runner().start("render", book, lambda job: (ran.append(time.time()) or {"ok": True}, 200),
                             title="生成公文")
        deadline = time.time() + 30
        while job.state != "waiting" and time.time() < deadline:
            time.sleep(0.05)
        assert (job.state, job.waiting_for) == ("waiting", ELSEWHERE)
        time.sleep(0.5)
        assert ran == [] and job.view()["state"] == "waiting"
        holder.release()
        while job.state in ("waiting", "running") and time.time() < deadline:
            time.sleep(0.05)
        assert job.state == "done" and job.result == {"ok": True} and len(ran) == 1 and job.waiting_for == ""
        assert holder.line() == "RELEASED"
    finally:
        holder.close()


def test_a_step_whose_lock_cannot_be_taken_fails_with_the_reason(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("BULLETIN_DATABASE_URL", f"sqlite:///{(blocker / 'history.sqlite').as_posix()}")
    ran: list[int] = []
    job = Runner().start("render", tmp_path / "通报数据.xlsx", lambda job: (ran.append(1) or {"ok": True}, 200))
    deadline = time.time() + 30
    while job.state in ("waiting", "running") and time.time() < deadline:
        time.sleep(0.05)
    assert job.state == "failed" and "无法加步骤锁" in job.error and ran == []
