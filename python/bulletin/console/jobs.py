"""Long steps (render with LibreOffice, mail, the whole job) run in a thread while the page polls their
progress; steps on the same workbook never run at the same time: one lock per workbook file in this process,
then the workbook's lock in the database (actions.office.step_lock), so a step of another server process
on the same workbook waits too. A step queued behind another is `waiting` and names the one it waits for."""
from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

from ..actions import office
from ..errors import UserError

KEEP = 50  # finished jobs remembered for polling
ELSEWHERE = "另一个服务进程中的步骤"  # what a step waits for when the lock is held by another process


@dataclass
class Job:
    """A step the console runs in the background, with its progress lines and result."""

    id: str
    step: str
    workbook: str
    state: str = "running"  # waiting | running | done | failed
    title: str = ""  # the step as the page names it
    waiting_for: str = ""  # the title of the step it waits for
    key: Path | None = None  # the workbook's resolved path (its lock)
    progress: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    status: int = 200
    started: float = field(default_factory=time.time)

    def say(self, line: str) -> None:
        self.progress.append(line)

    def view(self) -> dict[str, Any]:
        return {"job": self.id, "step": self.step, "workbook": self.workbook, "state": self.state,
                "waiting_for": self.waiting_for, "progress": list(self.progress), "result": self.result, "error": self.error,
                "seconds": round(time.time() - self.started, 1)}


class Runner:
    def __init__(self, step_lock: Callable[..., ContextManager[None]] = office.step_lock) -> None:
        self._step_lock = step_lock  # (workbook, on_wait) -> the cross-process lock
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._locks: dict[Path, threading.Lock] = {}
        self._holders: dict[Path, str] = {}  # workbook -> title of the step holding its lock
        self._guard = threading.Lock()
        self._ids = itertools.count(1)

    def lock(self, workbook: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(Path(workbook).resolve(), threading.Lock())

    def run(self, workbook: Path, work: Callable[[], Any], title: str = "保存修改") -> Any:
        """A step now, in this thread, after any step running on the same workbook."""
        key = Path(workbook).resolve()
        with self.lock(workbook), self._step_lock(key):
            self._holders[key] = title
            try:
                return work()
            finally:
                self._holders.pop(key, None)

    def start(self, step: str, workbook: Path, work: Callable[[Job], tuple[dict[str, Any], int]],
              title: str = "") -> Job:
        """A step in its own thread; `work(job)` returns (JSON body, HTTP status) and may call job.say."""
        job = Job(f"{next(self._ids)}-{int(time.time() * 1000) % 100000}", step, Path(workbook).name,
                  title=title or step)
        with self._guard:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP and next(iter(self._jobs.values())).state not in ("running", "waiting"):
                self._jobs.popitem(last=False)

        key, lock = Path(workbook).resolve(), self.lock(workbook)
        job.key = key
        if lock.locked():  # said at once, so the page's first answer already names what it waits for
            job.state, job.waiting_for = "waiting", self._holders.get(key, "另一个步骤")

        def elsewhere() -> None:
            job.state, job.waiting_for = "waiting", ELSEWHERE

        def target() -> None:
            if not lock.acquire(blocking=False):
                job.state, job.waiting_for = "waiting", self._holders.get(key, "另一个步骤")
                lock.acquire()
            try:
                with ExitStack() as held:
                    try:
                        held.enter_context(self._step_lock(key, elsewhere))
                    except UserError as exc:  # the lock's database unreachable: the step fails with the reason
                        body, status = {"error": str(exc)}, 503
                    else:
                        if job.state == "waiting":
                            job.state, job.waiting_for, job.started = "running", "", time.time()
                        self._holders[key] = job.title
                        try:
                            body, status = work(job)
                        finally:
                            self._holders.pop(key, None)
            finally:
                lock.release()
            job.result, job.status = body, status
            job.error = body.get("error") if status >= 400 else None
            job.state = "done" if status < 400 else "failed"

        threading.Thread(target=target, name=f"bulletin-{step}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is not None and job.state == "waiting":  # the step ahead may have changed
            job.waiting_for = self._holders.get(job.key, job.waiting_for)
        return job
