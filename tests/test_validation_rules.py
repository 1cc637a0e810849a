"""Each validation rule, on a real workbook with a crafted bad cell: the problem names that exact cell."""
from __future__ import annotations

import openpyxl

from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute

from conftest import SAMPLE, edit_sample, find_cell, problems_at

CASES = [
    # (sheet, row label, column, bad value, expected rule)
    ("附件1", "殷都区交通局", "事项总数", "八十九", "value.not_number"),
    ("附件1", "殷都区住建局", "即办件事项数", "#REF!", "value.excel_error"),
    ("附件2", "统计局", "法定时限（工作日）", -690, "value.negative"),
    ("附件6", "医保局", "部门报送数据", 13868.5, "value.not_integer"),
    ("附件4", "殷都区司法局", "已发布资源目录数", None, "value.missing"),
    ("附件1", "殷都区民宗局", "即办件事项数", 21, "check.part_exceeds_whole"),
    ("附件2", "残联", "一日办结事项数", 6, "check.parts_sum_mismatch"),
    ("附件4", "殷都区水利局", "已挂载资源目录数", 10, "check.part_exceeds_whole"),
    ("附件7", "卫健委", "已完成事项", 11, "check.part_exceeds_whole"),
    ("附件8", "教育局", "请假人数", 4, "check.part_exceeds_whole"),
    ("附件1", "殷都区商务局", "即办件事项占比", 0.5, "printed.ratio_mismatch"),
    ("附件7", "自然资源局", "未完成事项", 3, "printed.value_mismatch"),
    ("附件1", "合计", "事项总数", 1645, "printed.total_mismatch"),
    ("附件8", "小计", "入驻总人数", 100, "printed.total_mismatch"),
    ("附件1", "殷都区档案局", "单位", "殷都区档案馆", "department.unknown"),
]


def test_every_rule_found_in_one_pass_at_its_cell(tmp_path):
    # the subtotal 小计 appears twice in 附件8; find_cell takes the first one (派驻部门)
    path, cells = edit_sample(tmp_path, [(s, lbl, col, v) for s, lbl, col, v, _ in CASES])
    data = compute(read_grids(path))
    found = problems_at(data)
    for sheet, label, column, _, rule in CASES:
        where = cells[f"{sheet}/{label}/{column}"]
        if rule == "check.parts_sum_mismatch":  # reported on the whole (事项总数) of the same row
            where = f"{sheet}!{find_cell(openpyxl.load_workbook(path)[sheet], label, '事项总数')}"
        assert rule in found.get(where, []), (where, rule, found.get(where))
    by_rule = {p.rule: p for p in data.problems}
    assert by_rule["value.not_number"].department == "交通局"
    assert "八十九" in by_rule["value.not_number"].message
    assert by_rule["check.part_exceeds_whole"].severity == "error"
    assert by_rule["printed.ratio_mismatch"].severity == "warning"
    assert data.has_errors


def test_duplicate_department(tmp_path):
    # rename 医保局 (row 2 of 附件6) to an alias of 人社局 (row 1): the second occurrence is the problem
    path, cells = edit_sample(tmp_path, [("附件6", "医保局", "单位名称", "人力资源和社会保障局")])
    data = compute(read_grids(path))
    dup = [p for p in data.problems if p.rule == "department.duplicate"]
    assert [p.where for p in dup] == [cells["附件6/医保局/单位名称"]]
    assert dup[0].department == "人社局"


def test_missing_name_with_data(tmp_path):
    path, cells = edit_sample(tmp_path, [("附件7", "残联", "单位名称", None)])
    found = problems_at(compute(read_grids(path)))
    assert "department.missing_name" in found[cells["附件7/残联/单位名称"]]


def test_missing_sheet_and_header_and_scalars(tmp_path):
    wb = openpyxl.load_workbook(SAMPLE)
    del wb["附件4"]
    ws = wb["附件2"]
    ws[find_cell(ws, "合计", "承诺时限（工作日）")[0] + "2"] = "承诺期限"  # header cell renamed
    wb["总体情况"]["B4"] = "很多"
    wb["总体情况"]["B5"] = None
    path = tmp_path / "broken.xlsx"
    wb.save(path)
    data = compute(read_grids(path))
    rules = {(p.sheet, p.rule) for p in data.problems}
    assert ("附件4", "sheet.missing") in rules
    assert ("附件2", "header.missing") in rules
    assert ("总体情况", "scalar.invalid") in rules
    assert ("总体情况", "scalar.missing") in rules
    header = next(p for p in data.problems if p.rule == "header.missing")
    assert "承诺时限（工作日）" in header.message


def test_warnings_alone_do_not_block():
    data = compute(read_grids(SAMPLE))
    assert data.problems and not data.has_errors


def test_annex1_and_annex2_must_agree_one_error_naming_both_cells(tmp_path):
    """71 typed for 17 in 附件1: besides part-exceeds-whole, one error points at 附件2's cell holding 17."""
    path, cells = edit_sample(tmp_path, [("附件1", "殷都区商务局", "即办件事项数", 71)])
    data = compute(read_grids(path))
    agree = [p for p in data.problems if p.rule == "check.agreement_mismatch"]
    assert len(agree) == 1
    other = find_cell(openpyxl.load_workbook(path)["附件2"], "商务局", "即办件事项数")
    p = agree[0]
    assert (p.severity, p.department, p.where) == ("error", "商务局", cells["附件1/殷都区商务局/即办件事项数"])
    assert cells["附件1/殷都区商务局/即办件事项数"].split("!")[1] in p.message and f"附件2 {other}" in p.message
    assert "71" in p.message and "17" in p.message


def test_overall_figures_must_agree_with_the_annexes(tmp_path):
    """总体情况 figures repeated in an annex: 电子证照总量 vs 附件3, 网上事项总数 − 未计入 vs 附件1 合计."""
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["总体情况"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    ws.cell(rows["电子证照总量"], 2).value = 41328
    ws.cell(rows["未计入附件事项数"], 2).value = 0
    path = tmp_path / "june.xlsx"
    wb.save(path)
    agree = [p for p in compute(read_grids(path)).problems if p.rule == "check.agreement_mismatch"]
    assert len(agree) == 2
    licences = next(p for p in agree if "电子证照总量" in p.message)
    assert licences.where == f"总体情况!B{rows['电子证照总量']}"
    assert "附件3" in licences.message and "已签章数量" in licences.message and "41327" in licences.message
    items = next(p for p in agree if "网上政务服务事项总数" in p.message)
    assert "附件1" in items.message and "1645" in items.message and "1644" in items.message
