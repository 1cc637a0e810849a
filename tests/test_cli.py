"""The `bulletin` command as a user runs it: exit codes, JSON, messages, and input files left intact."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

import frames

from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute

from conftest import edit_sample


def bulletin(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_check_json_shape_and_exit_0(sample_copy):
    res = bulletin("check", sample_copy, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["month"] == "2023-06"
    assert set(out["tables"]) == {f"附件{i}" for i in range(1, 9)}
    row = next(r for r in out["tables"]["附件1"] if r["部门"] == "公安分局")
    assert row["即办件事项占比"] == 44.76 and row["事项总数"] == 143
    assert out["totals"]["附件2"]["压缩比例"] == 92.25
    assert {p["cell"] for p in out["problems"]} == {"F25", "C34"}
    assert set(out["problems"][0]) == {"sheet", "cell", "department", "rule", "severity", "message"}


@pytest.mark.parametrize("command", ["check", "recalc", "run"])
def test_input_file_is_byte_identical_after_every_command(tmp_path, sample_copy, command):
    before = digest(sample_copy)
    args = [command, sample_copy] + ([] if command == "check" else ["--out", tmp_path / "out"])
    assert bulletin(*args).returncode == 0
    assert digest(sample_copy) == before


def test_run_writes_a_new_workbook_with_recomputed_figures_and_problem_sheet(tmp_path, sample_copy):
    res = bulletin("run", sample_copy, "--out", tmp_path / "out")
    assert res.returncode == 0
    out = tmp_path / "out" / "通报结果-2023-06.xlsx"
    assert f"输出文件：{out}" in res.stdout
    wb = openpyxl.load_workbook(out)
    source = openpyxl.load_workbook(sample_copy)
    ws = wb["附件1"]
    assert ws["F25"].value == pytest.approx(0.4476) and ws["F25"].number_format == "0.00%"
    assert wb["附件6"]["C34"].value == 88300  # the total row is the engine's
    for addr in ("B25", "C25", "E25", "C5"):  # input cells copied unchanged
        assert ws[addr].value == source["附件1"][addr].value
    problems = wb["校验结果"]
    links = [c.value for c in problems["C"]]
    assert "=HYPERLINK(\"#'附件1'!F25\",\"F25\")" in links and "=HYPERLINK(\"#'附件6'!C34\",\"C34\")" in links
    # the output reads back as a valid input with the same results
    again = compute(read_grids(out))
    assert again.result(6).total == compute(read_grids(sample_copy)).result(6).total


def test_input_errors_exit_1_with_cells_and_chinese_message(tmp_path):
    path, cells = edit_sample(tmp_path, [("附件1", "殷都区交通局", "事项总数", "八十九")])
    before = digest(path)
    res = bulletin("check", path)
    assert res.returncode == 1
    assert cells["附件1/殷都区交通局/事项总数"] in res.stdout and "不是有效数字" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr
    res = bulletin("run", path, "--out", tmp_path / "o")
    assert res.returncode == 1 and (tmp_path / "o" / "通报结果-2023-06.xlsx").exists()
    assert digest(path) == before


@pytest.mark.parametrize("args, words", [
    (["check", "没有这个文件.xlsx"], "找不到文件"),
    (["check"], "参数错误"),
    (["frobnicate"], "参数错误"),
    (["template", "--month", "2023-13", "-o", "x.xlsx"], "月份"),
])
def test_usage_errors_exit_2_in_chinese(tmp_path, args, words):
    res = bulletin(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert words in res.stderr and "Traceback" not in res.stderr


def test_not_a_workbook_is_a_message(tmp_path):
    bad = tmp_path / "坏文件.xlsx"
    bad.write_text("not a zip")
    res = bulletin("check", bad)
    assert res.returncode == 2 and "无法打开工作簿" in res.stderr


def test_output_never_overwrites_the_input(tmp_path, sample_copy):
    from bulletin.adapters.xlsx_output import OutputError, save_new
    with pytest.raises(OutputError):
        save_new(openpyxl.load_workbook(sample_copy), sample_copy, protect=[sample_copy])


def test_template_prefills_departments_and_reads_back(tmp_path):
    out = tmp_path / "2023-07.xlsx"
    res = bulletin("template", "--month", "2023-07", "-o", out)
    assert res.returncode == 0 and out.exists()
    data = compute(read_grids(out))
    assert data.month == "2023-07"
    assert len(frames.rows(data.result(1))) == 31 and len(frames.rows(data.result(8))) == 29
    assert data.result(5).references["city"]["_label"] == "安阳市"
    rules = {p.rule for p in data.problems}
    assert rules <= {"value.missing", "scalar.missing"}  # empty, but every name and header is understood
