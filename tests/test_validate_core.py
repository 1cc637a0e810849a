"""core/validate and core/recompute on small sheets made cell by cell: each check at its boundary (equal, one
over), the printed-ratio tolerance at exactly 0.005 pp, the messages' figures, totals and subtotals. Expected
values are written by hand."""
from __future__ import annotations

from bulletin.core.intake import Grid, read_annex
from bulletin.core.recompute import recompute
from bulletin.core.validate import _fmt, validate
from bulletin.engine import context
from bulletin.spec import annex

CTX = context()
HEAD = {1: ["序号", "单位", "事项总数", "不见面审批事项占比", "即办件事项数", "即办件事项占比"],
        2: ["序号", "单位", "事项总数", "法定时限（工作日）", "承诺时限（工作日）", "压缩比例", "即办件事项数",
            "一日办结事项数", "非一日办结事项数"],
        7: ["序号", "单位名称", "排查事项总数", "已完成事项", "未完成事项", "完成率", "备注"]}


def check(number: int, rows: list[list], total: list | None = None, **tolerances):
    """Problems of an annex sheet: a title, the header, an optional 合计 row on top, department rows."""
    head = HEAD[number]
    body = [["合计", None, *total]] if total is not None else []
    body += [[str(i + 1), *r] for i, r in enumerate(rows)]
    grid = Grid(annex(number).sheet, [["标题"], head, *body])
    data = read_annex(annex(number), grid, CTX)
    result = recompute(data)
    problems = data.problems + validate(data, result, CTX.messages, **tolerances)
    assert {p.sheet for p in problems} <= {annex(number).sheet}  # every problem names its sheet
    assert result.spec is annex(number)
    return [(p.rule, p.cell, p.department, p.severity) for p in problems], problems, result


def test_a_part_equal_to_its_whole_is_fine_one_more_is_not():
    found, _, _ = check(1, [["交通局", 89, 100, 89, 100]])
    assert found == []
    found, problems, _ = check(1, [["交通局", 89, 100, 90, None]])
    assert found == [("check.part_exceeds_whole", "E3", "交通局", "error")]
    assert problems[0].message == "“即办件事项数”（90）大于“事项总数”（89）。"


def test_parts_must_add_up_to_the_whole_exactly():
    # 事项总数, 法定, 承诺, 压缩比例, 即办, 一日办结, 非一日办结
    found, _, _ = check(2, [["残联", 7, 100, 50, None, 2, 3, 2]])
    assert found == []
    found, problems, _ = check(2, [["残联", 7, 100, 50, None, 2, 3, 3]])
    assert found == [("check.parts_sum_mismatch", "C3", "残联", "error")]
    assert problems[0].message == "“即办件事项数”＋“一日办结事项数”＋“非一日办结事项数”之和为8，与“事项总数”（7）不相等。"
    found, _, _ = check(2, [["残联", 7, 100, 50, None, 2, 3, 1]])
    assert [f[0] for f in found] == ["check.parts_sum_mismatch"]
    found, _, _ = check(2, [["残联", 7, 100, 50, None, 2, None, 2]])  # a blank part: reported as missing only
    assert "check.parts_sum_mismatch" not in [f[0] for f in found]


def test_a_printed_ratio_within_half_a_hundredth_is_accepted():
    # 1 of 32 is 3.125 %: 3.13 (half up) and 3.12 (the other side of the tie) are both 0.005 pp off
    for printed in (3.13, 3.12, "3.125%"):
        found, _, _ = check(1, [["交通局", 32, 100, 1, printed]])
        assert found == [], printed
    found, problems, _ = check(1, [["交通局", 32, 100, 1, 3.11]])
    assert found == [("printed.ratio_mismatch", "F3", "交通局", "warning")]
    assert problems[0].message == ("填报的“即办件事项占比”为3.11%，按“即办件事项数 / 事项总数”重新计算应为3.13%，"
                                   "已按重新计算值输出。")
    found, _, _ = check(1, [["交通局", 32, 100, 1, 3.14]])
    assert [f[0] for f in found] == ["printed.ratio_mismatch"]


