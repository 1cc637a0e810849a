"""PDF adapter: converts a .docx with headless LibreOffice.

Each run gets its own LibreOffice profile folder (-env:UserInstallation), so a running LibreOffice or a
parallel run never blocks or corrupts it, and its own fontconfig file (fonts.conf beside this module) that
maps the official 公文 fonts (仿宋_GB2312, 方正小标宋简体, 黑体, 楷体_GB2312, Times New Roman) to the free
fonts .ci/install-system-packages installs. A run that takes too long is killed with its children.
"""
from __future__ import annotations

from ..errors import UserError

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..resources import FONTS_CONF
from .files import write_atomically

TIMEOUT = 180  # seconds; the June bulletin takes about 10 s on the 2-core CI machine


class PdfError(UserError):
    """LibreOffice is missing or the conversion failed (Chinese message, for the user)."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(source: Path, out: Path, *, timeout: float = TIMEOUT) -> Path:
    """Convert `source` (.docx) to the new file `out` (.pdf), via a temp file and an atomic rename."""
    exe = soffice()
    if exe is None:
        raise PdfError("未找到 LibreOffice，无法生成 PDF。请安装 LibreOffice（Debian/Ubuntu："
                       "apt-get install libreoffice-writer），或去掉 --pdf 只生成 Word 文档。")
    source, out = Path(source).resolve(), Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="bulletin-pdf-") as tmp:
        work = Path(tmp)
        cmd = [exe, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--invisible",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(work / "out"), str(source)]
        env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF), "HOME": str(work)}
        # its own process group: on a timeout the whole group goes (soffice starts soffice.bin)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfError(f"LibreOffice 在 {timeout:g} 秒内没有完成 PDF 转换，已终止；Word 文档已生成，"
                           f"可在 Word/WPS 中另存为 PDF。") from None
        produced = work / "out" / f"{source.stem}.pdf"
        if proc.returncode != 0 or not produced.exists():
            detail = (err or "").strip().splitlines()[-1:] or ["无输出"]
            raise PdfError(f"LibreOffice 转换 PDF 失败（退出码 {proc.returncode}：{detail[0]}）；"
                           f"Word 文档已生成，可在 Word/WPS 中另存为 PDF。")
        return write_atomically(out, lambda part: shutil.copyfile(produced, part))
