"""docs/控制台.png and docs/附件2-状态.png: the master workbook with the June sample pasted and 重新计算 run
(--in-place path), rendered by LibreOffice (headless PDF) and poppler's pdftoppm. `python -m bulletin.build.screenshots`."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

from ..config import REPO_DIR

DOCS = REPO_DIR / "docs"
SHOTS = {"控制台": "控制台.png", "附件2": "附件2-状态.png"}


def main() -> int:
    sys.path.insert(0, str(REPO_DIR / "tests"))
    from test_ports_contract import paste_june  # the same "paste" the acceptance tests use

    from ..actions.month import recalc_in_place

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        book = paste_june(tmp / "通报.xlsm")
        recalc_in_place(book)
        for sheet, png in SHOTS.items():
            wb = openpyxl.load_workbook(book, keep_vba=True)
            for ws in wb.worksheets:
                ws.sheet_state = "visible" if ws.title == sheet else "hidden"
            wb.active = wb.sheetnames.index(sheet)
            ws = wb[sheet]
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            one = tmp / f"{sheet}.xlsm"
            wb.save(one)
            subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/lo", "--headless", "--convert-to", "pdf",
                            "--outdir", str(tmp), str(one)], check=True, capture_output=True)
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                            str(tmp / f"{sheet}.pdf"), str(tmp / sheet)], check=True)
            DOCS.mkdir(exist_ok=True)
            shutil.copy(tmp / f"{sheet}.png", DOCS / png)
            print(f"已生成 {DOCS / png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
