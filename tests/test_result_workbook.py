"""One writer for the result workbook: what the CLI writes into a new file and what the buttons write into the
live book are the same cells (values, number formats, fills, bold, merges, conditional formats, links, text),
because both run the same steps over the workbook port. Golden snapshots of the June outputs make any change
of output a reviewed diff."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document

from bulletin import actions
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from bulletin.ports.xlwings_port import XlwingsPort
from result_snapshot import check_golden, workbook_cells
from test_ports_contract import MAY, paste_june

sys.path.insert(0, str(Path(__file__).parent))
from xlwings_engine import open_book  # noqa: E402

OVERVIEW = "总览"  # drawn by the file port only: the live book points to `bulletin run` for the charts


@pytest.fixture(scope="module")
def june(tmp_path_factory):
    """The master workbook with June pasted in, a history holding May, and both outputs of the whole job."""
    folder = tmp_path_factory.mktemp("result")
    book = paste_june(folder / "通报.xlsm")
    history = folder / "history.sqlite"
    with History(history) as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    res = subprocess.run([sys.executable, "-m", "bulletin", "run", str(book), "--history", str(history)],
                         capture_output=True, text=True, cwd=elsewhere)  # a foreign current directory
    assert res.returncode == 0, res.stdout + res.stderr
    cli = folder / "out" / "通报结果-2023-06.xlsx"
    live = folder / "live.xlsm"
    shutil.copy(book, live)
    button_book = open_book(live)
    outcome = actions.run_book(XlwingsPort(button_book), history=history)
    assert not outcome.data.has_errors
    button_book.save()
    return {"folder": folder, "book": book, "history": history, "cli": cli, "live": live, "elsewhere": elsewhere}


def test_cli_and_buttons_write_the_same_cells(june):
    cli = workbook_cells(june["cli"], skip_sheets=(OVERVIEW,))
    live = workbook_cells(june["live"], skip_sheets=(OVERVIEW,))
    assert sorted(cli) == sorted(live)
    for sheet in cli:
        assert cli[sheet] == live[sheet], sheet


def test_outputs_default_to_the_out_folder_beside_the_workbook(june):
    assert june["cli"].is_file()
    assert not (june["elsewhere"] / "out").exists()


def test_the_june_result_workbook_is_as_reviewed(june):
    check_golden("result-2023-06", workbook_cells(june["cli"]))


def test_the_june_text_against_may_is_as_reviewed(june):
    outcome = actions.narrate(june["book"], None, june["history"])
    check_golden("narrative-2023-06", outcome.narrative)


def test_the_june_document_is_as_reviewed(june):
    outcome = actions.render(june["book"], None, None, june["history"], today=__import__("datetime").date(2023, 7, 10))
    doc = Document(str(outcome.output))
    snapshot = {"paragraphs": [p.text for p in doc.paragraphs if p.text.strip()],
                "tables": [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]}
    assert outcome.output.parent == june["folder"] / "out"
    check_golden("document-2023-06", snapshot)
