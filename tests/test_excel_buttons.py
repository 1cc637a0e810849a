"""The buttons (bulletin/excel.py) on the xlwings port through the Excel-faithful test engine: error cells
seen as Excel gives them, COM calls per button within budget, Excel's state restored, outputs beside the
workbook whatever the current directory, a locked book named in Chinese."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest

from bulletin import actions, excel
from bulletin.actions import month as month_actions
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from bulletin.ports import xlwings_port
from test_ports_contract import MAY, paste_june

sys.path.insert(0, str(Path(__file__).parent))
from xlwings_engine import open_book  # noqa: E402

# COM round trips per click on the June sample pasted into bulletin.xlsm, May in the history (README, Windows
# section). `pytest tests/test_excel_buttons.py -k budget -s` prints each figure. A click reads the book from one
# SaveCopyAs and writes through one BulletinApply call, so a later click (AGAIN: the 上月/变化 headers there
# already) costs the same.
BUDGET = {"check": 16, "recalculate": 17, "compare": 16, "narrate": 17, "close_month": 16,
          "render_document": 24, "mail_preview": 24, "collect_send": 22, "collect_status": 22, "collect_remind": 22}
AGAIN = {"recalculate": 17, "compare": 16}
READS_THE_BOOK = {"check", "recalculate", "compare", "narrate", "close_month"}  # the others read the saved file


def engine_calls(book):
    """The test engine's count (read without book.app, which would be a COM call of its own)."""
    return book.impl._app().calls


