"""Every CLI step that writes files, run from a foreign current directory, writes into the out folder
beside the workbook (the buttons' counterpart: tests/test_excel_buttons.py)."""
from __future__ import annotations

import shutil
import subprocess
import sys

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from conftest import SAMPLE
from test_ports_contract import MAY


def test_every_cli_step_writes_beside_the_workbook(tmp_path):
    folder, elsewhere = tmp_path / "月报", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    book = shutil.copy(SAMPLE, folder / SAMPLE.name)
    with History(folder / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    for step in ("recalc", "run", "charts", "render", "mail"):
        res = subprocess.run([sys.executable, "-m", "bulletin", step, str(book)], capture_output=True, text=True,
                             cwd=elsewhere)
        assert res.returncode == 0, (step, res.stdout, res.stderr)
    assert list(elsewhere.iterdir()) == []
    out = folder / "out"
    assert (out / "通报结果-2023-06.xlsx").is_file() and (out / "通报-2023-06.docx").is_file()
    assert list((out / "charts").glob("*.png")) and list((out / "mail" / "2023-06").glob("*.eml"))
