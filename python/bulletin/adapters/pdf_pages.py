"""PNG pictures of PDF pages with poppler's pdfinfo/pdftotext/pdftoppm (Debian: poppler-utils), for a
quick look at a rendered 通报 without opening it (the console; tools/pdf_snapshots.py for the README)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TIMEOUT = 60  # seconds per poppler call


def available() -> bool:
    return all(shutil.which(tool) for tool in ("pdfinfo", "pdftotext", "pdftoppm"))


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL).stdout


def pages(pdf: Path) -> int:
    info = _run(["pdfinfo", str(pdf)])
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_starting_with(pdf: Path, text: str) -> int | None:
    for n in range(1, pages(pdf) + 1):
        page = _run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"])
        if page.lstrip().replace(" ", "").startswith(text):
            return n
    return None


def snapshot(pdf: Path, page: int, png: Path, dpi: int) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile", str(pdf),
          str(png.with_suffix(""))])
    return png


def all_pages(pdf: Path, folder: Path, dpi: int) -> list[Path]:
    """Every page as folder/<pdf name>-第N页.png (one pdftoppm call); older pictures of it are replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{pdf.stem}-第*页.png"):
        old.unlink()
    prefix = folder / f"{pdf.stem}-page"
    _run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)])
    out = []
    for p in sorted(folder.glob(f"{prefix.name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        target = folder / f"{pdf.stem}-第{int(p.stem.rsplit('-', 1)[1])}页.png"
        p.replace(target)
        out.append(target)
    return out
