"""Opt-in acceptance suite on a Windows PC with Excel (office IT): the port contract suite against the live
workbook through real xlwings/Excel. Run:  set BULLETIN_EXCEL=1 && .venv\\Scripts\\python -m pytest tests\\excel
Not collected otherwise (CI has no Excel; there the same suite runs on tests/xlwings_engine.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ENABLED = os.environ.get("BULLETIN_EXCEL") == "1"
collect_ignore_glob = [] if ENABLED else ["*.py"]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def excel_app():
    import xlwings as xw

    app = xw.App(visible=False, add_book=False)
    app.display_alerts = False
    yield app
    app.quit()


@pytest.fixture
def june_book(excel_app, tmp_path):
    """The master workbook with June pasted in, opened in Excel, May in the history beside it, in test
    mode (defined name BULLETIN_NO_MODAL: the buttons' messages are not modal boxes). The buttons find
    Python through xlwings.conf: the repository's (copied beside the book, as setup.bat writes it) or
    the user's %USERPROFILE%\\.xlwings\\xlwings.conf. An error of RunPython itself (no Python found) is
    xlwings' own message box, which stops the run: run setup.bat first."""
    import shutil

    from bulletin.adapters.history_sqlite import History
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute
    from test_ports_contract import MASTER, MAY, paste_june

    path = paste_june(tmp_path / "2023年6月通报.xlsm")
    conf = MASTER.parent / "xlwings.conf"
    if conf.exists():
        shutil.copy(conf, tmp_path / conf.name)
    with History(tmp_path / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    book = excel_app.books.open(str(path))
    book.names.add("BULLETIN_NO_MODAL", "=TRUE")
    yield book
    book.close()


@pytest.fixture
def june_port(excel_app, tmp_path):
    from bulletin.adapters.history_sqlite import History
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute
    from bulletin.ports.xlwings_port import XlwingsPort
    from test_ports_contract import MAY, paste_june

    path = paste_june(tmp_path / "2023年6月通报.xlsm")
    with History(tmp_path / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    book = excel_app.books.open(str(path))
    port = XlwingsPort(book)
    port.message = port.messages.append  # no modal boxes during the automated run
    yield port
    book.close()
