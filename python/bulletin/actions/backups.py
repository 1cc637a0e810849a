"""Backups of a workbook written in place — decided once here for the console's steps and edits, the CLI's
`--in-place`, a replaced upload and a restore.

A backup is a whole copy `<名称>.备份-<YYYYmmdd-HHMMSS-ffffff><后缀>` in the folder `备份/` beside the
workbook, written through a temp file and an atomic rename. After each new one, the backups of that workbook
are pruned to the latest `backup_keep` (settings.yaml, default 10) plus the first of each day, so a working
folder holds at most `backup_keep` + days copies per workbook however many steps are run.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..adapters.files import ensure_closed, write_atomically
from ..config import load_settings
from ..errors import UserError
from .common import Outcome

BACKUP_FOLDER = "备份"
MARK = ".备份-"
STAMP = "%Y%m%d-%H%M%S-%f"
_STAMPED = re.compile(r"^(?P<stem>.+)\.备份-(?P<stamp>\d{8}-\d{6}-\d{6})(?P<suffix>\.[^.]+)$")


class BackupError(UserError):
    """A backup that cannot be found or restored (Chinese message naming it)."""


def backup_folder(workbook: Path) -> Path:
    return Path(workbook).resolve().parent / BACKUP_FOLDER


def _stamp_of(path: Path, workbook: Path) -> dt.datetime | None:
    m = _STAMPED.match(path.name)
    if not m or m["stem"] != workbook.stem or m["suffix"].lower() != workbook.suffix.lower():
        return None
    try:
        return dt.datetime.strptime(m["stamp"], STAMP)
    except ValueError:
        return None


def backups_of(workbook: Path) -> list[tuple[Path, dt.datetime]]:
    """The workbook's backups in 备份/, newest first."""
    workbook, folder = Path(workbook), backup_folder(workbook)
    if not folder.is_dir():
        return []
    found = [(p, _stamp_of(p, workbook)) for p in folder.iterdir() if p.is_file()]
    return sorted(((p, t) for p, t in found if t is not None), key=lambda x: x[1], reverse=True)


def kept(stamps: list[dt.datetime], keep: int) -> set[dt.datetime]:
    """Which backups stay: the latest `keep`, and the first of each day."""
    ordered = sorted(stamps, reverse=True)
    stay = set(ordered[:keep])
    first: dict[dt.date, dt.datetime] = {}
    for t in ordered:
        first[t.date()] = t  # ends as the earliest of its day
    return stay | set(first.values())


def prune(workbook: Path, keep: int | None = None) -> list[Path]:
    """Delete the workbook's backups the policy does not keep; returns the deleted ones."""
    keep = load_settings().backup_keep if keep is None else keep
    found = backups_of(workbook)
    stay = kept([t for _, t in found], keep)
    gone = []
    for path, t in found:
        if t not in stay:
            try:
                path.unlink()
                gone.append(path)
            except OSError:  # e.g. a copy someone has open: it goes next time
                pass
    return gone


def backup_workbook(workbook: Path, *, pruned: bool = True) -> Path:
    """A whole copy of the workbook into 备份/ (temp file + atomic rename: a killed copy leaves no half
    backup), then the backups pruned."""
    workbook = Path(workbook)
    folder = backup_folder(workbook)
    target = folder / f"{workbook.stem}{MARK}{dt.datetime.now():{STAMP}}{workbook.suffix}"
    write_atomically(target, lambda tmp: shutil.copy2(workbook, tmp))
    if pruned:
        prune(workbook)
    return target


def save_in_place(port: Any) -> Path:
    """The port's workbook written back into its file: refused while Excel/WPS has it open (before any
    backup), a backup first, then the port's temp file and atomic rename. Returns the backup."""
    ensure_closed(port.path)
    backup = backup_workbook(port.path)
    port.save_in_place()
    return backup


def listing(workbook: Path) -> list[dict[str, Any]]:
    """The backups as a front end lists them: name, time, size, newest first."""
    return [{"name": p.name, "time": t.strftime("%Y-%m-%d %H:%M:%S"), "size": p.stat().st_size}
            for p, t in backups_of(workbook)]


def restore(workbook: Path, name: str) -> Outcome:
    """Put a backup back as the workbook; the current file is backed up first (so a restore is undone by
    restoring that one). Refused while Excel/WPS has the workbook open."""
    workbook = Path(workbook)
    chosen = next((p for p, _ in backups_of(workbook) if p.name == name), None)
    if chosen is None:
        raise BackupError(f"没有“{name}”这个备份（备份只保留最近的若干份和每天的第一份）")
    ensure_closed(workbook)
    current = backup_workbook(workbook, pruned=False)  # not pruned yet: the chosen copy must survive until used
    write_atomically(workbook, lambda tmp: shutil.copyfile(chosen, tmp), shared=True)
    os.utime(workbook)  # the restored file is the newest state of the workbook
    prune(workbook)
    when = _stamp_of(chosen, workbook)
    return Outcome(None, output=workbook, notes=[
        f"已将 {workbook.name} 恢复为 {when:%Y-%m-%d %H:%M:%S} 的备份；恢复前的文件已另存为备份 {current.name}。"])
