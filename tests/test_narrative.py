"""The generated 通报 text for June 2023 against a history holding May: the June text's month-over-month
facts and laggard lists, streaks over a 3-month history, staff edits kept, template mistakes named."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_registry
from bulletin.core.registry import parse_carried
from bulletin.engine import ParamError, analyse, compute
from bulletin.narrative import TemplateError, as_sections, render, render_facts

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
    "即办件占比、承诺时限压缩比例指标有所降低（其中公安分局1个事项不属分局权限未计入），",
]


def bulletin(*args):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def june_text():
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    return as_sections(render_facts(analyse(june, {"2023-05": may}).facts))


@pytest.mark.parametrize("sentence", JUNE_TEXT_FACTS)
def test_june_text_states_what_the_office_wrote(june_text, sentence):
    assert sentence in june_text["总体情况"] + june_text["存在问题"]


def test_headings_are_numbered_in_order(june_text):
    lines = [ln for ln in june_text["总体情况"].splitlines() if ln.startswith("（")]
    assert [ln[:3] for ln in lines] == ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]


def test_without_history_there_is_no_month_over_month_phrase():
    text = as_sections(render_facts(analyse(compute(read_grids(SAMPLE))).facts))
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
    text = as_sections(render_facts(analyse(june, {"2023-05": may}).facts))
    assert "较5月份降低2.51个百分点" in text["总体情况"]


def test_streaks_over_a_three_month_history(tmp_path):
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    with History(tmp_path / "h.sqlite") as h:
        april = compute(read_grids(MAY))
        april.month = april.scalars["月份"] = "2023-04"
        h.store(april)
        h.store(may)
        past = h.load_many()
    registry = _without_carried(june.registry or load_registry())
    a = analyse(june, past, registry)
    assert a.streaks[("附件6", "水利局", "a6.hall_unstationed")] == 3
    assert a.streaks[("附件2", "公安分局", "a2.compress_drop")] == 1  # the drop happened in June only
    text = as_sections(render_facts(a.facts))["存在问题"]
    assert "水利局连续3个月" in text
    # a gap in history ends the streak: without May, April does not count
    assert analyse(june, {"2023-04": april}, registry).streaks[("附件6", "水利局", "a6.hall_unstationed")] == 1


def _without_carried(registry):
    return dataclasses.replace(registry, departments=tuple(dataclasses.replace(d, carried=()) for d in
                                                           registry.departments))


def _with(registry, name, **changes):
    return dataclasses.replace(registry, departments=tuple(dataclasses.replace(d, **changes) if d.name == name else d
                                                           for d in registry.departments))


def test_carried_streak_and_hall_units_name_only_shuili_six_months():
    """June against May, with 应进驻大厅 set as the office would and 既往连续 "截至2023-05 连续5个月" for 水利局:
    only 水利局 is 未派驻, "连续6个月" — also in the tool's first month (no history at all)."""
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    registry = load_registry()
    assert registry.get("水利局").hall and registry.get("水利局").carried
    for past in ({"2023-05": may}, {}):
        a = analyse(june, past, registry)
        assert a.assessment.fired("a6.hall_unstationed") == ["水利局"]
        text = as_sections(render_facts(a.facts))["存在问题"]
        assert "如水利局连续6个月未派驻正式固定工作人员" in text
    # without the registry's knowledge the tool cannot say it: no 应进驻大厅, nobody is "未派驻"
    plain = _with(registry, "水利局", hall=False)
    assert analyse(june, {"2023-05": may}, plain).assessment.fired("a6.hall_unstationed") == []
    # without the carried streak, June alone is one month: no "连续" claim
    text = as_sections(render_facts(analyse(june, {}, _without_carried(registry)).facts))["存在问题"]
    assert "连续" not in text


def test_carried_streak_names_an_existing_rule():
    june = compute(read_grids(SAMPLE))
    registry = _with(load_registry(), "水利局", carried=parse_carried("没有这条规则 截至2023-05 连续5个月"))
    with pytest.raises(ParamError, match="没有这条规则"):
        analyse(june, {}, registry)
    with pytest.raises(ValueError, match="既往连续"):
        parse_carried("未派驻五个月")


