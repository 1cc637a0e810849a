"""Small file helpers shared by the adapters that write outputs."""
from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

from ..errors import UserError, WorkbookLocked

FORBIDDEN = set('<>:"/\\|?*')  # what Windows forbids in a file name, and both path separators
TEMP_SUFFIX = ".partial"  # what write_atomically's temp files end in
NAME_PART_LIMIT = 60  # characters of a name part (a department's 简称) in a file name


class OutputFolderError(UserError):
    """An output that cannot be written where it should go (folder read-only, a file in its place, a name
    that would leave the out folder): Chinese message with the path."""


def safe_part(text: str, *, limit: int = NAME_PART_LIMIT, fallback: str = "单位") -> str:
    """A name (a department's 简称, an upload's name) as one safe file-name part: no path separators, no
    characters Windows forbids, no control or invisible characters, no "..", no leading or trailing
    dots and spaces (hidden files, Windows strips them), at most `limit` characters."""
    name = "".join(ch for ch in str(text or "") if ch not in FORBIDDEN and unicodedata.category(ch)[0] != "C")
    while ".." in name:
        name = name.replace("..", ".")
    name = name.strip(" .")
    while name[:1] in ("~", "$", "."):
        name = name[1:]
    return name[:limit].strip(" .") or fallback


def unique_parts(names: Iterable[str], **kw) -> dict[str, str]:
    """Each name -> its safe part, made unique ("-2", "-3" …) where two names would give the same file."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = safe_part(name, **kw)
        part, n = base, 1
        while part.casefold() in taken:  # Windows and macOS file names ignore case
            n += 1
            part = f"{base}-{n}"
        taken.add(part.casefold())
        out[name] = part
    return out


def inside(folder: Path, path: Path) -> Path:
    """`path`, resolved, after checking it lies inside `folder` (the final guard of every name built
    from user text)."""
    root, target = Path(folder).resolve(), Path(path).resolve()
    if target != root and root not in target.parents:
        raise OutputFolderError(f"输出文件 {target} 不在输出文件夹 {root} 之内，已拒绝写入")
    return target


def _folder_error(path: Path, exc: OSError) -> OutputFolderError:
    folder = path.parent
    if isinstance(exc, (FileExistsError, NotADirectoryError)) or (folder.exists() and not folder.is_dir()):
        return OutputFolderError(f"无法写入 {path}：{folder} 不是文件夹（已有同名文件），请换一个输出文件夹（--out）")
    if isinstance(exc, PermissionError):
        return OutputFolderError(f"无法写入 {path}：没有写入文件夹 {folder} 的权限，请换一个输出文件夹（--out）")
    if getattr(exc, "errno", None) == 36 or isinstance(exc, OSError) and "name too long" in str(exc).lower():
        return OutputFolderError(f"无法写入 {path}：文件名过长")
    return OutputFolderError(f"无法写入 {path}：{exc.strerror or exc}")


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # hidden, and ending in .partial: a file left by a kill never looks like a workbook or a backup
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:40]}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise _folder_error(path, exc) from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, readable_mode())
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            if not shared:
                raise _folder_error(path, exc) from exc
            raise WorkbookLocked(locked_message(path)) from exc
        except IsADirectoryError as exc:
            raise OutputFolderError(f"无法写入 {path}：已有同名文件夹") from exc
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

