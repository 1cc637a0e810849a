"""The generated 通报 text for June 2023 against a history holding May: the June text's month-over-month
facts and laggard lists, streaks over a 3-month history, staff edits kept, template mistakes named."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import analyse, compute
from bulletin.narrative import TemplateError, as_sections, render

from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"

# Sentences of the real June 2023 bulletin (examples/2023-06/reference/bulletin-2023-06.txt).
JUNE_TEXT_FACTS = [
    "即办件占比为62.71%，较5月份降低2.51%",
    "政务服务事项时限压缩比例为92.25%，较5月份降低1.92%",
    "公安分局事项压缩比由5月份63.45%降至16.65%，导致全区压缩比整体降低1.92%",
    "电子证照总量为41327，较5月份增长437条",
    "主动评价量共205509件，较5月份增长36926件",
    "累计资源挂载率为62.39%，较5月份无变化",
    "6月份数据共享资源归集无进展",
    "主项覆盖率及子项覆盖率较低的单位：文广体旅局、新闻出版局、住建局、生态环境局、教育局、人社局、公安分局、城管局、"
    "民政局、财政局、金融办、工信局。",
    "全区除自然资源局、卫健委、市场监管局外，其他单位仍未开展问题排查工作，涉及单位：残联、公安分局、人社局、税务局、医保局。",
    "二是残联、公安分局、人社局、税务局、医保局第二批网办问题排查工作无进展",
    "区本级政务服务不见面审批事项占比为100%",
    "1-6月共2个差评件，均已整改",
]


def bulletin(*args):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def june_text():
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    return as_sections(analyse(june, {"2023-05": may}).paragraphs)


@pytest.mark.parametrize("sentence", JUNE_TEXT_FACTS)
def test_june_text_states_what_the_office_wrote(june_text, sentence):
    assert sentence in june_text["总体情况"] + june_text["存在问题"]


def test_headings_are_numbered_in_order(june_text):
    lines = [ln for ln in june_text["总体情况"].splitlines() if ln.startswith("（")]
    assert [ln[:3] for ln in lines] == ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]


def test_without_history_there_is_no_month_over_month_phrase():
    text = as_sections(analyse(compute(read_grids(SAMPLE))).paragraphs)
    assert "较5月份" not in text["总体情况"].replace("主动邀评率较5月份", "")
    assert "即办件占比为62.71%；" in text["总体情况"]


def test_ratio_change_unit_is_a_setting(monkeypatch, tmp_path):
    from bulletin import config
    from bulletin.config import Settings

    settings = config.load_settings()
    monkeypatch.setattr("bulletin.engine.load_settings",
                        lambda: Settings(**{**settings.__dict__, "ratio_change_unit": "个百分点"}))
    wb = openpyxl.load_workbook(SAMPLE)
    del wb["参数"]  # without a 环比单位 row in the workbook, settings.yaml decides
    wb.save(tmp_path / "june.xlsx")
    june, may = compute(read_grids(tmp_path / "june.xlsx")), compute(read_grids(MAY))
    text = as_sections(analyse(june, {"2023-05": may}).paragraphs)
    assert "较5月份降低2.51个百分点" in text["总体情况"]


def test_streaks_over_a_three_month_history(tmp_path):
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    with History(tmp_path / "h.sqlite") as h:
        april = compute(read_grids(MAY))
        april.month = april.scalars["月份"] = "2023-04"
        h.store(april)
        h.store(may)
        past = h.load_many()
    a = analyse(june, past)
    assert a.streaks[("附件6", "水利局", "a6.hall_unstationed")] == 3
    assert a.streaks[("附件2", "公安分局", "a2.compress_drop")] == 1  # the drop happened in June only
    text = as_sections(a.paragraphs)["存在问题"]
    assert "水利局连续3个月" in text
    # a gap in history ends the streak: without May, April does not count
    assert analyse(june, {"2023-04": april}).streaks[("附件6", "水利局", "a6.hall_unstationed")] == 1


def test_template_using_an_unknown_fact_fails_naming_it(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    path = folder / "narrative" / "总体情况.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("{{ m }}月份，我区", "{{ 不存在的变量 }}月份，我区"),
                    encoding="utf-8")
    facts = analyse(compute(read_grids(SAMPLE))).facts.as_dict()
    with pytest.raises(TemplateError, match="不存在的变量"):
        render(facts, folder)


def _text_cell(path: Path, paragraph: str) -> str:
    ws = openpyxl.load_workbook(path)["问题文本"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == paragraph)
    return row[3].coordinate


def test_staff_edits_survive_a_rerun_unless_overwritten(tmp_path):
    hist, out = tmp_path / "h.sqlite", tmp_path / "out"
    assert bulletin("import-month", MAY, "--history", hist).returncode == 0
    assert bulletin("run", SAMPLE, "--history", hist, "--out", out).returncode == 0
    result = out / "通报结果-2023-06.xlsx"
    cell = _text_cell(result, "存在问题.明进暗不进")
    wb = openpyxl.load_workbook(result)
    edited = "经核实，退役军人事务局、残联存在“明进暗不进”现象。"
    wb["问题文本"][cell] = edited
    wb.save(result)

    again = bulletin("run", SAMPLE, "--history", hist, "--out", out, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert edited in report["narrative"]["存在问题"]
    ws = openpyxl.load_workbook(result)["问题文本"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "存在问题.明进暗不进")
    assert row[3].value == edited and "退役军人事务局、残联" not in row[4].value[:20] and "保留" in row[6].value
    assert any((out / ".backup").iterdir())  # the replaced output was kept

    third = bulletin("run", SAMPLE, "--history", hist, "--out", out, "--overwrite-text", "--json")
    assert edited not in json.loads(third.stdout)["narrative"]["存在问题"]
