"""Intake normalisation of what staff paste, on a real workbook."""
from __future__ import annotations

import re

import openpyxl
import pytest

import frames

from bulletin.adapters.xlsx_files import read_grids
from bulletin.core.numbers import BadNumber, parse_number
from bulletin.engine import compute

from conftest import SAMPLE, edit_sample, find_cell


@pytest.mark.parametrize("raw, percent, expected", [
    ("161", False, 161), (" 161 ", False, 161), ("１２３", False, 123), ("28,079", False, 28079),
    ("２８，０７９", False, 28079), ("62.71%", True, 62.71), ("６２．７１％", True, 62.71), (0.6271, True, 62.71),
    ("100.00%", True, 100), (62.71, True, 62.71), ("\u3000７\u3000", False, 7), (None, False, None), ("  ", False, None),
])
def test_unambiguous_forms_are_normalised(raw, percent, expected):
    assert parse_number(raw, percent=percent) == pytest.approx(expected) if expected is not None else \
        parse_number(raw, percent=percent) is None


@pytest.mark.parametrize("raw, rule", [("1,2", "value.not_number"), ("12a", "value.not_number"),
                                       ("#DIV/0!", "value.excel_error"), ("#N/A", "value.excel_error"),
                                       ("—", "value.not_number"), ("1.2.3", "value.not_number")])
def test_ambiguous_forms_are_problems(raw, rule):
    with pytest.raises(BadNumber) as exc:
        parse_number(raw)
    assert exc.value.rule == rule


def test_pasted_text_numbers_read_like_numbers(tmp_path):
    edits = [("附件1", "殷都区交通局", "事项总数", "８９"), ("附件6", "人社局", "部门报送数据", "28,079"),
             ("附件1", "殷都区交通局", "即办件事项占比", "100.00%"), ("附件2", "教育局", "事项总数", " 30 ")]
    path, _ = edit_sample(tmp_path, edits)
    original, edited = compute(read_grids(SAMPLE)), compute(read_grids(path))
    assert [p.rule for p in edited.problems] == [p.rule for p in original.problems]
    for sheet in ("附件1", "附件2", "附件6"):
        assert edited.result(sheet).total == original.result(sheet).total


def test_blank_lines_inside_a_table_are_skipped(tmp_path):
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["附件7"]
    ws.insert_rows(6, amount=2)  # two empty lines in the middle of the departments
    path = tmp_path / "blank.xlsx"
    wb.save(path)
    data = compute(read_grids(path))
    assert len(frames.departments(data.result(7))) == 9
    assert data.result(7).total["已完成事项"] == 11
    assert not data.has_errors


def test_merged_department_cells_fill_down():
    data = compute(read_grids(SAMPLE))
    three = frames.departments(data.result(3))
    assert (three["部门"] == "卫健委").sum() == 10
    assert three["部门"].notna().all()


def test_formula_cells_are_read_as_excel_computed_them(tmp_path):
    """A formula in an input cell is read through Excel's cached value, never as its "=…" text: one that was
    never calculated (openpyxl writes no cached value) is named as such at its cell."""
    from bulletin.actions.month import check

    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["附件6"]
    addr = find_cell(ws, "人社局", "部门报送数据")
    ws[addr] = "=28000+79"
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    data = check(path).data
    assert [p.rule for p in data.problems if p.cell == addr] == ["value.uncalculated"]


def test_a_formula_whose_result_is_empty_text_is_a_blank_not_an_uncalculated_formula(tmp_path):
    """Excel saves =IF(…,"",…) as text with an empty result (t="str", <v></v>), which openpyxl reads as None
    like a formula never calculated: the cell reads as blank, as in Excel; only the other one is named."""
    import zipfile

    from bulletin.actions.month import check

    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["附件6"]
    empty, never = find_cell(ws, "人社局", "部门报送数据"), find_cell(ws, "民政局", "部门报送数据")
    ws[empty], ws[never] = '=IF(1=1,"",1)', "=28000+79"
    written = tmp_path / "written.xlsx"
    wb.save(written)
    path = tmp_path / "saved-by-excel.xlsx"  # the empty result added the way Excel writes it
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        sheet = f"xl/worksheets/sheet{wb.sheetnames.index('附件6') + 1}.xml"  # openpyxl numbers them in order
        for item in src.infolist():
            data = src.read(item)
            if item.filename == sheet:
                cell = re.search(rf'<c r="{empty}"[^>]*>.*?</c>'.encode(), data)[0]
                assert cell.endswith(b"<v></v></c>") and b" t=" not in cell, cell  # openpyxl: a number, no result
                data = data.replace(cell, cell.replace(b"<c ", b'<c t="str" ', 1))
            dst.writestr(item, data)
    problems = check(path).data.problems
    assert [p.rule for p in problems if p.cell == never] == ["value.uncalculated"]
    assert [p.rule for p in problems if p.cell == empty] == ["value.missing"]  # blank, as Excel shows it


def test_annex5_header_pasted_unmerged_as_printed(tmp_path):
    """附件5's three header rows copied from the Word table lose their merges (each heading in its first
    cell only): they are read as printed, no header.missing, and every figure is the same."""
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["附件5"]
    for rng in [r for r in ws.merged_cells.ranges if r.min_row >= 2]:
        ws.unmerge_cells(str(rng))
    path = tmp_path / "unmerged.xlsx"
    wb.save(path)
    data, before = compute(read_grids(path)), compute(read_grids(SAMPLE))
    assert [p for p in data.problems if p.rule == "header.missing"] == []
    assert data.inputs["附件5"].columns == before.inputs["附件5"].columns
    assert data.results["附件5"].total == before.results["附件5"].total