@pytest.fixture
def folder(tmp_path):
    book = paste_june(tmp_path / "通报.xlsm")
    with History(tmp_path / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    return tmp_path, book


def test_an_error_cell_is_an_excel_error_from_a_button(folder):
    tmp, path = folder
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["附件1"]["E4"] = "#DIV/0!"  # what Excel shows for a broken formula pasted as values
    wb.save(path)
    book = open_book(path)
    excel.check(book)
    assert book.app.impl.alerts[-1][1].startswith("校验完成：错误 1 条")
    rows = book.sheets["校验结果"].range("A1:F4").value
    assert any(r[1] == "附件1" and r[2] == "E4" and r[4] == "value.excel_error" and "#DIV/0!" in r[5] for r in rows)
    assert month_actions.check(path).json()["problems"] == excel.check(open_book(path)).json()["problems"]


@pytest.fixture
def office(monkeypatch):
    """The 报送 buttons' office secret and day (the June month's collection, before its deadline)."""
    from collect_fixtures import SECRET

    monkeypatch.setenv("BULLETIN_COLLECT_SECRET", SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")


@pytest.mark.parametrize("step", sorted(BUDGET))
def test_com_calls_per_button_are_within_budget(folder, office, step):
    tmp, path = folder
    book = open_book(path)
    outcome = getattr(excel, step)(book)
    assert outcome is not None and not outcome.failed, book.app.impl.alerts
    calls = engine_calls(book)
    print(f"\n{step}: {sum(calls.values())} COM calls ({dict(calls.most_common(6))})")  # shown with -s
    assert sum(calls.values()) <= BUDGET[step]
    # the book is read from one copy and written by one macro call: no range, no sheet asked one by one
    assert calls["Workbook.SaveCopyAs"] == (step in READS_THE_BOOK) and calls["App.run"] == 1
    assert not [c for c in calls if c.startswith(("Range.", "Sheet.", "Areas."))]


def test_com_calls_of_the_import_button_are_within_budget(folder, office):
    """导入回传 reads the live book from one copy, merges, writes it back through BulletinApply and saves it."""
    from collect_fixtures import fill

    tmp, path = folder
    excel.collect_send(open_book(path))
    inbox = tmp / "回传"
    inbox.mkdir()
    for made in sorted((tmp / "out" / "collect" / "2023-06").glob("报送-*.xlsx"))[:5]:
        fill(made, inbox / made.name)
    book = open_book(path)
    outcome = excel.collect_import(book)
    assert outcome is not None and not outcome.failed, book.app.impl.alerts
    assert book.app.impl.alerts[-1][1].startswith("导入 5 个文件：已报 5")
    calls = engine_calls(book)
    print(f"\ncollect_import: {sum(calls.values())} COM calls ({dict(calls.most_common(6))})")
    assert sum(calls.values()) <= 25  # the book is copied twice (the plan, then the merge) and written once
    assert not [c for c in calls if c.startswith(("Range.", "Sheet.", "Areas."))]


@pytest.mark.parametrize("step", sorted(AGAIN))
def test_com_calls_of_a_second_click_are_within_budget(folder, step):
    tmp, path = folder
    first = open_book(path)
    getattr(excel, step)(first)
    first.save()
    book = open_book(path)
    getattr(excel, step)(book)
    total = sum(engine_calls(book).values())
    print(f"\n{step} again: {total} COM calls")
    assert total <= AGAIN[step]


def test_a_manual_calculation_is_done_before_the_book_is_copied(folder):
    tmp, path = folder
    book = open_book(path)
    book.app.calculation = "manual"  # the user calculates by hand: formulas' values may be stale
    excel.recalculate(book)
    sequence = book.impl._app().sequence
    assert sequence.count("App.calculate") == 1
    assert sequence.index("App.calculate") < sequence.index("Workbook.SaveCopyAs")
    assert book.app.calculation == "manual"


def test_automatic_calculation_needs_no_calculate_call(folder):
    tmp, path = folder
    book = open_book(path)
    excel.recalculate(book)
    assert engine_calls(book)["App.calculate"] == 0


def test_the_copy_leaves_no_file_behind_even_when_reading_it_fails(folder, tmp_path_factory, monkeypatch):
    tmp, path = folder
    temp = tmp_path_factory.mktemp("temp")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the port makes its copy
    before = sorted(tmp.iterdir())
    excel.recalculate(open_book(path))
    assert list(temp.iterdir()) == [] and sorted(tmp.iterdir()) == before  # nothing beside the book either

    def broken(copy):
        assert copy.is_file() and copy.parent.parent == temp
        raise RuntimeError("unreadable copy")

    monkeypatch.setattr(xlwings_port, "read_copy", broken)
    book = open_book(path)
    assert excel.recalculate(book) is None and "程序内部错误" in book.app.impl.alerts[-1][1]
    assert list(temp.iterdir()) == []


def test_an_old_workbook_without_the_macro_is_told_so_and_left_unchanged(folder):
    """A copy of an older bulletin.xlsm (its VBA without BulletinApply) with a newer Python package."""
    from pyopenvba import ExcelFile

    tmp, path = folder
    with ExcelFile(path) as f:
        source = f.get_module("Bulletin")
        f.set_module("Bulletin", source[:source.index("' BulletinApply:")])
        f.save()
    book = open_book(path)
    assert excel.recalculate(book) is None
    text = book.app.impl.alerts[-1][1]
    assert text.startswith("重新计算未完成：工作簿的宏中没有 BulletinApply") and "新版 bulletin.xlsm" in text
    console = book.sheets["控制台"].range("B5:B7").value
    assert console[0] == "尚未运行" and book.sheets["附件1"].range("G3").value is None  # no 状态


def test_text_a_button_writes_stays_text(folder):
    """Staff's paragraph kept by 生成问题文本 and the 控制台 time: text Excel would otherwise read as a formula,
    a number or a date stays the text it was."""
    tmp, path = folder
    book = open_book(path)
    excel.narrate(book)
    rows = book.sheets["问题文本"].used_range.value
    edited = {}
    for i, text in ((2, "=见附件1"), (3, "10%"), (4, "2023-06-30")):  # as staff typed them ('=见附件1, …)
        book.sheets["问题文本"].range((i, 4)).value = "'" + text
        edited[rows[i - 1][0]] = text
    excel.narrate(book)
    assert "Traceback" not in book.app.impl.alerts[-1][1] and "内部错误" not in book.app.impl.alerts[-1][1]
    kept = {r[0]: r[3] for r in book.sheets["问题文本"].used_range.value}
    assert {k: kept[k] for k in edited} == edited
    time = book.sheets["控制台"].range("B6").value
    assert isinstance(time, str) and time.startswith("20")


def test_screen_updating_and_calculation_are_restored_and_the_status_bar_handed_back(folder):
    tmp, path = folder
    book = open_book(path)
    book.app.calculation = "semiautomatic"  # the user's own setting survives the click
    excel.recalculate(book)
    app = book.app.impl
    assert app.screen_history == [True, False, True]
    assert app.calculation_history == ["automatic", "semiautomatic", "manual", "semiautomatic"]
    assert "正在重新计算……" in app.status_texts and app.status_texts[-1] is False


def test_excel_is_restored_after_an_internal_error_too(folder, monkeypatch):
    tmp, path = folder

    def broken(port, *a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(month_actions, "recalculate_book", broken)
    book = open_book(path)
    excel.recalculate(book)
    app = book.app.impl
    assert app.screen_updating is True and app.calculation == "automatic" and app.status_texts[-1] is False
    assert "程序内部错误" in app.alerts[-1][1]


def test_every_button_writes_beside_the_workbook_from_a_foreign_directory(folder, tmp_path_factory, monkeypatch):
    tmp, path = folder
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)  # a button's Python starts in the interpreter's folder, not the book's
    book = open_book(path)
    for step in ("check", "recalculate", "compare", "narrate", "render_document", "mail_preview", "close_month"):
        outcome = getattr(excel, step)(book)
        assert outcome is not None and not outcome.failed, (step, book.app.impl.alerts[-1])
    assert list(elsewhere.iterdir()) == []
    out = tmp / "out"
    assert (out / "通报-2023-06.docx").is_file()
    assert list((out / "mail" / "2023-06").glob("*.eml"))
    with History(tmp / "history.sqlite") as h:
        assert h.months() == ["2023-05", "2023-06"]


def test_a_book_excel_cannot_save_gives_a_chinese_message(folder):
    tmp, path = folder
    book = open_book(path, read_only=True)
    assert excel.render_document(book) is None
    text = book.app.impl.alerts[-1][1]
    assert text.startswith("生成通报文档未完成：请先关闭工作簿 通报.xlsm") and "Traceback" not in text
    assert not (tmp / "out").exists()


def test_test_mode_shows_no_message_box(folder):
    tmp, path = folder
    book = open_book(path)
    book.names.add("BULLETIN_NO_MODAL", "=TRUE")
    outcome = excel.check(book)
    assert book.app.impl.alerts == [] and outcome.notes[0].startswith("校验完成")
    assert book.sheets["控制台"].range("B5").value == "校验数据"


def test_environment_shows_history_and_output_folder(folder):
    tmp, path = folder
    lines = excel.environment(open_book(path))
    assert f"历史库：{actions.history_path(path, None)}（已存在；工作簿旁）" in lines
    assert f"输出文件夹：{tmp.resolve() / 'out'}" in lines


def test_copies_of_the_workbook_share_the_office_history(tmp_path, monkeypatch):
    """settings.yaml history_file (the office's copy, BULLETIN_CONFIG_DIR): any copy of the workbook, in any
    folder, compares with the same last month, and 检查环境 says where that history is."""
    from bulletin.config import CONFIG_DIR_ENV, DATA_DIR

    office = tmp_path / "office-config"
    office.mkdir()
    history = tmp_path / "共享" / "history.sqlite"
    history.parent.mkdir()
    text = (DATA_DIR / "settings.yaml").read_text(encoding="utf-8-sig")
    assert 'history_file: ""' in text, "settings.yaml changed: update this test"
    (office / "settings.yaml").write_text(text.replace('history_file: ""', f"history_file: '{history}'"),
                                          encoding="utf-8")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(office))
    with History(history) as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    for name in ("科室", "下载"):
        (tmp_path / name).mkdir()
        book = open_book(paste_june(tmp_path / name / "通报.xlsm"))
        outcome = excel.compare(book)
        assert outcome is not None and outcome.analysis.previous.month == "2023-05", book.app.impl.alerts
        assert f"历史库：{history}（已存在；settings.yaml 的 history_file 指定，各副本共用）" in excel.environment(book)
    assert not any((tmp_path / name / "history.sqlite").exists() for name in ("科室", "下载"))


def test_a_protected_annex_is_named_in_chinese_not_an_internal_error(folder):
    tmp, path = folder
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["附件2"].protection.sheet = True
    wb.save(path)
    book = open_book(path)
    assert excel.recalculate(book) is None
    text = book.app.impl.alerts[-1][1]
    assert text.startswith("重新计算未完成：工作表“附件2”设置了保护") and "撤销工作表保护" in text, text
    assert not list(tmp.glob("bulletin-error-*.log"))


def test_a_copy_excel_cannot_save_is_a_chinese_message_and_leaves_no_folder(folder, monkeypatch, tmp_path):
    import tempfile

    import xlwings_engine

    tmp, path = folder
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()

    def full_disk(self, Filename):  # what Excel answers when it cannot write the copy
        raise OSError(-2147352567, "Exception occurred.", (0, "Microsoft Excel", "磁盘已满。", None, 0, -2146827284))

    monkeypatch.setattr(xlwings_engine.Workbook, "SaveCopyAs", full_disk)
    book = open_book(path)
    assert excel.check(book) is None
    assert "无法读取工作簿：Excel 不能把它的副本保存到临时文件夹" in book.app.impl.alerts[-1][1]
    assert not list((tmp_path / "temp").iterdir())


def test_environment_on_an_old_workbook_without_the_macro_still_reports(folder):
    """检查环境 is the button pressed when something is wrong: on a book whose VBA lacks BulletinApply it
    shows its report with the reason, never xlwings' traceback box."""
    tmp, path = folder
    old = tmp / "旧版通报.xlsx"  # an .xlsx has no VBA project: no BulletinApply to run
    openpyxl.load_workbook(path).save(old)
    book = open_book(old)
    lines = excel.check_environment(book, vba_version="0.37.8")
    assert lines[-1].startswith("注意：工作簿的宏中没有 BulletinApply")
    assert book.app.impl.alerts[-1][1].startswith(lines[0])
