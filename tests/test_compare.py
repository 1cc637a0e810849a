"""Month-over-month maths on real workbooks: pp vs %, zero denominators, new and missing departments,
drivers of a district ratio."""
from __future__ import annotations

import pytest

import frames

from bulletin.adapters.xlsx_files import read_grids
from bulletin.core.compare import change_of, compare
from bulletin.engine import compute

from conftest import ROOT, SAMPLE, edit_sample

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"


@pytest.fixture(scope="module")
def june_vs_may():
    return compare(compute(read_grids(SAMPLE)), compute(read_grids(MAY)))


def test_ratio_changes_in_points_from_the_printed_figures():
    ch = change_of("ratio", 62.7129, 65.2174)  # printed 62.71% and 65.22%
    assert ch["change"] == -2.51 and ch["direction"] == "下降" and ch["change_pct"] is None


def test_count_changes_absolute_and_percent():
    ch = change_of("count", 41327, 40890)
    assert ch["change"] == 437 and ch["direction"] == "上升" and ch["change_pct"] == pytest.approx(1.07)


def test_zero_previous_has_no_percent_and_is_a_rise_from_zero():
    ch = change_of("count", 5, 0)
    assert ch["change"] == 5 and ch["change_pct"] is None and ch["from_zero"] and not ch["to_zero"]
    down = change_of("count", 0, 4)
    assert down["to_zero"] and down["change_pct"] == -100


def test_unchanged_and_missing_values():
    assert change_of("ratio", 62.39, 62.39)["direction"] == "无变化"
    assert change_of("ratio", None, 62.39)["direction"] == "无数据"


def test_district_changes_of_the_june_text(june_vs_may):
    c = june_vs_may
    assert c.total_change("附件1", "即办件事项占比")["change"] == -2.51
    assert c.total_change("附件2", "压缩比例")["change"] == -1.92
    assert c.total_change("附件3", "证照总量")["change"] == 437
    assert c.total_change("附件4", "资源挂载率")["direction"] == "无变化"
    assert c.scalars["好差评主动评价量"]["change"] == 36926
    police = c.department_change("附件2", "公安分局", "压缩比例")
    assert (police["previous"], police["current"]) == (63.45, 16.65)


def test_drivers_add_up_to_the_district_move_and_name_the_police(june_vs_may):
    drivers = june_vs_may.drivers["附件2"]["压缩比例"]
    assert drivers[0].department == "公安分局"
    assert sum(d.effect for d in drivers) == pytest.approx(-1.92, abs=0.02)
    assert abs(drivers[0].effect) > 5 * abs(drivers[1].effect)


def test_zero_denominator_gives_no_ratio_and_no_crash(tmp_path):
    path, _ = edit_sample(tmp_path, [("附件7", "残联", "排查事项总数", 0)])
    june = compute(read_grids(path))
    row = next(r for r in june.result(7).records if r["部门"] == "残联")
    assert row["完成率"] is None
    ch = compare(june, compute(read_grids(MAY))).department_change("附件7", "残联", "完成率")
    assert ch["direction"] == "无数据" and ch["change"] is None


def test_new_and_missing_departments_are_reported_not_zero_filled(tmp_path):
    # 统计局's row of 附件6 becomes 扶贫办 (a department that reports only in 附件4)
    path, _ = edit_sample(tmp_path, [("附件6", "统计局", "单位名称", "扶贫办")])
    c = compare(compute(read_grids(path)), compute(read_grids(MAY)))
    assert c.new_departments["附件6"] == ["扶贫开发办公室"]
    assert c.missing_departments["附件6"] == ["统计局"]
    gone = frames.changes(c)[(frames.changes(c)["department"] == "统计局") & (frames.changes(c)["sheet"] == "附件6")]
    assert set(gone["direction"]) == {"缺报"} and gone["current"].isna().all()
    new = frames.changes(c)[(frames.changes(c)["department"] == "扶贫开发办公室") & (frames.changes(c)["sheet"] == "附件6")]
    assert set(new["direction"]) == {"新增"} and new["previous"].isna().all()


def test_rises_from_zero_and_falls_to_zero_are_facts(tmp_path):
    from bulletin.engine import analyse

    # 人社局 completed nothing of annex 7 in May; in this June it completes 2 (a rise from zero), and
    # 自然资源局's 4 completed items fall to 0
    path, _ = edit_sample(tmp_path, [("附件7", "人社局", "已完成事项", 2), ("附件7", "自然资源局", "已完成事项", 0)])
    facts = analyse(compute(read_grids(path)), {"2023-05": compute(read_grids(MAY))}).facts
    rose = {(f["sheet"], f["column"], f["name"]) for f in facts.from_zero}
    fell = {(f["sheet"], f["column"], f["name"]) for f in facts.to_zero}
    assert ("附件7", "完成率", "人社局") in rose and ("附件7", "已完成事项", "人社局") in rose
    assert ("附件7", "完成率", "自然资源局") in fell
