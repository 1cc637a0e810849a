"""Part 2 from the command line: history, compare, narrate, close-month, import-month, and the output
workbook's 上月/变化, 状态 and conditional formatting."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import openpyxl
import pytest

from conftest import ROOT, SAMPLE, edit_sample

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"


def bulletin(*args):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("h") / "history.sqlite"
    res = bulletin("import-month", MAY, "--history", path)
    assert res.returncode == 0 and "2023-05 已存入历史库" in res.stdout
    return path


def test_run_json_has_changes_statuses_facts_narrative(tmp_path, history):
    res = bulletin("run", SAMPLE, "--history", history, "--out", tmp_path, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["previous_month"] == "2023-05"
    assert {"changes", "statuses", "facts", "narrative"} <= set(out)
    total = next(c for c in out["changes"] if c["sheet"] == "附件1" and c["scope"] == "total"
                 and c["column"] == "即办件事项占比")
    assert (total["previous"], total["current"], total["change"]) == (65.22, 62.71, -2.51)
    assert out["statuses"]["附件7"]["残联"] == {"status": "红", "proposed": "红", "by_staff": False,
                                          "rules": ["a7.not_started"]}
    assert out["facts"]["laggards"]["a7.not_started"] == ["残联", "公安分局", "人社局", "税务局", "医保局"]
    assert set(out["narrative"]) == {"总体情况", "存在问题", "下步工作要求"}


def test_output_workbook_has_previous_change_status_and_colours(tmp_path, history):
    assert bulletin("run", SAMPLE, "--history", history, "--out", tmp_path).returncode == 0
    ws = openpyxl.load_workbook(tmp_path / "通报结果-2023-06.xlsx")["附件2"]
    header = {c.value: c.column for c in ws[2] if c.value}
    assert {"上月压缩比例", "压缩比例变化（百分点）", "状态", "触发规则"} <= set(header)
    police = next(r for r in ws.iter_rows(min_row=3) if r[1].value == "公安分局")
    assert police[header["上月压缩比例"] - 1].value == pytest.approx(0.6345)
    assert police[header["压缩比例变化（百分点）"] - 1].value == pytest.approx(-46.8)
    assert police[header["状态"] - 1].value == "红"
    assert "压缩比例大幅下降" in police[header["触发规则"] - 1].value
    total = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "合计")
    assert total[header["压缩比例变化（百分点）"] - 1].value == pytest.approx(-1.92)
    status_letter = openpyxl.utils.get_column_letter(header["状态"])
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert sorted(r.formula[0] for r in rules) == sorted([f'${status_letter}3="红"', f'${status_letter}3="黄"'])


def test_compare_needs_last_month(tmp_path):
    res = bulletin("compare", SAMPLE, "--history", tmp_path / "empty.sqlite")
    assert res.returncode == 2 and "2023-05" in res.stderr and "Traceback" not in res.stderr


def test_compare_prints_district_changes_and_drivers(history):
    res = bulletin("compare", SAMPLE, "--history", history)
    assert res.returncode == 0
    assert "附件2 压缩比例: 94.17% → 92.25%  下降 -1.92" in res.stdout
    assert "公安分局 -1.92" in res.stdout


def test_narrate_prints_all_three_sections(history):
    res = bulletin("narrate", SAMPLE, "--history", history)
    assert res.returncode == 0
    assert "一、总体情况" in res.stdout and "二、存在问题" in res.stdout and "三、下步工作要求" in res.stdout


def test_a_month_with_errors_cannot_be_closed(tmp_path, history):
    path, _ = edit_sample(tmp_path, [("附件1", "殷都区交通局", "事项总数", "八十九")])
    db = tmp_path / "h.sqlite"
    assert bulletin("import-month", MAY, "--history", db).returncode == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    res = bulletin("close-month", path, "--history", db)
    assert res.returncode == 1 and "未能结转" in res.stdout
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_close_month_stores_and_replaces(tmp_path):
    db = tmp_path / "h.sqlite"
    first = bulletin("close-month", SAMPLE, "--history", db)
    second = bulletin("close-month", SAMPLE, "--history", db)
    assert "2023-06 已存入历史库" in first.stdout
    assert "已重新存入 2023-06（替换先前存入的 2023-06，其他月份不变）" in second.stdout
    from bulletin.adapters.history_sqlite import History
    with History(db) as h:
        assert h.months() == ["2023-06"]


def test_month_option_never_hides_a_problem_whose_wording_names_a_month(tmp_path):
    """--month replaces the 月份 cell only: 差评件数 = "5月份2件" is still refused at its cell."""
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["总体情况"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "差评件数")
    ws.cell(row, 2).value = "5月份2件"
    path = tmp_path / "june.xlsx"
    wb.save(path)
    res = bulletin("check", path, "--month", "2023-06", "--json")
    problems = json.loads(res.stdout)["problems"]
    assert res.returncode == 1
    assert any(p["rule"] == "scalar.invalid" and p["cell"] == f"B{row}" and "差评件数" in p["message"]
               for p in problems)


def test_the_file_steps_after_run_sum_the_warnings_up_and_print_no_text(tmp_path):
    """make demo runs run, render, charts and mail on one month: each warning and the text are printed once."""
    db = tmp_path / "h.sqlite"
    bulletin("import-month", MAY, "--history", db)
    run = bulletin("run", SAMPLE, "--history", db, "--out", tmp_path / "out")
    assert run.stdout.count("44.44%") == 1 and run.stdout.count("一、总体情况") == 1
    for command in (("charts", SAMPLE, "--history", db, "--out", tmp_path / "charts"),
                    ("mail", SAMPLE, "--history", db, "--out", tmp_path / "out")):
        res = bulletin(*command)
        assert "校验：错误 0 条、警告 2 条（bulletin check 列出全部问题）。" in res.stdout, command
        assert "44.44%" not in res.stdout and "一、总体情况" not in res.stdout, command