def test_the_ratio_tolerance_is_a_setting():
    found, _, _ = check(1, [["交通局", 32, 100, 1, 3.11]], ratio_tolerance_pp=0.02)
    assert found == []
    found, _, _ = check(1, [["交通局", 32, 100, 1, 3.13]], ratio_tolerance_pp=0.004)
    assert [f[0] for f in found] == ["printed.ratio_mismatch"]


def test_a_printed_computed_count_must_equal_the_recomputed_one():
    found, _, _ = check(7, [["残联", 10, 4, 6, 40, None]])
    assert found == []
    found, problems, _ = check(7, [["残联", 10, 4, 7, 40, None]])
    assert found == [("printed.value_mismatch", "E3", "残联", "warning")]
    assert problems[0].message == "填报的“未完成事项”为7，按“(排查事项总数 − 已完成事项)”重新计算应为6，已按重新计算值输出。"
    found, _, _ = check(7, [["残联", 10, 4, 7, 40, None]], total_tolerance=1)  # 1 off is within a tolerance of 1
    assert found == []
    found, _, _ = check(7, [["残联", 10, 4, 8, 40, None]], total_tolerance=1)
    assert [f[0] for f in found] == ["printed.value_mismatch"]


def test_a_printed_total_must_be_the_sum_of_its_rows():
    rows = [["交通局", 89, 100, 89, 100], ["住建局", 86, 50, 43, 50]]
    found, _, result = check(1, rows, total=[175, 75.43, 132, 75.43])
    assert found == []
    assert result.total["事项总数"] == 175 and result.total["即办件事项数"] == 132
    assert result.total["即办件事项占比"] == 75.43  # 132/175 = 75.428…
    assert result.total["不见面审批事项占比"] == 75.43  # (89·100 + 86·50) / 175, weighted by 事项总数
    found, problems, _ = check(1, rows, total=[176, 75.43, 132, 75.43])
    assert found == [("printed.total_mismatch", "C3", "", "warning")]
    assert problems[0].message == "合计行填报的“事项总数”为176，各行相加应为175，已按重新计算值输出。"
    found, problems, _ = check(1, rows, total=[175, 75.44, 132, 75.43])  # a weighted ratio 0.01 pp off
    assert found == [("printed.total_mismatch", "D3", "", "warning")]
    assert problems[0].message == "合计行填报的“不见面审批事项占比”为75.44%，各行相加应为75.43%，已按重新计算值输出。"
    found, _, _ = check(1, rows, total=[175, 75.43, 132, 75.42])
    assert found == [("printed.ratio_mismatch", "F3", "", "warning")]


def test_a_total_is_held_to_its_column_types_tolerance():
    rows = [["交通局", 89, 100, 89, 100], ["住建局", 86, 50, 43, 50]]  # the weighted 不见面审批事项占比 is 75.43
    for printed in (75.434, 75.435, "75.435000001"):  # a ratio: within 0.005 pp (and the 1e-9 slack)
        found, _, _ = check(1, rows, total=[175, printed, 132, 75.43])
        assert found == [], printed
    found, _, _ = check(1, rows, total=[175, "75.435000002", 132, 75.43])
    assert found == [("printed.total_mismatch", "D3", "", "warning")]
    found, _, _ = check(1, rows, total=[176, 75.43, 132, 75.43], total_tolerance=2)  # a count: its own tolerance
    assert found == []
    found, _, _ = check(1, rows, total=[178, 75.43, 132, 75.43], total_tolerance=2)
    assert [f[0] for f in found] == ["printed.total_mismatch"]


def test_a_total_column_without_a_figure_does_not_end_the_total_row():
    # no row gives 不见面审批事项占比, so the total has none to compare; 即办件事项数 after it is still checked
    found, _, _ = check(1, [["交通局", 89, None, 89, 100]], total=[89, 50, 90, 100])
    assert ("printed.total_mismatch", "E3", "", "warning") in found


def test_a_department_twice_is_reported_at_its_second_row():
    found, problems, _ = check(1, [["交通局", 89, 100, 89, 100], ["住建局", 86, 100, 86, 100],
                                   ["交通运输局", 1, 100, 1, 100]])
    assert found == [("department.duplicate", "B5", "交通局", "error")]
    assert problems[0].message == "单位“交通运输局”在本表中重复出现（首次出现在第3行）。"


