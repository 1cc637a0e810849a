"""actions/departments: the units as a workbook sees them, and one unit's edit written as its one row of the
部门 sheet over the office registry (blank where the registry says the same), refused when it would not read back."""
from __future__ import annotations

import openpyxl
import pytest

from bulletin.actions import backups, departments, mail
from bulletin.actions.edits import EditError
from bulletin.ports.openpyxl_port import OpenpyxlPort


def saved(book, department, fields):
    port = OpenpyxlPort(book)
    outcome = departments.set_department(port, department, fields)
    backups.save_in_place(port)
    return outcome


def rows(book):
    return [r[:11] for r in openpyxl.load_workbook(book)["部门"].iter_rows(min_row=2, values_only=True) if any(r[:11])]


def unit(book, name):
    return next(d for d in departments.departments(OpenpyxlPort(book))["departments"] if d["部门"] == name)


def test_a_missing_address_filled_in_ends_the_mail_refusal(sample_copy):
    assert unit(sample_copy, "中国人寿")["邮箱"] == "" and "中国人寿" in {n.subject for n in mail.preview(sample_copy).next}
    outcome = saved(sample_copy, "中国人寿", {"简称": "中国人寿", "别名": "", "邮箱": "rs@yindu.example", "应进驻大厅": "是"})
    assert outcome.notes == ["已保存“中国人寿”：邮箱：rs@yindu.example（写入“部门”表第 2 行）。"]
    # only what differs from the registry is written: 简称 and 应进驻大厅 as the registry has them stay blank
    assert rows(sample_copy) == [("中国人寿", None, None, None, None, None, "rs@yindu.example", None, None, None, None)]
    assert unit(sample_copy, "中国人寿")["set"] == ["邮箱"]
    assert "中国人寿" not in {n.subject for n in mail.preview(sample_copy).next}


def test_back_to_the_registrys_values_clears_the_row_and_a_row_keeps_its_own_spelling(sample_copy):
    saved(sample_copy, "交通局", {"应进驻大厅": "否"})
    assert rows(sample_copy) == [("交通局", None, None, None, None, None, None, None, "否", None, None)]
    saved(sample_copy, "交通局", {"应进驻大厅": "是"})
    assert rows(sample_copy) == []
    wb = openpyxl.load_workbook(sample_copy)
    wb["部门"]["A2"], wb["部门"]["G2"] = "殷都区人力资源和社会保障局", "a@yindu.example"
    wb.save(sample_copy)
    saved(sample_copy, "人社局", {"邮箱": "b@yindu.example"})
    assert rows(sample_copy) == [("殷都区人力资源和社会保障局", None, None, None, None, None, "b@yindu.example", None, None,
                                  None, None)]


@pytest.mark.parametrize("fields, message", [
    ({"邮箱": "不是地址"}, "“邮箱”为“不是地址”，无法使用（应为邮箱地址"),
    ({"别名": "公安分局"}, "名称“公安分局”既属于“公安分局”（部门名录），又写给了“交通局”"),
    ({"简称": "=HYPERLINK(\"x\")"}, "不能以“=”开头"),
])
def test_an_edit_that_would_not_read_back_is_refused_and_nothing_written(sample_copy, fields, message):
    before = sample_copy.read_bytes()
    with pytest.raises(EditError, match=message.replace("(", r"\(").replace(")", r"\)")):
        departments.set_department(OpenpyxlPort(sample_copy), "交通局", fields)
    assert sample_copy.read_bytes() == before


def test_a_workbook_without_the_unit_or_not_a_bulletin_workbook_is_refused(sample_copy, tmp_path):
    with pytest.raises(EditError, match="部门名录和“部门”表中都没有“不存在的局”"):
        departments.set_department(OpenpyxlPort(sample_copy), "不存在的局", {"邮箱": "x@yindu.example"})
    other = tmp_path / "工资表.xlsx"
    openpyxl.Workbook().save(other)
    with pytest.raises(Exception, match="这不是通报数据工作簿"):
        departments.departments(OpenpyxlPort(other))
