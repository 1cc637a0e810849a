"""PNG images of a rendered 通报 PDF: page 1 and the first page of one annex (poppler's pdftotext/pdftoppm).

Usage: python tools/pdf_snapshots.py out/通报-2023-06.pdf OUT_DIR [--annex 5] [--dpi 110]
Writes OUT_DIR/<pdf name>-第1页.png and OUT_DIR/<pdf name>-附件5.png (used by `make demo` and the README).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bulletin.adapters.pdf_pages import page_starting_with, snapshot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="把通报 PDF 的第1页和某个附件的首页存为 PNG")
    ap.add_argument("pdf", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--annex", type=int, default=5)
    ap.add_argument("--dpi", type=int, default=110)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.pdf.stem
    annex = page_starting_with(args.pdf, f"附件{args.annex}")
    if annex is None:
        raise SystemExit(f"{args.pdf} 中没有以“附件{args.annex}”开头的页")
    for label, page in (("第1页", 1), (f"附件{args.annex}", annex)):
        print(snapshot(args.pdf, page, args.out / f"{stem}-{label}.png", args.dpi))
    return 0


if __name__ == "__main__":
    sys.exit(main())
