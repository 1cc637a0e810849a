"""The collection steps from the other front ends, over the one action layer: the console's steps on files, and
the workbook's entry points (bulletin/excel.py through the Excel-faithful test engine): the book saved, then the
file actions beside it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bulletin import excel
from bulletin.actions import collect
from bulletin.console import steps
from collect_fixtures import SECRET, blank_master, fill
from test_ports_contract import paste_june

sys.path.insert(0, str(Path(__file__).parent))
from xlwings_engine import open_book  # noqa: E402


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv(collect.SECRET_ENV, SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-04")


def test_console_steps_send_import_status_remind(tmp_path):
    master = blank_master(tmp_path / "通报数据-2023-06.xlsx")
    lines = []
    sent = steps.collect_send(master, None, lines.append)
    assert len(sent.extra["collect"]["departments"]) == 32 and lines[0].startswith("正在为各单位生成填报工作簿")
    folder = tmp_path / "out" / "collect" / "2023-06"
    uploads = [fill(folder / f"报送-2023-06-{d}.xlsx", tmp_path / f"{d}.xlsx") for d in ("交通局", "残联")]
    imported = steps.collect_import(master, None, uploads)
    assert [r["outcome"] for r in imported.extra["collect"]["returns"]] == ["已报", "已报"]
    status = steps.collect_status(master, None)
    states = {(r["short"], r["state"]) for r in status.extra["collect"]["rows"]}
    assert ("交通局", "已报") in states and ("民宗局", "已发") in states
    reminded = steps.collect_remind(master, None)
    assert reminded.extra["collect"]["due"] == "截止前3天" and len(reminded.extra["collect"]["reminded"]) == 30


def test_workbook_entry_points_save_then_act_beside_the_book(tmp_path):
    path = paste_june(tmp_path / "通报.xlsm")
    book = open_book(path)
    outcome = excel.collect_send(book)
    assert outcome is not None and not outcome.failed, book.app.impl.alerts
    assert len(list((tmp_path / "out" / "collect" / "2023-06").glob("报送-*.xlsx"))) == 32
    again = open_book(path)
    status = excel.collect_status(again)
    assert status is not None and "尚未报齐" in "\n".join(status.notes)
    assert "尚未报齐" in again.app.impl.alerts[-1][1]  # the notes in the message box
    reminded = excel.collect_remind(open_book(path))
    assert reminded is not None and reminded.extra["collect"]["due"] == "截止前3天"


def test_the_import_button_merges_into_the_live_book_and_saves_it(tmp_path):
    """导入回传 from the workbook: the returns in the 回传 folder merged into the open book through the port (one
    macro call), the book saved, then the ledger written."""
    import openpyxl

    from bulletin.adapters.collect_ledger import CollectLedger
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute

    path = paste_june(tmp_path / "通报.xlsm")
    data = compute(read_grids(path))
    inp = data.inputs["附件1"]
    row = next(r["_row"] for r in inp.records if r.get("部门") == "交通局")
    cell = (row, inp.columns["事项总数"])
    wb = openpyxl.load_workbook(path, keep_vba=True)
    june_value = wb["附件1"].cell(*cell).value
    wb["附件1"].cell(*cell).value = None  # not yet reported
    wb.save(path)
    collect.send(path, only=["交通局"])
    inbox = tmp_path / collect.INBOX_FOLDER
    book = open_book(path)
    assert excel.collect_import(book) is None  # an empty inbox: said, nothing done
    assert "请先把各单位回传的工作簿保存到文件夹" in book.app.impl.alerts[-1][1]
    fill(tmp_path / "out" / "collect" / "2023-06" / "报送-2023-06-交通局.xlsx", inbox / "交通局.xlsx")
    book = open_book(path)
    outcome = excel.collect_import(book)
    assert outcome is not None, book.app.impl.alerts
    (r,) = outcome.extra["collect"]["returns"]
    assert r["outcome"] == "已报" and r["written"] == 1, r
    saved = openpyxl.load_workbook(path)
    assert saved["附件1"].cell(*cell).value == june_value  # merged into the book and saved
    assert "报送情况" in saved.sheetnames
    with CollectLedger(tmp_path / "history.sqlite") as ledger:
        assert [e.outcome for e in ledger.events("2023-06")] == ["已报"]
