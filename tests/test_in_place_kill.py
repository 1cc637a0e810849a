"""`bulletin recalc --in-place` SIGKILLed at moments spread over its run: the workbook is the old file or
the new one, every backup is a whole workbook, and whatever else is left is a hidden `.partial` temp file
(never a file that looks like a workbook or a backup)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl

from bulletin.adapters.files import TEMP_SUFFIX
from conftest import SAMPLE

BULLETIN = Path(sys.executable).with_name("bulletin")


def _complete(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            if z.testzip() is not None:
                return False
        openpyxl.load_workbook(path, read_only=True).close()
        return True
    except Exception:
        return False


def test_kills_leave_no_partial_workbook_or_backup(tmp_path):
    book = tmp_path / "通报数据.xlsx"
    shutil.copy(SAMPLE, book)
    started = time.monotonic()
    subprocess.run([str(BULLETIN), "recalc", str(book), "--in-place"], capture_output=True, check=False)
    whole = time.monotonic() - started  # one undisturbed run: the kills are spread over this span
    delays = [whole * k / 8 for k in range(1, 17)]
    killed = 0
    for delay in delays:
        child = subprocess.Popen([str(BULLETIN), "recalc", str(book), "--in-place"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            killed += 1
        child.wait()
        assert _complete(book), delay
        for p in [*tmp_path.iterdir(), *(tmp_path / "备份").glob("*")]:
            if p == book or p == tmp_path / "备份":
                continue
            if p.name.endswith(TEMP_SUFFIX):
                assert p.name.startswith("."), p  # hidden, and not a workbook by its name
                continue
            assert p.suffix == ".xlsx" and ".备份-" in p.stem and _complete(p), (delay, p.name)
    backups = [p for p in (tmp_path / "备份").iterdir() if ".备份-" in p.name]
    assert killed >= 4 and len(backups) >= 2, (killed, len(backups))  # kills before, during and after the run
