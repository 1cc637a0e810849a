"""One contract suite for the workbook port, run against every implementation available here:
openpyxl over a file, and the real xlwings Book/Range code over an openpyxl-backed engine (tests/xlwings_engine.py).
tests/excel/ runs the same suite against Excel on Windows (opt-in, BULLETIN_EXCEL=1)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin import excel
from bulletin.actions import month as actions
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from bulletin.ports.openpyxl_port import OpenpyxlPort
from bulletin.ports.xlwings_port import XlwingsPort
from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
MASTER = ROOT / "bulletin.xlsm"


def paste_june(target: Path) -> Path:
    """What staff do: paste the June sample's sheets (values, number formats, merges) into the master
    workbook's sheets of the same name. Returns the saved copy."""
    src = openpyxl.load_workbook(SAMPLE)
    wb = openpyxl.load_workbook(MASTER, keep_vba=True)
    for name in src.sheetnames:
        s, d = src[name], wb[name]
        for rng in list(d.merged_cells.ranges):
            d.unmerge_cells(str(rng))
        for row in d.iter_rows(max_col=s.max_column):  # the pasted block replaces the prefilled one; the
            for c in row:                                # 状态/触发规则 columns and their colouring stay
                c.value = None
        for row in s.iter_rows():
            for c in row:
                d.cell(c.row, c.column, c.value).number_format = c.number_format
        for rng in s.merged_cells.ranges:
            d.merge_cells(str(rng))
    wb.save(target)
    return target


def sheet_records(port, sheet: str) -> list[dict]:
    """A generated sheet's rows below its header, as dicts (one read)."""
    rows = port.values(sheet)
    header = [str(h) if h is not None else f"列{i + 1}" for i, h in enumerate(rows[0])]
    return [dict(zip(header, r)) for r in rows[1:] if any(v is not None for v in r)]


def shown(value) -> str:
    """What a 校验结果 cell shows: Excel reads back a HYPERLINK's text, the file port its formula."""
    text = str(value or "")
    link = re.match(r'=HYPERLINK\("#\'([^\']+)\'!([A-Z]+[0-9]+)","([^"]*)"\)$', text)
    if link:
        assert link.group(2) == link.group(3), text  # the link goes to the cell it names
        return link.group(3)
    return text


def _xlwings_port(path: Path):
    sys.path.insert(0, str(Path(__file__).parent))
    from xlwings_engine import open_book

    return XlwingsPort(open_book(path))


PORTS = {"openpyxl": OpenpyxlPort, "xlwings": _xlwings_port}


