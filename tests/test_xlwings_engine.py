"""The test engine answers as Excel's COM layer does wherever the product depends on it (otherwise CI
would pass code that fails in Excel): one test per point, each through the real xlwings API."""
from __future__ import annotations

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
