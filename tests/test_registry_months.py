"""The department registry lives across months: a unit added in July (a new row in 部门) is stored with the
closed month, and August's template prefills 部门 and the annex rows from it; department.unknown says how
to add a unit and names the nearest existing names."""
from __future__ import annotations

import subprocess
import sys

import openpyxl

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_registry
from bulletin.engine import compute

from conftest import SAMPLE, find_cell


def bulletin(*args):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True)


def _july_with_renfang(tmp_path, *, registry_rows=None):
    """The June sample as July, 财政局's rows of 附件1 and 附件2 reported by a new unit 人防办 instead."""
    wb = openpyxl.load_workbook(SAMPLE)
    for sheet, label in (("附件1", "殷都区财政局"), ("附件2", "财政局")):
        ws = wb[sheet]
        cell = find_cell(ws, label, "单位")
        ws[cell] = "人防办"
    scalars = wb["总体情况"]
    for row in scalars.iter_rows(min_row=2):
        if row[0].value == "统计截止日期":
            row[1].value = "2023-07-31"  # July's own cut-off (June's would be outside the month)
        if row[0].value == "月份":
            row[1].value = "2023-07"
    if registry_rows is not None:
        ws = wb["部门"]
        header = [c.value for c in ws[1] if c.value]
        for r, row in enumerate(registry_rows, start=2):
            for c, name in enumerate(header, start=1):
                ws.cell(r, c).value = row.get(name) or None
    path = tmp_path / "2023-07.xlsx"
    wb.save(path)
    return path


def test_unknown_unit_says_how_to_add_it_and_the_nearest_names(tmp_path):
    data = compute(read_grids(_july_with_renfang(tmp_path)))
    unknown = [p for p in data.problems if p.rule == "department.unknown"]
    assert [p.where for p in unknown] == ["附件1!B34", "附件2!B9"]
    message = unknown[0].message
    assert "人防办" in message and "新增一行" in message and "全称" in message and "本表为附件1" in message
    assert "别名" in message and "相近" not in message  # nothing in the registry is near 人防办
    near = compute(read_grids(SAMPLE)).registry.nearest("殷都区档案馆")
    assert near[0] == "档案局"
    wb = openpyxl.load_workbook(SAMPLE)
    wb["附件1"][find_cell(wb["附件1"], "殷都区档案局", "单位")] = "殷都区档案馆"
    wb.save(tmp_path / "typo.xlsx")
    typo = next(p for p in compute(read_grids(tmp_path / "typo.xlsx")).problems if p.rule == "department.unknown")
    assert "名录中相近的名称：档案局" in typo.message


def test_a_unit_added_in_july_survives_into_augusts_template(tmp_path):
    rows = load_registry().rows() + [{"部门": "人防办", "简称": "人防办", "全称": "殷都区人民防空办公室", "别名": "",
                                      "类别": "区直部门", "附件": "1,2"}]
    july = _july_with_renfang(tmp_path, registry_rows=rows)
    hist = tmp_path / "history.sqlite"
    check = bulletin("check", july, "--month", "2023-07")
    assert check.returncode == 0, check.stdout
    closed = bulletin("close-month", july, "--month", "2023-07", "--history", hist)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    with History(hist) as h:
        month, stored = h.latest_registry(before="2023-08")
    assert month == "2023-07" and any(r["部门"] == "人防办" for r in stored)

    august = tmp_path / "2023-08.xlsx"
    made = bulletin("template", "--month", "2023-08", "-o", august, "--history", hist)
    assert made.returncode == 0, made.stdout + made.stderr
    wb = openpyxl.load_workbook(august)
    registry = [[c.value for c in r] for r in wb["部门"].iter_rows(min_row=2) if r[0].value]
    assert any(r[0] == "人防办" and "殷都区人民防空办公室" in r for r in registry)
    assert len(registry) == len(rows)
    for sheet in ("附件1", "附件2"):
        names = [r[1].value for r in wb[sheet].iter_rows(min_row=3)]
        assert "人防办" in names, sheet
    # July's rows, in July's order (annex 3 keeps its certificate types)
    kinds = [r[2].value for r in wb["附件3"].iter_rows(min_row=3) if r[2].value]
    assert kinds[:2] == ["建设项目用地预审与选址意见书", "中华人民共和国建设工程规划许可证"] and len(kinds) == 63
    # the August workbook reads its registry from 部门: 人防办 is known
    grids = read_grids(august)
    assert compute(grids).registry.resolve("殷都区人防办") == "人防办"


def test_without_a_history_the_template_uses_departments_csv(tmp_path):
    out = tmp_path / "t.xlsx"
    assert bulletin("template", "--month", "2023-07", "-o", out).returncode == 0
    wb = openpyxl.load_workbook(out)
    assert not any(r[0].value for r in wb["部门"].iter_rows(min_row=2))
    assert bulletin("template", "--month", "2023-07", "-o", tmp_path / "u.xlsx", "--history",
                    tmp_path / "none.sqlite").returncode == 2