def test_long_lists_are_shortened_as_offices_write_them(june_text):
    assert "如：人社局、医保局、自然资源局、交通局、发改委等14个单位。" in june_text["存在问题"]
    assert "涉及应急管理局、自然资源局、交通局、林业局、市不动产等6个单位" in june_text["存在问题"]
    # list_limit: 0 keeps annex 5's twelve units in full, as the office printed them
    assert "主项覆盖率及子项覆盖率较低的单位：文广体旅局、新闻出版局、住建局、生态环境局、教育局、人社局、公安分局、城管局、民政局、" \
           "财政局、金融办、工信局。" in june_text["总体情况"]


def _status_cell(ws, department: str) -> str:
    for row in ws.iter_rows():
        values = [c.value for c in row]
        if "状态" in values and "触发规则" in values:
            col = values.index("状态")
            break
    for row in ws.iter_rows():
        if any(str(c.value or "").endswith(department) for c in row[:3]):
            return row[col].coordinate
    raise AssertionError(department)


def test_staff_confirmed_status_drives_the_text_both_ways(tmp_path):
    """税务局 set from 红 to 绿 in the result workbook's 附件2 is dropped from the text; 残联 set to 红 (no rule
    fired for it) is named; 触发规则 keeps the rules' proposal; --reset-status brings the proposal back."""
    hist, out = tmp_path / "h.sqlite", tmp_path / "out"
    assert bulletin("import-month", MAY, "--history", hist).returncode == 0
    assert bulletin("run", SAMPLE, "--history", hist, "--out", out).returncode == 0
    result = out / "通报结果-2023-06.xlsx"
    edited = tmp_path / "confirmed.xlsx"
    wb = openpyxl.load_workbook(result)
    ws = wb["附件2"]
    tax, disabled = _status_cell(ws, "税务局"), _status_cell(ws, "残联")
    assert ws[tax].value == "红" and ws[disabled].value == "绿"
    ws[tax] = "绿"
    wb.save(edited)
    first = bulletin("narrate", edited, "--history", hist, "--json")
    assert first.returncode == 0, first.stderr
    text = json.loads(first.stdout)["narrative"]["存在问题"]
    assert "如：公安分局，" in text and "如：税务局" not in text
    assert json.loads(first.stdout)["statuses"]["附件2"]["税务局"]["status"] == "绿"
    assert json.loads(first.stdout)["statuses"]["附件2"]["税务局"]["rules"] == ["a2.compress_red"]

    wb = openpyxl.load_workbook(edited)
    wb["附件2"][disabled] = "红"
    wb.save(edited)
    second = json.loads(bulletin("narrate", edited, "--history", hist, "--json").stdout)
    assert "如：残联、公安分局，" in second["narrative"]["存在问题"]

    # a run on the confirmed workbook keeps staff's 状态 and the proposing rule in 触发规则
    assert bulletin("run", edited, "--history", hist, "--out", tmp_path / "again").returncode == 0
    ws = openpyxl.load_workbook(tmp_path / "again" / "通报结果-2023-06.xlsx")["附件2"]
    assert ws[tax].value == "绿" and ws[tax].offset(column=1).value == "时限压缩比例较低"
    assert ws[disabled].value == "红"
    reset = bulletin("run", edited, "--history", hist, "--out", tmp_path / "reset", "--reset-status", "--json")
    assert "如：税务局、公安分局，" in json.loads(reset.stdout)["narrative"]["存在问题"]


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


def test_honours_are_said_from_the_overall_figures_without_the_offices_words(tmp_path):
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["文字素材"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "进展较大单位":
            row[1].value = None
    wb.save(tmp_path / "june.xlsx")
    text = as_sections(render_facts(analyse(compute(read_grids(tmp_path / "june.xlsx"))).facts))["总体情况"]
    assert "（六）6月份政务能力提升进展较大单位\n本月各窗口共收到群众和企业锦旗1面、表扬信1封。" in text
