"""A workbook open in Excel, WPS or LibreOffice is never replaced: "请先关闭工作簿", file and folder unchanged."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bulletin.actions.backups import save_in_place

from bulletin.adapters import files
from bulletin.errors import WorkbookLocked
from bulletin.ports.openpyxl_port import OpenpyxlPort


@pytest.mark.parametrize("lock", ["~${name}", ".~lock.{name}#"])  # Excel/WPS on Windows; LibreOffice/WPS on Linux
def test_in_place_recalc_refuses_an_open_workbook(sample_copy, lock):
    (sample_copy.parent / lock.format(name=sample_copy.name)).write_bytes(b"owner")
    before = sample_copy.read_bytes()
    res = subprocess.run([sys.executable, "-m", "bulletin", "recalc", str(sample_copy), "--in-place"],
                         capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    assert f"请先关闭工作簿 {sample_copy.name}" in res.stderr and "Traceback" not in res.stderr
    assert sample_copy.read_bytes() == before
    assert not list(sample_copy.parent.rglob("*备份*"))  # refused before the backup


def test_a_replace_refused_by_windows_is_workbook_locked(sample_copy, monkeypatch):
    # Windows refuses to rename over a workbook Excel holds open; Linux has no such lock, so it is simulated
    real = os.replace

    def refuse(src, dst):
        if os.path.realpath(dst) == os.path.realpath(sample_copy):
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real(src, dst)  # the backup beside it is a new file: Windows lets that through

    port = OpenpyxlPort(sample_copy)
    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(WorkbookLocked, match="请先关闭工作簿"):
        port.save_in_place()
    assert not [p for p in os.listdir(sample_copy.parent) if p.endswith(".partial")]  # no temp file left


def test_without_a_lock_the_workbook_is_replaced(sample_copy):
    port = OpenpyxlPort(sample_copy)
    before = sample_copy.read_bytes()
    backup = save_in_place(port)
    assert backup.parent == sample_copy.parent / "备份" and backup.read_bytes() == before and sample_copy.exists()
