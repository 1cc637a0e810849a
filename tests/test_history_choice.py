"""Which month a month is compared against: the one right before it, whatever else the history holds.

Three distinct months in the history, a January against the December before it, and a gap month. The
expected changes are the printed bulletin's (June 2023's 即办件事项占比 62.71% against May's 65.22%: −2.51;
压缩比例 92.25% against 94.17%: −1.92), not the engine's; the other months are the June sample itself (change
0) or made different by hand, so comparing against any month but the last one gives another figure.
"""
from __future__ import annotations

import copy
from pathlib import Path

from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import analyse, compute, _consecutive_before

from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
_GRIDS = {}


def grids_of(path: Path, month: str) -> dict:
    """The workbook's sheets relabelled as `month` (月份 and 统计截止日期 of 总体情况), so the month has no error."""
    if path not in _GRIDS:
        _GRIDS[path] = read_grids(path)
    grids = copy.deepcopy(_GRIDS[path])
    rows = grids["总体情况"].rows
    for row in rows:
        if row[0] == "月份":
            row[1] = month
        elif row[0] == "统计截止日期":
            row[1] = f"{month}-28"
    return grids


def month_of(path: Path, month: str, *, other: bool = False):
    """The workbook as `month`; `other`: 教育局 has mounted 3 of its 6 resource catalogues (附件4), not 6, so
    the district's 73 mounted are 70 (总体情况 says so too) and the month differs from the June sample."""
    grids = grids_of(path, month)
    if other:
        row = next(r for r in grids["附件4"].rows if "教育局" in str(r[1]))
        row[3] = 3
        row = next(r for r in grids["总体情况"].rows if r[0] == "挂载资源目录数")
        row[1] = 70
    return compute(grids, month=month)


def instant_change(analysis) -> float:
    return analysis.comparison.total_change("附件1", "即办件事项占比")["change"]


def test_three_distinct_months_compare_with_the_last_one():
    june = month_of(SAMPLE, "2023-06")
    past = {"2023-03": month_of(SAMPLE, "2023-03"),  # June's own figures: a change of 0.00
            "2023-04": month_of(SAMPLE, "2023-04", other=True),
            "2023-05": month_of(MAY, "2023-05")}
    a = analyse(june, past)
    assert a.previous.month == "2023-05"
    assert a.comparison.previous_month == "2023-05"
    assert instant_change(a) == -2.51
    assert a.comparison.total_change("附件2", "压缩比例")["change"] == -1.92
    assert a.facts.as_dict()  # the facts are built on that comparison
    assert [m.month for m in _consecutive_before("2023-06", past)] == ["2023-03", "2023-04", "2023-05"]


def test_january_compares_with_december_of_the_year_before():
    january = month_of(SAMPLE, "2024-01")
    past = {"2023-10": month_of(SAMPLE, "2023-10"), "2023-11": month_of(SAMPLE, "2023-11", other=True),
            "2023-12": month_of(MAY, "2023-12"), "2024-02": month_of(SAMPLE, "2024-02", other=True)}
    a = analyse(january, past)
    assert a.previous.month == "2023-12" and a.comparison.previous_month == "2023-12"
    assert instant_change(a) == -2.51
    assert [m.month for m in _consecutive_before("2024-01", past)] == ["2023-10", "2023-11", "2023-12"]


def test_a_gap_month_means_no_comparison():
    june = month_of(SAMPLE, "2023-06")
    past = {"2023-03": month_of(MAY, "2023-03"), "2023-04": month_of(MAY, "2023-04")}  # no May
    a = analyse(june, past)
    assert a.previous is None and a.comparison is None
    assert _consecutive_before("2023-06", past) == []
