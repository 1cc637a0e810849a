"""The working folder the console serves: workbooks clerks saved there from Excel/WPS or uploaded, their
out/ folder (results, document, mail drafts, charts) and, by default, history.sqlite beside them."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from ..actions.common import out_folder, require_bulletin_file
from ..adapters.files import ensure_closed, readable_mode, safe_part
from ..adapters.xlsx_files import WORKBOOK_SUFFIXES, WorkbookError, not_a_workbook
from ..errors import UserError
from ..actions.backups import backup_workbook
from ..ports.openpyxl_port import is_backup

NAME_LIMIT = 120  # characters of a stored file name


class NotFound(UserError):
    """A workbook or output that is not in the working folder (404)."""


def safe_name(filename: str) -> str:
    """An upload's name as stored: its last path part made safe (`safe_part`: no characters Windows
    forbids, no control characters, no leading dot/~$ of hidden and lock-file names). Chinese names are kept."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = safe_part(suffix, fallback="").lower()
    return safe_part(stem, limit=NAME_LIMIT, fallback="工作簿") + (f".{suffix}" if dot and suffix else "")


class Workspace:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def out_dir(self) -> Path:
        """<workbook folder>/out, where every output of the steps goes."""
        return out_folder(self.folder)

    def workbooks(self) -> list[dict[str, Any]]:
        books = [p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES
                 and not p.name.startswith((".", "~$")) and not is_backup(p)]
        books.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [{"name": p.name, "size": p.stat().st_size,
                 "modified": dt.datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d %H:%M")} for p in books]

    def path(self, name: str | None) -> Path:
        """A workbook of the folder by its name, as listed (nothing outside the folder, no backups)."""
        if not name:
            raise UserError("请先选择或上传一个工作簿")
        if name not in {b["name"] for b in self.workbooks()}:
            raise NotFound(f"工作文件夹中没有工作簿“{name}”")
        return self.folder / name

    def store(self, filename: str, stream: IO[bytes]) -> tuple[str, list[str]]:
        """Save an upload under a safe name after checking it is a workbook (suffix and zip signature); a
        workbook of the same name is backed up first, and refused while Excel/WPS has it open."""
        name = safe_name(filename)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(stream, f)
            problem = not_a_workbook(Path(tmp), name)
            if problem:
                raise WorkbookError(problem)
            require_bulletin_file(Path(tmp))  # another workbook chosen by mistake: one message, nothing stored
            target, notes = self.folder / name, [f"已上传 {name}。"]
            if target.exists():
                ensure_closed(target)
                backup = backup_workbook(target)
                notes = [f"已上传 {name}，替换了同名工作簿（原文件已存为备份 {backup.name}，可在“备份”页恢复）。"]
            os.chmod(tmp, readable_mode())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return name, notes

    def output(self, relative: str) -> Path:
        """A file below out/, by its path relative to out/; anything resolving outside it is not found."""
        out = self.out_dir.resolve()
        path = (out / relative).resolve()
        if not path.is_relative_to(out) or not path.is_file() or any(part.startswith(".") for part in
                                                                       path.relative_to(out).parts):
            raise NotFound("没有这个输出文件")
        return path

    def relative_output(self, path: str | Path) -> str | None:
        """out/-relative path of a produced file (for its download link), None when outside out/."""
        try:
            p = Path(path).resolve()
            return p.relative_to(self.out_dir.resolve()).as_posix() if p.is_file() else None
        except (ValueError, OSError):
            return None