@pytest.fixture(params=sorted(PORTS))
def june_port(request, tmp_path):
    path = paste_june(tmp_path / "2023年6月通报.xlsm")  # renamed: the buttons do not depend on the file name
    with History(tmp_path / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    return PORTS[request.param](path)


def _cli_json(tmp_path, *args):
    res = subprocess.run([sys.executable, "-m", "bulletin", *args, "--json"], capture_output=True, text=True,
                         cwd=tmp_path)
    return json.loads(res.stdout)


def test_check_lists_the_same_problems_as_the_cli(june_port, tmp_path):
    outcome = actions.check_book(june_port)
    cli = _cli_json(tmp_path, "check", str(SAMPLE))
    assert outcome.json()["problems"] == cli["problems"]
    problems = sheet_records(june_port, "校验结果")
    # each problem's cell, as a link (Excel shows its text; the links themselves: test_result_workbook)
    assert sorted((r["工作表"], shown(r["单元格"])) for r in problems) == \
        sorted((p["sheet"], p["cell"]) for p in cli["problems"])


def test_recalculate_and_narrate_match_the_cli(june_port, tmp_path):
    shutil.copy(tmp_path / "history.sqlite", tmp_path / "cli-history.sqlite")
    cli = _cli_json(tmp_path, "run", str(SAMPLE), "--history", str(tmp_path / "cli-history.sqlite"), "--out",
                    str(tmp_path / "out"))
    outcome = actions.run_book(june_port)
    mine = outcome.json()
    for key in ("tables", "totals", "subtotals", "references", "statuses", "narrative"):
        assert mine[key] == cli[key], key
    # computed cells written into the book equal the CLI's output workbook's
    out = openpyxl.load_workbook(cli["output"])
    for sheet, cells in {"附件1": ["F3", "F4", "D3"], "附件2": ["I3", "I10"], "附件4": ["F4"]}.items():
        values = june_port.values(sheet)
        for ref in cells:
            c = out[sheet][ref]
            assert values[c.row - 1][c.column - 1] == pytest.approx(c.value), f"{sheet}!{ref}"
    text = sheet_records(june_port, "问题文本")
    assert "即办件占比为62.71%，较5月份降低2.51%" in "".join(str(r["文本（可修改，通报采用此列）"]) for r in text)


def test_statuses_and_changes_go_beside_the_table_never_into_inputs(june_port):
    before = {s: june_port.values(s) for s in ("附件2",)}
    actions.compare_book(june_port)
    after = june_port.values("附件2")
    head = after[1]
    status = head.index("状态")
    assert head[status + 1] == "触发规则" and "上月压缩比例" in head and "压缩比例变化（百分点）" in head
    width = status  # the annex's own columns end where 状态 begins
    computed = {8}  # 压缩比例 (column I, 0-based 8) is the only computed column of annex 2
    for old, new in zip(before["附件2"], after):
        assert [v for i, v in enumerate(old[:width]) if i not in computed] == \
               [v for i, v in enumerate(new[:width]) if i not in computed]
    row = next(r for r in after if r[1] == "公安分局")
    assert row[status] == "红" and row[head.index("上月压缩比例")] == pytest.approx(0.6345)
    assert row[head.index("压缩比例变化（百分点）")] == pytest.approx(-46.8)


def test_staff_edits_in_text_survive_a_second_narrate(june_port):
    actions.narrate_book(june_port)
    rows = june_port.values("问题文本")
    i = next(n for n, r in enumerate(rows) if r[0] == "总体情况.即办件与时限压缩")
    june_port.write("问题文本", i + 1, 4, [["工作人员改写的段落。"]])
    actions.narrate_book(june_port)
    again = next(r for r in june_port.values("问题文本") if r[0] == "总体情况.即办件与时限压缩")
    assert again[3] == "工作人员改写的段落。" and "62.71%" in again[4]


def test_close_month_stores_it_in_history_beside_the_workbook(june_port, tmp_path):
    outcome = actions.close_month_book(june_port)
    assert "2023-06 已存入历史库" in outcome.notes[0]
    with History(tmp_path / "history.sqlite") as h:
        assert h.months() == ["2023-05", "2023-06"]
    console = june_port.values("控制台")
    assert console[4][1] == "结转下月" and "2023-06" in console[6][1]


def test_input_error_is_named_with_sheet_and_cell(june_port):
    june_port.write("附件1", 4, 5, [["很多"]])
    outcome = actions.recalculate_book(june_port)
    assert outcome.analysis is None and "附件1!E4" in outcome.notes[0]
    assert any(r[1] == "附件1" and shown(r[2]) == "E4" for r in june_port.values("校验结果"))


# -- the entry points of the buttons, on the xlwings port ---------------------------------------------

@pytest.fixture
def june_book(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from xlwings_engine import open_book

    return open_book(paste_june(tmp_path / "通报.xlsm"))


def test_button_entry_points_show_chinese_messages(june_book):
    excel.check(june_book)
    excel.recalculate(june_book)
    alerts = june_book.app.impl.alerts
    assert alerts[0][1].startswith("校验完成：错误 0 条、警告 2 条")
    assert alerts[1][1].startswith("重新计算完成")
    assert "正在重新计算……" in june_book.app.impl.status_texts
    assert june_book.app.impl.status_texts[-1] is False  # handed back to Excel, not left blank


def test_missing_history_is_a_message_not_a_traceback(june_book):
    excel.compare(june_book)
    title, text = june_book.app.impl.alerts[-1]
    assert text.startswith("与上月比较未完成：历史库还没有建立") and "Traceback" not in text
    assert text.endswith("请先打开上月（2023-05）的工作簿并点“结转下月”。")  # the workbook's words, not the CLI's


def test_unexpected_error_writes_a_log_beside_the_workbook(june_book, monkeypatch, tmp_path):
    def broken(port, *a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(actions, "check_book", broken)
    excel.check(june_book)
    text = june_book.app.impl.alerts[-1][1]
    log = next(tmp_path.glob("bulletin-error-*.log"))
    assert str(log) in text and "RuntimeError: boom" in log.read_text(encoding="utf-8")


def test_environment_report(june_book, tmp_path):
    (tmp_path / "xlwings.conf").write_text('"INTERPRETER_WIN","C:\\\\bulletin\\\\.venv\\\\Scripts\\\\pythonw.exe"\n')
    import xlwings

    lines = excel.check_environment(june_book, vba_version=xlwings.__version__)
    assert f"Python 包 {xlwings.__version__}，工作簿 VBA 模块 {xlwings.__version__}（一致）" in lines[2]
    assert "工作簿旁的配置文件" in lines[4] and str(tmp_path / "history.sqlite") in lines[5]
    assert "不一致" in excel.environment(june_book, vba_version="0.30.0")[2]


@pytest.mark.parametrize("entry, module", [(excel.render_document, "document"), (excel.mail_preview, "mail")])
def test_document_and_mail_buttons_delegate_to_their_actions(june_book, entry, module):
    import importlib

    importlib.import_module(f"bulletin.actions.{module}")  # part of the package: an ImportError is a failure
    entry(june_book)
    assert "尚未安装此功能" not in june_book.app.impl.alerts[-1][1]


@pytest.mark.parametrize("entry, module, what, function", [
    (excel.render_document, "document", "生成通报文档", "render"), (excel.mail_preview, "mail", "邮件预览", "preview")])
def test_a_button_whose_action_is_not_installed_says_so(june_book, monkeypatch, entry, module, what, function):
    import sys

    monkeypatch.setitem(sys.modules, f"bulletin.actions.{module}", None)  # import_module now raises ImportError
    entry(june_book)
    assert june_book.app.impl.alerts[-1][1] == (f"尚未安装此功能：{what}（需要 bulletin.actions.{module}.{function}）。"
                                                "请联系信息科更新程序。")
