"""The printed-table model on the June 2023 sample, checked against the real bulletin's tables
(examples/2023-06/reference/annex*.tsv, read as expected data) and against the June text's figures."""
from __future__ import annotations

import pytest

from bulletin import actions
from bulletin.core.tables import (HeaderCell, Merge, RowKind, Status, build_table, build_tables, header_layout)
from conftest import REFERENCE, ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
DISTRICT = "殷都区"


def printed(n: int, header_rows: int = 1) -> list[list[str]]:
    """annex<n>.tsv's body rows, cells as extracted (trailing empty cells kept)."""
    lines = (REFERENCE / f"annex{n}.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[header_rows:] if line.strip()]


@pytest.fixture(scope="module")
def june():
    return actions.check(SAMPLE).data


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    history = tmp_path_factory.mktemp("tables") / "history.sqlite"
    actions.import_month(MAY, None, history)
    return actions.narrate(SAMPLE, None, history)


def table(data, n: int):
    return build_table(data.result(n), DISTRICT)


# -- header -------------------------------------------------------------------------------------------

def test_header_layout_merges_group_labels_across_and_leaves_down():
    paths = [("序号",), ("子项数", "检查", "个数"), ("子项数", "检查", "覆盖数"), ("子项数", "处罚", "个数"), ("比例",)]
    assert header_layout(paths, 3) == (
        HeaderCell(0, 0, "序号", rows=3), HeaderCell(0, 1, "子项数", cols=3), HeaderCell(0, 4, "比例", rows=3),
        HeaderCell(1, 1, "检查", cols=2), HeaderCell(1, 3, "处罚"),
        HeaderCell(2, 1, "个数"), HeaderCell(2, 2, "覆盖数"), HeaderCell(2, 3, "个数"))


def test_annex5_header_is_three_rows_merged_as_printed(june):
    t = table(june, 5)
    lines = (REFERENCE / "annex5.tsv").read_text(encoding="utf-8").splitlines()[:3]
    heads = [line.split("\t") for line in lines]
    assert t.header_rows == 3
    top = [h for h in t.header if h.row == 0]
    assert [(h.text, h.rows, h.cols) for h in top] == [
        ("序号", 3, 1), ("区划/部门", 3, 1), ("事项主项数", 3, 1), ("主项覆盖数", 3, 1), ("主项覆盖率", 3, 1),
        ("子项数", 1, 12), ("子项覆盖率", 3, 1)]
    for level in range(3):  # the extraction shifts a cell or two, the texts stand in order
        assert [h.text for h in t.header if h.row == level] == [x for x in heads[level] if x], level
    groups = [h for h in t.header if h.row == 1]
    assert [(h.text, h.col, h.cols) for h in groups] == [
        ("行政检查", 5, 3), ("行政处罚", 8, 3), ("行政强制", 11, 3), ("其他", 14, 3)]
    assert all(heads[1][h.col] == h.text for h in groups)
    covered = sorted((r, c) for h in t.header for r in range(h.row, h.last_row + 1)
                     for c in range(h.col, h.last_col + 1))
    assert covered == [(r, c) for r in range(3) for c in range(len(t.columns))]  # every cell once


def test_one_row_headers_are_the_column_names(june):
    t = table(june, 2)
    assert [(h.row, h.rows, h.cols) for h in t.header] == [(0, 1, 1)] * len(t.columns)
    assert [h.text for h in t.header][:3] == ["序号", "单位", "事项总数"]


# -- rows in printed order ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2])
def test_annex_1_and_2_print_total_first_then_departments_in_printed_order(june, n):
    t = table(june, n)
    rows = printed(n)
    assert [r.kind for r in t.rows] == [RowKind.TOTAL] + [RowKind.DEPARTMENT] * (len(rows) - 1)
    assert t.rows[0].label == "合计" and rows[0][0] == "合计"
    assert [(str(r.number), r.label) for r in t.rows[1:]] == [(p[0], p[1]) for p in rows[1:]]
    for row, p in zip(t.rows, rows):
        expected = p[2:]
        if (n, row.label) == (1, "殷都区公安分局"):  # printed 44.44% = 64/144 although it says 143 items
            assert expected[-1] == "44.44%" and row.cells[-1] == "44.76%"
            expected = expected[:-1] + ["44.76%"]
        assert list(row.cells[2:]) == expected, row.label


def test_annex1_total_row_carries_numbers_for_workbooks_and_strings_for_word(june):
    total = table(june, 1).rows[0]
    assert total.bold and total.values["事项总数"] == 1644 and total.values["即办件事项占比"] == 62.71
    assert total.cells == ("", "合计", "1644", "100.00%", "1031", "62.71%")


@pytest.mark.parametrize("n", [6, 7])
def test_annex_6_and_7_print_their_total_last(june, n):
    t = table(june, n)
    rows = printed(n)
    assert t.rows[-1].kind is RowKind.TOTAL and t.rows[-1].label == rows[-1][0]  # 总计 / 合计
    assert [r.label for r in t.rows[:-1]] == [p[1] for p in rows[:-1]]


def test_annex8_sections_and_subtotals(june):
    t = table(june, 8)
    rows = printed(8)
    kinds = {"小计": RowKind.SUBTOTAL, "合计": RowKind.TOTAL}
    expected = [(RowKind.SECTION, p[0]) if not p[1] and p[0] else (kinds.get(p[1], RowKind.DEPARTMENT), p[1])
                for p in rows]
    assert [(r.kind, r.label) for r in t.rows] == expected
    section = t.of_kind(RowKind.SECTION)[0]
    assert section.label == "公共服务单位" and section.cells[0] == "公共服务单位" and not any(section.cells[1:])
    first, second = t.of_kind(RowKind.SUBTOTAL)
    assert (first.section, second.section) == ("派驻部门", "公共服务单位")
    assert (first.standalone_label, second.standalone_label) == ("派驻部门小计", "公共服务单位小计")
    assert first.cells[2:4] == ("105", "49") and second.cells[2:4] == ("13", "3")
    assert t.rows[-1].cells[-1] == "713.8" and t.rows[-1].bold
    numbers = [r.number for r in t.of_kind(RowKind.DEPARTMENT)]
    assert numbers == list(range(1, 30))  # numbering runs on across the section line
    public = [r for r in t.of_kind(RowKind.DEPARTMENT) if r.section == "公共服务单位"]
    assert [r.label for r in public] == [p[1] for p in rows[24:31]]


def test_annex3_names_are_merged_down_as_printed(june):
    t = table(june, 3)
    rows = printed(3)
    departments = t.of_kind(RowKind.DEPARTMENT)
    assert t.rows[0].kind is RowKind.TOTAL and t.rows[0].label == "殷都区"
    # the printed name column: a name on a group's first row, blank below it
    assert [(str(r.number), *r.cells[1:]) for r in departments] == [tuple(p) for p in rows[1:]]
    for r, below in zip(departments, [*departments[1:], None]):
        continues_below = below is not None and below.merge is Merge.CONTINUE
        assert r.merge is (Merge.CONTINUE if not r.cells[1] else Merge.RESTART if continues_below else Merge.NONE)
    assert [r.merge for r in departments[:7]] == [Merge.RESTART] + [Merge.CONTINUE] * 5 + [Merge.NONE]
    assert departments[1].label == "自然资源局" and departments[1].cells[1] == ""  # the label stays on the row


def test_annex5_prints_the_city_reference_row_before_the_district(june):
    t = table(june, 5)
    rows = printed(5, header_rows=3)
    city, district = t.rows[:2]
    assert (city.kind, city.label, district.kind, district.label) == (
        RowKind.REFERENCE, "安阳市", RowKind.TOTAL, "殷都区")
    assert list(city.cells[1:]) == rows[0][1:] and list(district.cells[1:]) == rows[1][1:]
    assert [r.label for r in t.rows[2:]] == [p[1] for p in rows[2:]]


# -- statuses and changes ---------------------------------------------------------------------------------

def test_statuses_and_last_month_travel_with_the_rows(analysed):
    tables = build_tables(analysed.data, DISTRICT, statuses=analysed.analysis.assessment.statuses,
                          comparison=analysed.analysis.comparison.records)
    a2 = tables["附件2"]
    police = next(r for r in a2.rows if r.label == "公安分局")
    # the June text: 公安分局事项压缩比由5月份63.45%降至16.65%，导致全区压缩比整体降低1.92%
    assert (police.values["压缩比例"], police.previous["压缩比例"], police.change["压缩比例"]) == (16.65, 63.45, -46.8)
    assert police.department == "公安分局" and police.status is Status.RED and police.rules
    total = a2.rows[0]
    assert (total.values["压缩比例"], total.change["压缩比例"]) == (92.25, -1.92)
    # README: 附件2 税务局、公安分局 red, 医保局、房管分局 yellow
    marked = {r.label: r.status for r in a2.of_kind(RowKind.DEPARTMENT) if r.status is not Status.GREEN}
    assert marked == {"税务局": Status.RED, "公安分局": Status.RED, "医保局": Status.YELLOW,
                      "房管分局": Status.YELLOW}
    assert Status.worst_of(marked.values()) is Status.RED and Status.worst_of([]) is None
    assert Status.RED == "红" and Status.of("黄") is Status.YELLOW and Status.of("") is None


def test_without_statuses_or_history_the_rows_carry_none(june):
    for t in build_tables(june, DISTRICT).values():
        assert all(r.status is None and not r.previous and not r.rules for r in t.rows), t.spec.sheet
