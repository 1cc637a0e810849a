"""The console's edits, in the action layer: 状态 of a department, a paragraph of 问题文本, the annex tables
read back — over every port (openpyxl over a file, xlwings over the test engine), like the contract suite."""
from __future__ import annotations

import pytest

from bulletin.actions import edits
from bulletin.actions import month as actions
from bulletin.errors import UserError
from test_ports_contract import june_port  # noqa: F401  (the fixture: the master workbook with June pasted)


def _row(tables, sheet, department):
    table = next(t for t in tables if t["sheet"] == sheet)
    names = [c["name"] for c in table["columns"]]
    row = next(r for r in table["rows"] if r["department"] == department)
    return dict(zip(names, row["values"])), row


def test_tables_show_status_previous_and_change_as_the_book_holds_them(june_port):
    actions.compare_book(june_port)
    tables = edits.annex_tables(june_port)
    assert [t["sheet"] for t in tables] == [f"附件{n}" for n in range(1, 9)]
    police, row = _row(tables, "附件2", "公安分局")
    assert row["status"] == "红" and police["触发规则"] == "时限压缩比例较低、压缩比例大幅下降"
    assert police["压缩比例"] == pytest.approx(0.1665) and police["上月压缩比例"] == pytest.approx(0.6345)
    assert police["压缩比例变化（百分点）"] == pytest.approx(-46.8)
    kinds = {c["name"]: (c["what"], c["type"]) for c in next(t for t in tables if t["sheet"] == "附件2")["columns"]}
    assert kinds["压缩比例"] == ("computed", "ratio") and kinds["上月压缩比例"] == ("previous", "ratio")
    assert kinds["压缩比例变化（百分点）"] == ("change", "points") and kinds["事项总数"] == ("input", "count")
    assert _row(tables, "附件2", "税务局")[1]["status"] == "红"
    assert _row(tables, "附件2", "全区")[1]["kind"] == "total"


def test_a_status_set_by_staff_is_written_into_the_status_cell_only(june_port):
    actions.recalculate_book(june_port)
    before = june_port.values("附件2")
    outcome = edits.set_status(june_port, "附件2", "医保局", "红")
    assert "医保局" in outcome.notes[0]
    after = june_port.values("附件2")
    status = after[1].index("状态")
    changed = [(r, c) for r, (old, new) in enumerate(zip(before, after)) for c, (a, b) in enumerate(zip(old, new))
               if a != b]
    row = next(i for i, r in enumerate(after) if r[1] == "医保局")
    assert changed == [(row, status)] and after[row][status] == "红"
    assert _row(edits.annex_tables(june_port), "附件2", "医保局")[1]["status"] == "红"
    edits.set_status(june_port, "附件2", "医保局", "")
    assert june_port.values("附件2")[row][status] is None


def test_annex3_status_goes_into_every_row_of_the_department(june_port):
    actions.recalculate_book(june_port)
    table = next(t for t in edits.annex_tables(june_port) if t["sheet"] == "附件3")
    dept = next(r["department"] for r in table["rows"]
                if sum(x["department"] == r["department"] for x in table["rows"]) > 1)
    edits.set_status(june_port, "附件3", dept, "黄")
    table = next(t for t in edits.annex_tables(june_port) if t["sheet"] == "附件3")
    assert {r["status"] for r in table["rows"] if r["department"] == dept} == {"黄"}


@pytest.mark.parametrize("args, message", [
    (("附件2", "医保局", "紫"), "状态只能是 红、黄、绿"),
    (("附件2", "不存在的局", "红"), "“附件2”中没有“不存在的局”"),
    (("总体情况", "医保局", "红"), "不是附件表"),
])
def test_bad_status_edits_are_chinese_messages(june_port, args, message):
    actions.recalculate_book(june_port)
    with pytest.raises(UserError, match=message):
        edits.set_status(june_port, *args)


def test_a_paragraph_edited_in_the_console_is_kept_by_the_next_narrate(june_port):
    actions.narrate_book(june_port)
    paragraphs = edits.text_paragraphs(june_port)
    first = next(p for p in paragraphs if p["id"] == "总体情况.即办件与时限压缩")
    assert "较5月份降低2.51%" in first["text"] and not first["edited"]
    edits.write_paragraph(june_port, first["id"], "工作人员在网页中改写的段落。")
    actions.narrate_book(june_port)
    again = next(p for p in edits.text_paragraphs(june_port) if p["id"] == first["id"])
    assert again["text"] == "工作人员在网页中改写的段落。" and again["edited"]
    assert "62.71%" in again["generated_now"] and "保留" in again["note"]
    row = next(r for r in june_port.values("问题文本") if r[0] == first["id"])
    assert row[3] == "工作人员在网页中改写的段落。"


@pytest.mark.parametrize("text, message", [("=HYPERLINK(\"http://x\")", "不能以“=”开头"), ("  ", "不能为空"),
                                           ("字" * 40000, "段落过长")])
def test_paragraph_text_is_text_never_a_formula(june_port, text, message):
    actions.narrate_book(june_port)
    with pytest.raises(UserError, match=message):
        edits.write_paragraph(june_port, "总体情况.即办件与时限压缩", text)


def test_paragraph_edit_needs_the_text_sheet_and_a_known_paragraph(june_port):
    with pytest.raises(UserError, match="请先点“生成问题文本”"):
        edits.write_paragraph(june_port, "总体情况.即办件与时限压缩", "x")
    actions.narrate_book(june_port)
    with pytest.raises(UserError, match="没有段落“没有这段”"):
        edits.write_paragraph(june_port, "没有这段", "x")


# -- two clerks on one value: the second save is told, never a silent overwrite ------------------------------

def test_a_status_changed_since_the_page_showed_it_is_refused_with_the_current_value(june_port):
    actions.recalculate_book(june_port)
    shown = _row(edits.annex_tables(june_port), "附件2", "医保局")[1]["status"] or ""
    first = edits.set_status(june_port, "附件2", "医保局", "黄" if shown != "黄" else "红", expected=shown)
    saved = first.extra["change"]["new"]
    assert first.extra["change"] == {"month": "2023-06", "target": "附件2", "department": "医保局", "old": shown,
                                     "new": saved}
    # the second clerk's page still shows the old status
    with pytest.raises(edits.EditConflict, match="已被他人修改") as refused:
        edits.set_status(june_port, "附件2", "医保局", "绿", expected=shown)
    assert refused.value.current == saved and f"“{saved}”" in str(refused.value)
    assert _row(edits.annex_tables(june_port), "附件2", "医保局")[1]["status"] == saved  # not overwritten
    # told the current value, the clerk may save over it knowingly
    edits.set_status(june_port, "附件2", "医保局", "绿", expected=saved)
    assert _row(edits.annex_tables(june_port), "附件2", "医保局")[1]["status"] == "绿"


def test_a_paragraph_changed_since_the_page_showed_it_is_refused_with_the_current_text(june_port):
    actions.narrate_book(june_port)
    pid = "总体情况.即办件与时限压缩"
    shown = next(p for p in edits.text_paragraphs(june_port) if p["id"] == pid)["text"]
    first = edits.write_paragraph(june_port, pid, "甲科员的改写。", expected=shown)
    assert first.extra["change"]["old"] == shown and first.extra["change"]["new"] == "甲科员的改写。"
    with pytest.raises(edits.EditConflict, match="已被他人修改") as refused:
        edits.write_paragraph(june_port, pid, "乙科员的改写。", expected=shown)
    assert refused.value.current == "甲科员的改写。"
    assert next(p for p in edits.text_paragraphs(june_port) if p["id"] == pid)["text"] == "甲科员的改写。"
