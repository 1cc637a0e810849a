"""The test engine answers as Excel's COM layer does wherever the product depends on it (otherwise CI
would pass code that fails in Excel): one test per point, each through the real xlwings API."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from xlwings_engine import CELL_ERRORS, open_book  # noqa: E402


@pytest.fixture
def book(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"], ws["B1"], ws["C1"], ws["D1"] = 5, 2.5, "", "文字"
    ws["A2"], ws["B2"] = "#DIV/0!", "#N/A"  # openpyxl stores these as errors (data type "e")
    ws["A4"], ws["B4"] = 1, 2
    ws["A4"].number_format, ws["B4"].number_format = "0.00%", "0"
    ws.merge_cells("A5:B5")
    path = tmp_path / "book.xlsx"
    wb.save(path)
    assert wb["表"]["A2"].data_type == "e"
    return open_book(path)


def test_numbers_come_back_as_floats(book):
    a1, b1 = book.sheets["表"].range("A1:B1").value
    assert (a1, b1) == (5.0, 2.5) and type(a1) is float


def test_an_empty_string_is_an_empty_cell(book):
    assert book.sheets["表"].range("C1").value is None
    book.sheets["表"].range("D1").value = ""
    assert book.sheets["表"].range("D1").value is None


def test_errors_are_none_unless_err_to_str(book):
    sheet = book.sheets["表"]
    assert sheet.range("A2:B2").value == [None, None]  # what Excel gives xlwings' default read
    assert sheet.range("A2:B2").options(err_to_str=True).value == ["#DIV/0!", "#N/A"]
    assert sheet.range("A2").raw_value in CELL_ERRORS  # COM hands back the error code


def test_a_written_hyperlink_reads_back_as_its_text(book):
    cell = book.sheets["表"].range("D3")
    cell.value = "=HYPERLINK(\"#'附件1'!F25\",\"F25\")"
    assert cell.value == "F25"


def test_a_written_formula_the_engine_cannot_compute_is_refused(book):
    with pytest.raises(NotImplementedError):
        book.sheets["表"].range("D3").value = "=SUM(A1:B1)"


def test_text_prefix_keeps_a_formula_like_text_as_text(book):
    cell = book.sheets["表"].range("D4")
    cell.value = "'=1+1"
    assert cell.value == "=1+1"


def test_mixed_number_formats_and_partial_merges_answer_null(book):
    sheet = book.sheets["表"]
    assert sheet.range("A4").number_format == "0.00%"
    assert sheet.range("A4:B4").number_format is None
    assert sheet.range("A5:B5").merge_cells is True
    assert sheet.range("A5:C5").merge_cells is None
    assert sheet.range("A6:B6").merge_cells is False
    assert sheet.range("B5").merge_area.address == "$A$5:$B$5"


def test_every_member_access_is_a_counted_com_call(book):
    calls = book.app.impl.calls
    calls.clear()
    sheet = book.sheets["表"]  # Book.sheets, Sheets.Item
    assert sum(calls.values()) == 2
    sheet.range("A1:B1").options(ndim=2).value  # Sheet.range, then Value (xlwings also asks the range's
    assert calls["Range.raw_value"] == 1         # sheet, book and app for the engine)
    assert calls["Sheet.range"] == 1


def test_screen_updating_calculation_and_status_bar_are_recorded(book):
    app = book.app
    assert app.screen_updating is True and app.calculation == "automatic" and app.status_bar is False
    app.screen_updating, app.calculation, app.status_bar = False, "manual", "正在计算"
    assert (app.screen_updating, app.calculation, app.status_bar) == (False, "manual", "正在计算")
    with pytest.raises(ValueError):
        app.calculation = "sometimes"


def test_a_read_only_book_refuses_to_save(tmp_path, book):
    ro = open_book(Path(book.fullname), read_only=True)
    with pytest.raises(OSError):
        ro.save()


# -- BulletinApply (vba/Bulletin.bas) and Workbook.SaveCopyAs: what the port's reading and writing rest on -----

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "bulletin.xlsm"
CHECK_SHEET = "接口检查"
TEXTS = ["=1+1", "+x", "-x", "@x", "'quoted", "12", "10%", "TRUE", "#N/A", "2023-06-01", "2023-07-10 09:30:00",
         "普通文字"]  # text Excel would take as a formula, a prefix, a number, a truth value, an error, a date


def vba_kinds() -> set[str]:
    """The Case labels of BulletinApply in the VBA source."""
    source = (ROOT / "vba" / "Bulletin.bas").read_text(encoding="ascii")
    body = source[source.index("Public Function BulletinApply"):]
    return set(re.findall(r'^\s*Case "([^"]+)"', body[:body.index("End Function")], re.M))


def test_the_engine_and_the_port_know_exactly_the_kinds_the_vba_handles():
    from bulletin.ports.xlwings_port import KINDS
    from xlwings_engine import APPLY

    assert vba_kinds() and vba_kinds() == set(APPLY) == set(KINDS)


def check_plan() -> tuple:
    """One operation of every kind, text of every kind Excel would misread (also run in Excel: tests/excel)."""
    from bulletin.ports.xlwings_port import bgr

    s = CHECK_SHEET
    plan = [(s, "", "add sheet", s, "")]
    plan += [(s, f"A{i}", "text", t, "") for i, t in enumerate(TEXTS, 1)]
    plan += [(s, "B1", "value", 3.5, ""), (s, "B2", "value", True, ""), (s, "B3", "value", 1.0, ""),
             (s, "B3", "value", "", ""),
             (s, "C1", "formula", f"=HYPERLINK(\"#'{s}'!A1\",\"A1\")", ""),
             (s, "D1:D2", "value", 0.5, ""), (s, "D1:D2,D4", "number format", "0.00%", ""),
             (s, "E1:F2", "fill", bgr("FCE4D6"), ""), (s, "E1:F2", "bold", True, ""),
             (s, "G1", "text", "合并", ""), (s, "G1:G3", "merge", "", ""),
             (s, "H3", "text", "红", ""), (s, "A2:H20", "condition", '=RC8="红"', bgr("FFC7CE"))]
    return tuple(plan)


def apply_and_check(book) -> None:
    """BulletinApply on a book made from bulletin.xlsm, saved, read back from the file with openpyxl."""
    plan = check_plan()
    assert book.macro("BulletinApply")(plan) == len(plan)
    book.save()
    ws = openpyxl.load_workbook(book.fullname, keep_vba=True)[CHECK_SHEET]
    for i, text in enumerate(TEXTS, 1):
        cell = ws[f"A{i}"]
        assert (cell.value, cell.data_type, cell.number_format) == (text, "s", "General"), text
    assert (ws["B1"].value, ws["B2"].value, ws["B3"].value) == (3.5, True, None)
    assert ws["C1"].value == f"=HYPERLINK(\"#'{CHECK_SHEET}'!A1\",\"A1\")"
    assert [ws[a].number_format for a in ("D1", "D2", "D3", "D4")] == ["0.00%", "0.00%", "General", "0.00%"]
    assert ws["D1"].value == 0.5
    assert all(ws[a].fill.fgColor.rgb[-6:] == "FCE4D6" and ws[a].font.b for a in ("E1", "F2"))
    assert not ws["E3"].font.b
    assert [str(m) for m in ws.merged_cells.ranges] == ["G1:G3"] and ws["G1"].value == "合并"
    rules = [(str(r.sqref), rule.formula, rule.dxf.fill) for r in ws.conditional_formatting for rule in r.rules]
    assert [(sqref, formula) for sqref, formula, _ in rules] == [("A2:H20", ['$H2="红"'])]
    fill = rules[0][2]  # Excel writes a condition's fill as its background colour, openpyxl as foreground
    assert "FFC7CE" in {str(fill.fgColor.rgb)[-6:], str(fill.bgColor.rgb)[-6:]}


def test_bulletin_apply_applies_every_kind_and_keeps_text_text(tmp_path):
    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = open_book(path)
    book.app.impl.calls.clear()
    apply_and_check(book)
    assert book.app.impl.calls["App.run"] == 1


def test_a_failed_operation_is_named_and_stops_the_rest(tmp_path):
    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = open_book(path)
    plan = (("控制台", "B5", "text", "一", ""), ("没有此表", "A1", "text", "二", ""), ("控制台", "B7", "text", "三", ""))
    answer = book.macro("BulletinApply")(plan)  # returned, not raised: Application.Run drops a VBA error's text
    assert answer.startswith("BulletinApply failed at operation 2 (text 没有此表!A1): ")
    assert book.sheets["控制台"].range("B5").value == "一" and book.sheets["控制台"].range("B7").value != "三"


def test_a_protected_sheet_stops_the_plan_and_is_named(tmp_path):
    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["控制台"].protection.sheet = True
    wb.save(path)
    book = open_book(path)
    plan = (("校验结果", "A1", "text", "一", ""), ("控制台", "B5", "text", "二", ""))
    assert book.macro("BulletinApply")(plan) == "protected\t控制台"
    assert book.sheets["校验结果"].range("A1").value == "一" and book.sheets["控制台"].range("B5").value != "二"


def test_a_plan_pywin32_could_not_hand_over_is_refused(tmp_path):
    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = open_book(path)
    for plan in ((("控制台", "B5", "text", None, ""),), (("控制台", "B5", "value", ((1.0,),), ""),), ()):
        with pytest.raises(TypeError):
            book.macro("BulletinApply")(plan)


def test_a_macro_the_book_lacks_fails_as_in_excel(book):
    with pytest.raises(OSError, match="Cannot run the macro"):
        book.macro("BulletinApply")((("表", "A1", "text", "x", ""),))


def test_text_assigned_to_a_cell_is_read_as_excel_reads_typed_input(book):
    sheet = book.sheets["表"]
    for text, value, fmt in (("12", 12.0, "General"), ("10%", 0.1, "0%"), ("TRUE", True, "General"),
                             ("'12", "12", "General"), ("文字", "文字", "General")):
        cell = sheet.range("E1")
        cell.number_format = "General"
        cell.value = text
        assert (cell.value, cell.number_format) == (value, fmt), text
    with pytest.raises(NotImplementedError):  # "-x" typed is a formula (=-x), which the engine refuses
        sheet.range("E2").value = "-x"


def test_save_copy_as_writes_the_book_as_it_is_in_memory(tmp_path):
    path = tmp_path / "通报.xlsm"
    shutil.copy(MASTER, path)
    book = open_book(path)
    book.sheets["控制台"].range("B5").value = "未保存的修改"
    book.sheets["校验结果"].range("C2").value = "=HYPERLINK(\"#'附件1'!F25\",\"F25\")"
    book.names.add("BULLETIN_NO_MODAL", "=TRUE")
    book.app.impl.calls.clear()
    book.api.SaveCopyAs(str(tmp_path / "副本.xlsm"))
    calls = book.impl._app().calls  # (not through book.app, which is a COM call itself)
    assert dict(calls) == {"Workbook.SaveCopyAs": 1}
    copy = openpyxl.load_workbook(tmp_path / "副本.xlsm", keep_vba=True)
    assert copy["控制台"]["B5"].value == "未保存的修改" and copy["校验结果"]["C2"].value == "F25"
    assert "BULLETIN_NO_MODAL" in copy.defined_names
    assert openpyxl.load_workbook(path)["控制台"]["B5"].value != "未保存的修改"  # the book itself is not saved
