"""xlwings.conf, the file xlwings' VBA reads the interpreter and PYTHONPATH from (stdlib only: the Windows
set-up imports it before anything is installed).

As read by the VBA module embedded in bulletin.xlsm (xlwings 0.37.8, module `xlwings`):
- GetConfig looks up each key in turn in the workbook's `xlwings.conf` sheet, then the directory file
  (GetDirectoryConfigFilePath: the folder of ThisWorkbook only), then the user file (GetConfigFilePath:
  %USERPROFILE%\\.xlwings\\xlwings.conf), then the default. A sheet row wins even when its value is empty.
- GetConfigFromFile reads with `Open … For Input` and `Input #`: one `"KEY","value"` record a line, key
  compared case-insensitively, first match wins; VBA file I/O decodes bytes with the system ANSI code page
  (GetACP: 936 = GBK on zh-CN Windows). Values then go through ExpandEnvironmentStrings (%VAR% expanded).
"""
from __future__ import annotations

import csv
import locale
import os
from pathlib import Path

from .files import write_atomically

FILE_NAME = "xlwings.conf"
SHEET_NAME = "xlwings.conf"  # the template's disabled sheet is "_xlwings.conf"
DEFAULT_CODE_PAGE = "cp936"  # zh-CN Windows; the set-up detects the real one on Windows
NEWLINE = "\r\n"  # what VBA's Write # produces and Input # expects


def directory_path(workbook_folder: Path) -> Path:
    return Path(workbook_folder) / FILE_NAME


def user_path(home: Path | None = None) -> Path:
    """%USERPROFILE%\\.xlwings\\xlwings.conf (the user profile as the VBA sees it, Environ("USERPROFILE"))."""
    if home is None:
        home = Path(os.environ.get("USERPROFILE") or Path.home())
    return Path(home) / ".xlwings" / FILE_NAME


def ansi_code_page() -> str:
    """The code page VBA's file I/O uses: the system ANSI code page on Windows (unaffected by Python's UTF-8
    mode); elsewhere the zh-CN default, so Linux tests write what a Chinese PC reads."""
    if os.name == "nt":
        return locale.getencoding()
    return DEFAULT_CODE_PAGE


class ConfError(ValueError):
    """A value xlwings.conf cannot carry; the message is Chinese and says what to do."""


def _record(key: str, value: str) -> str:
    for bad, why in (('"', "双引号"), ("%", "百分号（xlwings 会把 %…% 当作环境变量展开）"), ("\r", "换行"), ("\n", "换行")):
        if bad in value:
            raise ConfError(f"路径 {value} 含有{why}，xlwings.conf 无法正确保存；请换一个只含英文字母和数字的路径")
    return f'"{key}","{value}"'


def _fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return []


def _key(line: str) -> str | None:
    fields = _fields(line)
    return fields[0].strip().upper() if fields else None


def parse(text: str) -> dict[str, str]:
    """KEY (upper case) -> value, the first record of a key winning as in GetConfigFromFile."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        fields = _fields(line)
        if len(fields) >= 2 and fields[0].strip():
            out.setdefault(fields[0].strip().upper(), fields[1])
    return out


def encode(entries: dict[str, str], code_page: str, existing: bytes = b"") -> bytes:
    """The file's bytes: `entries` as records, other records of an existing file kept as they were.
    Raises ConfError when a value cannot be written in the code page VBA will read it with."""
    kept = [line for line in existing.decode(code_page, "surrogateescape").splitlines()
            if line.strip() and _key(line) not in {k.upper() for k in entries}]
    lines = [_record(k, v) for k, v in entries.items()]
    text = NEWLINE.join(kept + lines) + NEWLINE
    for value in entries.values():
        try:
            value.encode(code_page)
        except UnicodeEncodeError as exc:
            raise ConfError(
                f"路径 {value} 中的“{value[exc.start:exc.end]}”无法用本机的系统代码页 {code_page} 表示，"
                f"xlwings 读取配置时会变成乱码、找不到 Python。请把程序放到只含英文字母和数字的路径"
                f"（例如 D:\\bulletin）后重新运行安装") from None
    return text.encode(code_page, "surrogateescape")


def read(path: Path, code_page: str) -> dict[str, str]:
    return parse(Path(path).read_bytes().decode(code_page, "replace"))


def write(path: Path, data: bytes) -> Path:
    """Put bytes from encode() in place atomically (an interrupted set-up leaves the old file or the new one)."""
    return write_atomically(Path(path), lambda tmp: Path(tmp).write_bytes(data))
