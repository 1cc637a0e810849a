"""Backups of workbooks written in place (actions/backups.py): in 备份/ beside the workbook, the latest
`backup_keep` plus the first of each day, whatever front end wrote them; a restore backs the current file up first."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.actions import backups
from bulletin.console.app import Settings, create_app
from bulletin.console.security import HEADER, Guard
from bulletin.errors import ConfigError, WorkbookLocked
from conftest import ROOT, SAMPLE

SETTINGS = ROOT / "python" / "bulletin" / "data" / "settings.yaml"


@pytest.fixture
def keep3(tmp_path, monkeypatch):
    """An office copy of settings.yaml keeping 3 backups (BULLETIN_CONFIG_DIR, as offices configure it)."""
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "settings.yaml").write_text(SETTINGS.read_text(encoding="utf-8").replace("backup_keep: 10", "backup_keep: 3"),
                                          encoding="utf-8")
    monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(folder))
    return folder


def stamped(book: Path, when: dt.datetime) -> Path:
    folder = book.parent / "备份"
    folder.mkdir(exist_ok=True)
    path = folder / f"{book.stem}.备份-{when:%Y%m%d-%H%M%S-%f}{book.suffix}"
    path.write_bytes(b"copy")
    return path


def test_the_latest_n_and_the_first_of_each_day_are_kept(tmp_path):
    book = tmp_path / "通报数据-2023-06.xlsx"
    book.write_bytes(b"book")
    days = [dt.datetime(2023, 7, d, 9) for d in (3, 4, 5)]
    made = [stamped(book, day + dt.timedelta(minutes=m)) for day in days for m in range(8)]
    other = stamped(tmp_path / "另一个.xlsx", days[0])  # another workbook's backups are its own
    backups.prune(book, keep=5)
    left = sorted(p.name for p, _ in backups.backups_of(book))
    # the 5 latest (all on 7-05) and the first of 7-03, 7-04 and 7-05
    expected = sorted([p.name for p in made[-5:]] + [made[0].name, made[8].name, made[16].name])
    assert left == expected and other.exists()


def test_fifty_backups_leave_at_most_n_plus_days(tmp_path, keep3):
    book = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, book)
    for _ in range(50):
        backups.backup_workbook(book)
    assert len(list((tmp_path / "备份").iterdir())) <= 3 + 1  # all made today


def test_a_wrong_backup_keep_is_a_message_naming_file_and_key(tmp_path, monkeypatch):
    from bulletin.config import load_settings

    folder = tmp_path / "config"
    folder.mkdir()
    for bad in ("0", "2.5", "很多", "[3]"):
        (folder / "settings.yaml").write_text(SETTINGS.read_text(encoding="utf-8").replace("backup_keep: 10",
                                                                                          f"backup_keep: {bad}"),
                                              encoding="utf-8")
        monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(folder))
        with pytest.raises(ConfigError, match="settings.yaml 中“backup_keep”有误"):
            load_settings()


def test_restore_backs_the_current_file_up_first(tmp_path):
    book = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, book)
    first = backups.backup_workbook(book)
    book.write_bytes(b"a later state")
    outcome = backups.restore(book, first.name)
    assert book.read_bytes() == SAMPLE.read_bytes()
    names = [p.name for p, _ in backups.backups_of(book)]
    assert len(names) == 2 and first.name in names
    later = next(p for p, _ in backups.backups_of(book) if p.name != first.name)
    assert later.read_bytes() == b"a later state" and later.name in outcome.notes[0]
    with pytest.raises(backups.BackupError, match="没有“x.xlsx”这个备份"):
        backups.restore(book, "x.xlsx")
    (tmp_path / f"~${book.name}").write_bytes(b"owner")  # open in Excel: refused, nothing changed
    with pytest.raises(WorkbookLocked):
        backups.restore(book, first.name)
    assert book.read_bytes() == SAMPLE.read_bytes()


def test_the_clis_in_place_keeps_the_same_bound(tmp_path, keep3):
    book = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, book)
    for day in (3, 4):  # two earlier days' backups already there
        for m in range(3):
            stamped(book, dt.datetime(2023, 7, day, 9, m))
    for _ in range(3):
        res = subprocess.run([sys.executable, "-m", "bulletin", "recalc", str(book), "--in-place"],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert "原文件备份为 备份/" in res.stdout
    left = list((tmp_path / "备份").iterdir())
    assert len(left) == 3 + 2  # the 3 latest (today, the first of today among them) + the first of 7-03 and 7-04
    assert not list(tmp_path.glob("*.备份-*"))  # none beside the workbook


def test_fifty_console_steps_leave_at_most_n_plus_days_backups(tmp_path, keep3):
    """The working folder after 50 console steps on one workbook (check, 状态 edits)."""
    folder = tmp_path / "工作台"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    guard = Guard(port=48123)
    client = create_app(Settings(folder=folder), guard).test_client()
    auth, base = {HEADER: guard.token}, "http://127.0.0.1:48123"
    res = client.post("/api/recalc", base_url=base, headers=auth, data={"workbook": SAMPLE.name})
    assert res.status_code == 200, res.get_json()
    for i in range(49):
        res = client.post("/api/status", base_url=base, headers=auth,
                          json={"workbook": SAMPLE.name, "sheet": "附件2", "department": "统计局",
                                "status": ("红", "黄", "绿")[i % 3]})
        assert res.status_code == 200, res.get_json()
    made = list((folder / "备份").iterdir())
    assert 1 <= len(made) <= 3 + 1 and all(p.name.startswith("通报数据-2023-06.备份-") for p in made)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [SAMPLE.name]
    listed = client.get(f"/api/backups?workbook={SAMPLE.name}", base_url=base, headers=auth).get_json()
    assert [b["name"] for b in listed["backups"]] == sorted((p.name for p in made), reverse=True)
