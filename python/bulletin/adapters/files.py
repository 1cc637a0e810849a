"""Small file helpers shared by the adapters that write outputs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import WorkbookLocked


def readable_mode() -> int:
    """0666 less the process umask: what a plain open() would give. Temp files from mkstemp are private
    (0600), and an output renamed into place should be readable like any file the office saves."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, write: Callable[[str], None], *, shared: bool = False) -> Path:
    """Write a new file through a temp file in the same folder and an atomic rename, so a crash leaves
    either the old file or the new one, never half of one. `write` saves to the temp path given.
    `shared`: a workbook people also open in Excel/WPS: refused while it is open, and a PermissionError on
    the rename (Windows keeps an open workbook locked) becomes WorkbookLocked."""
    path = Path(path).resolve()
    if shared:
        ensure_closed(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, readable_mode())
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            if not shared:
                raise
            raise WorkbookLocked(locked_message(path)) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def lock_files(path: Path) -> list[Path]:
    """The lock files an office suite leaves beside a workbook it has open: Excel and WPS on Windows write
    `~$name`, LibreOffice (and WPS on 麒麟/统信) `.~lock.name#`. A crash can leave one behind."""
    path = Path(path)
    return [p for p in (path.with_name(f"~${path.name}"), path.with_name(f".~lock.{path.name}#")) if p.exists()]


def locked_message(path: Path, lock: Path | None = None) -> str:
    hint = f"（若已关闭仍提示，请删除旁边的锁定文件 {lock.name}）" if lock else ""
    return f"请先关闭工作簿 {Path(path).name}（它正在 Excel 或 WPS 中打开），再重试{hint}"


def ensure_closed(path: Path) -> None:
    """Refuse to replace a workbook that Excel, WPS or LibreOffice has open: the office suite would keep
    its own copy and overwrite ours on its next save (or, on Windows, the replace fails)."""
    locks = lock_files(path)
    if locks:
        raise WorkbookLocked(locked_message(path, locks[0]))