def test_a_blank_name_is_not_a_duplicate():
    found, _, _ = check(1, [[None, 1, 100, 1, 100], [None, 2, 100, 2, 100], ["交通局", 1, 100, 1, 100],
                            ["交通运输局", 1, 100, 1, 100]])
    assert "department.duplicate" not in [f[0] for f in found if f[1] in ("B3", "B4")]
    assert ("department.duplicate", "B6", "交通局", "error") in found  # the rows after the blank ones still count


def test_a_blank_printed_cell_does_not_end_the_row_or_the_total():
    found, _, _ = check(1, [["交通局", 32, None, 1, 3.11]])
    assert ("printed.ratio_mismatch", "F3", "交通局", "warning") in found
    # 法定时限 0: no 压缩比例 to compare; the total's 即办件事项数 after it is still checked
    found, _, _ = check(2, [["残联", 7, 0, 0, None, 2, 3, 2]], total=[7, 0, 0, None, 3, 3, 2])
    assert ("printed.total_mismatch", "G3", "", "warning") in found


def test_the_tolerance_is_exceeded_only_beyond_it():
    # 3.125 − 3.119999999 = 0.005000001: the 1e-9 slack for binary floats, and not a hair more
    found, _, _ = check(1, [["交通局", 32, 100, 1, "3.119999999"]])
    assert found == []
    found, _, _ = check(1, [["交通局", 32, 100, 1, "3.119999998"]])
    assert [f[0] for f in found] == ["printed.ratio_mismatch"]


def test_figures_in_messages():
    assert _fmt("ratio", 62.7) == "62.70%" and _fmt("count", 7.0) == "7" and _fmt("number", 2.5) == "2.5"
    assert _fmt("number", 12.25) == "12.25" and _fmt("count", 0) == "0" and _fmt("number", -3.0) == "-3"
    assert _fmt("count", 1234567.0) == "1234567" and _fmt("count", 90402) == "90402"  # not 1.23457e+06


def test_a_zero_denominator_is_no_ratio_and_no_mismatch():
    found, _, result = check(1, [["交通局", 0, 100, 0, 0]])
    assert found == []
    assert result.records[0]["即办件事项占比"] is None


def test_reference_rows_and_subtotals_of_the_june_sheets():
    """The June sample's 附件5 (the city's reference row) and 附件8 (two sections, each with its 小计), edited in
    memory: a wrong city ratio is reported with no department, a wrong 小计 under its section's label."""
    import copy

    from bulletin.adapters.xlsx_files import read_grids

    from conftest import SAMPLE

    grids = read_grids(SAMPLE)
    a5, a8 = copy.deepcopy(grids["附件5"]), copy.deepcopy(grids["附件8"])
    a5.rows[4][4] = 0.5  # 安阳市 主项覆盖率 printed 50% (2018/4234 = 47.66%), E5
    a8.rows[24][2] = 104  # 派驻部门小计 入驻总人数 (105), C25
    a8.rows[33][3] = 4  # 公共服务单位小计 请假人数 (3), D34
    found = {}
    for number, grid in ((5, a5), (8, a8)):
        data = read_annex(annex(number), grid, CTX)
        for p in validate(data, recompute(data), CTX.messages):
            found[(p.sheet, p.cell)] = (p.rule, p.department, p.message)
    assert found[("附件5", "E5")] == ("printed.ratio_mismatch", "", "填报的“主项覆盖率”为50.00%，按“主项覆盖数 / 事项主项数”"
                                      "重新计算应为47.66%，已按重新计算值输出。")
    assert found[("附件8", "C25")] == ("printed.total_mismatch", "", "派驻部门小计行填报的“入驻总人数”为104，各行相加应为105，"
                                       "已按重新计算值输出。")
    assert found[("附件8", "D34")] == ("printed.total_mismatch", "", "公共服务单位小计行填报的“请假人数”为4，各行相加应为3，"
                                       "已按重新计算值输出。")
    assert {k for k, v in found.items() if v[0] == "printed.total_mismatch" and k[0] == "附件8"} == {
        ("附件8", "C25"), ("附件8", "D34")}
