"""User text is text in every output workbook, and names never leave the out folder: department names,
short names and full names (the workbook's 部门 sheet) and 文字素材 paragraphs beginning with "=", "+", "-"
or "@", a short name with "/" and "..", and one of 300 characters, through `run` (result workbook: 校验结果,
总览, 问题文本, the annexes) and `mail` (each department's extract and .eml draft)."""
from __future__ import annotations

import csv
import email
import email.policy
import shutil
from pathlib import Path

import openpyxl
import pytest

from bulletin.cli import main
from bulletin.config import DATA_DIR
from conftest import SAMPLE

MAY = SAMPLE.parents[1] / "2023-05" / "通报数据-2023-05.xlsx"
LONG_SHORT = "长" * 300 + "INJ_F"
CHANGES = {  # registry name -> {column: new text}
    "公安分局": {"部门": "=INJ_A()"},  # the name every problem, status and sentence carries
    "交通局": {"简称": "+INJ_B"},
    "税务局": {"简称": "x/../../逃逸INJ_C"},
    "人社局": {"简称": "@INJ_D", "全称": "-INJ_E"},
    "文广体旅局": {"简称": LONG_SHORT},
}
TEXTS = {"总体说明": "=INJ_G()", "大厅纪律": "-INJ_H", "进展较大单位": "@INJ_I"}


def hostile_book(folder: Path) -> Path:
    wb = openpyxl.load_workbook(SAMPLE)
    with open(DATA_DIR / "departments.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0] + ["停用"]
    ws = wb["部门"]
    ws.delete_rows(1, ws.max_row)
    # rows lay over the registry by 部门: a renamed unit is the old one retired and the new one added
    renamed = [row + ["是"] for row in rows[1:] if "部门" in CHANGES.get(row[0], {})]
    rows = [header, *renamed, *([CHANGES.get(row[0], {}).get(h, v) for h, v in zip(header, row)] for row in rows[1:])]
    for r, row in enumerate(rows):
        for c, v in enumerate(row, start=1):
            cell = ws.cell(r + 1, c, v)
            cell.data_type = "s"  # typed as text in Excel: "=INJ_A()" is a name, not a formula
    texts = wb["文字素材"]
    for row in texts.iter_rows(min_row=2):
        if row[0].value in TEXTS:
            row[1].value = TEXTS[row[0].value]
            row[1].data_type = "s"
    path = folder / "通报数据-2023-06.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    book = hostile_book(folder)
    history, out = folder / "history.sqlite", folder / "out"
    assert main(["import-month", str(MAY), "--history", str(history)]) == 0
    codes = [main(["run", str(book), "--history", str(history), "--out", str(out)]),
             main(["mail", str(book), "--month", "2023-06", "--history", str(history), "--out", str(out)])]
    return folder, out, codes


def cells(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield ws.title, c


def test_no_exit_3_and_nothing_outside_the_out_folder(outputs):
    folder, out, codes = outputs
    assert all(code in (0, 1) for code in codes), codes
    assert sorted(p.name for p in folder.iterdir()) == ["history.sqlite", "out", "通报数据-2023-06.xlsx"]
    for p in out.rglob("*"):
        assert out.resolve() in p.resolve().parents and "INJ_C" not in str(p.parent)
        assert len(p.name) <= 120, p.name
    mail = out / "mail" / "2023-06"
    names = {p.name for p in mail.iterdir()}
    assert "通报数据-2023-06-x.逃逸INJ_C.xlsx" in names and "2023-06-x.逃逸INJ_C.eml" in names
    assert "通报数据-2023-06-+INJ_B.xlsx" in names and "通报数据-2023-06-@INJ_D.xlsx" in names
    assert f"通报数据-2023-06-{LONG_SHORT[:60]}.xlsx" in names


def test_every_output_workbook_holds_user_text_as_text(outputs):
    _, out, _ = outputs
    workbooks = sorted(out.rglob("*.xlsx"))
    assert len(workbooks) > 5 and any(p.name.startswith("通报结果") for p in workbooks)
    seen: set[str] = set()
    for path in workbooks:
        for sheet, c in cells(path):
            text = str(c.value)
            if "INJ_" in text:
                assert c.data_type == "s", (path.name, sheet, c.coordinate, text, c.data_type)
                seen |= {m for m in ("INJ_A", "INJ_B", "INJ_D", "INJ_E", "INJ_G", "INJ_H", "INJ_I") if m in text}
                if text[:1] in "=+-@":
                    seen.add("leading" + text[0])
            assert c.data_type != "f" or "INJ" not in text
    result = next(p for p in workbooks if p.name.startswith("通报结果"))
    where = {sheet for sheet, c in cells(result) if str(c.value).startswith("=INJ_A()")}
    assert {"校验结果", "部门"} <= where, where  # the department column of the problems; the 部门 sheet kept
    assert {"INJ_A", "INJ_B", "INJ_D", "INJ_G", "leading=", "leading+", "leading@"} <= seen, seen


def test_drafts_name_the_departments_as_written(outputs):
    _, out, _ = outputs
    draft = out / "mail" / "2023-06" / "2023-06-+INJ_B.eml"
    msg = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    assert "+INJ_B" in msg["Subject"]
    assert {a.get_filename() for a in msg.iter_attachments()} >= {"通报数据-2023-06-+INJ_B.xlsx"}


def test_template_and_layout_write_text_as_text(tmp_path):
    path = tmp_path / "2023-07.xlsx"
    assert main(["template", "--month", "2023-07", "-o", str(path)]) == 0
    for sheet, c in cells(path):
        assert c.data_type != "f" or (sheet, c.coordinate) == ("控制台", "B3") or str(c.value).startswith("='"), \
            (sheet, c.coordinate, c.value)


def test_an_over_long_paragraph_is_refused_at_its_cell_not_cut(tmp_path, capsys):
    wb = openpyxl.load_workbook(SAMPLE)
    texts = wb["文字素材"]
    body = "很长的一段话。" * 4680  # 32,760 characters: fits its input cell, not the paragraph around it
    for row in texts.iter_rows(min_row=2):
        if row[0].value == "总体说明":
            row[1].value = body
    book = tmp_path / "通报数据-2023-06.xlsx"
    wb.save(book)
    shutil.copy(book, tmp_path / "copy.xlsx")
    code = main(["run", str(book), "--out", str(tmp_path / "out"), "--history", str(tmp_path / "h.sqlite")])
    err = capsys.readouterr().err
    assert code == 2 and "超过 Excel 单元格上限 32767" in err and "问题文本" in err, err
    assert not list((tmp_path / "out").glob("通报结果-*.xlsx"))  # nothing half-written
