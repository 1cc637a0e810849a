"""The buttons' macros in Excel itself: each Sub of vba/Bulletin.bas run with wb.macro(…)(), so RunPython,
xlwings.conf, Book.caller() and the entry points are exercised as a click would (test mode: no message
boxes; the results are read from 控制台 and the sheets). Opt-in: BULLETIN_EXCEL=1 (conftest.py)."""
from __future__ import annotations

from pathlib import Path

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.workbook_layout import CONSOLE_ROWS, CONSOLE_SHEET
from test_xlwings_engine import apply_and_check


def console(book) -> dict[str, object]:
    """控制台's status block (上次操作, 时间, 结果, 输出文件, 历史库) as the last button left it."""
    first = CONSOLE_ROWS["上次操作"]
    values = book.sheets[CONSOLE_SHEET].range((first, 2), (first + 4, 2)).value
    return dict(zip(("上次操作", "时间", "结果", "输出文件", "历史库"), values))


def rows(book, sheet: str) -> list[list]:
    return book.sheets[sheet].used_range.options(ndim=2, empty=None, err_to_str=True).value


def run(book, sub: str) -> dict[str, object]:
    book.macro(sub)()  # RunPython waits for the Python process to finish
    return console(book)


def test_check_button_fills_the_problem_sheet(june_book):
    status = run(june_book, "BulletinCheck")
    assert status["上次操作"] == "校验数据" and status["结果"] == "错误 0 条、警告 2 条"
    problems = rows(june_book, "校验结果")[1:]
    assert {(r[1], r[2]) for r in problems if r[1]} == {("附件1", "F25"), ("附件6", "C34")}


def test_an_input_error_is_named_by_the_check_button(june_book):
    june_book.sheets["附件1"].range("E4").value = "很多"
    status = run(june_book, "BulletinCheck")
    assert status["结果"].startswith("错误 1 条")
    assert any(r[1] == "附件1" and r[2] == "E4" for r in rows(june_book, "校验结果"))


def test_recalculate_compare_and_narrate_buttons(june_book):
    assert run(june_book, "BulletinRecalculate")["上次操作"] == "重新计算"
    annex2 = rows(june_book, "附件2")
    status = annex2[1].index("状态")
    by_name = {r[1]: r for r in annex2 if r[1]}
    assert by_name["税务局"][status] == "红" and by_name["公安分局"][status] == "红"
    assert run(june_book, "BulletinCompare")["上次操作"] == "与上月比较"
    annex2 = rows(june_book, "附件2")
    head = annex2[1]
    row = next(r for r in annex2 if r[1] == "公安分局")
    assert round(row[head.index("压缩比例变化（百分点）")], 2) == -46.8
    assert run(june_book, "BulletinNarrate")["上次操作"] == "生成问题文本"
    text = "".join(str(r[3]) for r in rows(june_book, "问题文本")[1:] if r[3])
    assert "即办件占比为62.71%，较5月份降低2.51%" in text


def test_document_button_writes_into_the_out_folder_beside_the_book(june_book):
    status = run(june_book, "BulletinRenderDocument")
    folder = Path(june_book.fullname).parent
    assert status["上次操作"] == "生成通报文档" and status["结果"] == "完成"
    assert Path(status["输出文件"]).parent == folder / "out" and Path(status["输出文件"]).is_file()


def test_close_month_button_stores_the_month(june_book):
    status = run(june_book, "BulletinCloseMonth")
    assert status["上次操作"] == "结转下月" and "2023-06" in status["结果"]
    with History(Path(june_book.fullname).parent / "history.sqlite") as h:
        assert "2023-06" in h.months()


def test_environment_button_reports_this_python(june_book):
    status = run(june_book, "BulletinCheckEnvironment")
    assert status["上次操作"] == "检查环境" and "Python 版本：3." in status["结果"] and "（一致）" in status["结果"]


def test_bulletin_apply_in_excel_as_in_the_test_engine(excel_app, tmp_path):
    """The same plan and the same checks as tests/test_xlwings_engine.py: VBA and emulation agree."""
    import shutil

    from test_ports_contract import MASTER

    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = excel_app.books.open(str(path))
    try:
        book.sheets["附件2"].activate()
        book.sheets["附件2"].range("D20").select()  # a relative A1 rule would be read from here (KB 895562)
        apply_and_check(book)
    finally:
        book.close()


def test_a_buttons_writes_reach_the_book_through_the_macro(june_book):
    """重新计算 then 生成问题文本 from their buttons (about 1,300 and 120 operations, each step's in one
    Application.Run from the button's Python process): statuses and text are in the book, the 控制台 time
    stays text, and no copy of the book is left in the temp folder."""
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("bulletin-*"))
    assert run(june_book, "BulletinRecalculate")["上次操作"] == "重新计算"
    status = run(june_book, "BulletinNarrate")
    assert status["上次操作"] == "生成问题文本" and isinstance(status["时间"], str)
    assert set(Path(tempfile.gettempdir()).glob("bulletin-*")) == before
    annex1 = rows(june_book, "附件1")
    assert annex1[1][6] == "状态" and annex1[2][6] in ("红", "黄", "绿")
    assert any(r[0] == "总体情况.即办件与时限压缩" and "62.71%" in str(r[3]) for r in rows(june_book, "问题文本"))


def test_bulletin_apply_answers_why_it_stopped_in_excel(excel_app, tmp_path):
    """In Excel as in the engine (tests/test_xlwings_engine.py): a failed operation and a protected sheet come
    back as text, never as a VBA error (Application.Run would drop its description), and Excel's prompts and
    reference style are as they were."""
    import shutil

    from test_ports_contract import MASTER

    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = excel_app.books.open(str(path))
    try:
        alerts, style = excel_app.api.DisplayAlerts, excel_app.api.ReferenceStyle
        failed = book.macro("BulletinApply")((("控制台", "B5", "text", "一", ""), ("没有此表", "A1", "text", "二", "")))
        assert failed.startswith("BulletinApply failed at operation 2 (text 没有此表!A1): ")
        book.sheets["控制台"].api.Protect()
        assert book.macro("BulletinApply")((("控制台", "B6", "text", "三", ""),)) == "protected\t控制台"
        assert book.sheets["控制台"].range("B6").value != "三"
        assert (excel_app.api.DisplayAlerts, excel_app.api.ReferenceStyle) == (alerts, style)
    finally:
        book.sheets["控制台"].api.Unprotect()
        book.close()
