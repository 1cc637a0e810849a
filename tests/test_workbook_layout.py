"""The input layout (bulletin template = bulletin.xlsm's sheets) and the engine honouring its 参数 and 部门 sheets."""
from __future__ import annotations

import csv

import openpyxl
import pytest

from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import DATA_DIR
from bulletin.engine import ParamError, analyse, compute
from bulletin.narrative import render_facts
from bulletin.actions import template
from conftest import SAMPLE

ROOT_SHEETS = ["控制台", "总体情况", *(f"附件{i}" for i in range(1, 9)), "部门", "参数", "文字素材", "问题文本", "校验结果"]


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    return template("2023-07", tmp_path_factory.mktemp("t") / "2023-07.xlsx").output


def test_template_has_every_sheet_in_order(blank):
    assert openpyxl.load_workbook(blank).sheetnames == ROOT_SHEETS


def test_annexes_are_excel_tables_with_computed_columns_styled_apart(blank):
    wb = openpyxl.load_workbook(blank)
    ws = wb["附件1"]
    (name, ref), = ws.tables.items()
    assert (name, ref.split(":")[0]) == ("附件1表", "A2")
    headers = [c.value for c in ws[2]]
    assert headers == ["序号", "单位", "事项总数", "不见面审批事项占比", "即办件事项数", "即办件事项占比", "状态", "触发规则"]
    input_fill, computed_fill = ws["E4"].fill.fgColor.rgb, ws["F4"].fill.fgColor.rgb
    assert computed_fill.endswith("F2F2F2") and input_fill != computed_fill
    assert ws["F4"].number_format == "0.00%"
    assert {r.formula[0] for r in ws.conditional_formatting._cf_rules[next(iter(ws.conditional_formatting._cf_rules))]} \
        == {'$G3="红"', '$G3="黄"'}
    # annex 5's merged three-row header cannot be a table: a defined name marks its block instead
    assert not wb["附件5"].tables and wb.defined_names["附件5表"].attr_text.startswith("'附件5'!$A$5:")


def test_template_reads_back_without_layout_problems(blank):
    data = compute(read_grids(blank))
    assert data.month == "2023-07"
    assert {p.rule for p in data.problems} <= {"value.missing", "scalar.missing"}


def test_department_sheet_has_the_csv_columns_and_no_copy_of_its_rows(blank):
    with open(DATA_DIR / "departments.csv", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    rows = [list(r) for r in openpyxl.load_workbook(blank)["部门"].iter_rows(values_only=True)]
    assert rows[0][:len(header) + 1] == [*header, "停用"] and "只写与部门名录不同之处" in rows[0][len(header) + 2]
    assert all(v is None for r in rows[1:] for v in r)  # departments.csv stays the one source


def test_param_sheet_leaves_every_value_to_the_staff_files(blank):
    rows = {r[0]: r[1:] for r in openpyxl.load_workbook(blank)["参数"].iter_rows(min_row=2, values_only=True)}
    assert {"压缩比例红线", "环比单位", "发文字号", "印发日期", "发文机关标志", "标题", "主送", "印发机关"} <= set(rows)
    assert all(value is None for value, _ in rows.values())  # an empty cell: the file decides
    assert "rules.yaml 中为“65”" in rows["压缩比例红线"][1] and "settings.yaml 中为“%”" in rows["环比单位"][1]


def test_editing_a_staff_file_changes_a_workbook_made_before(tmp_path, monkeypatch, blank):
    """A threshold changed in rules.yaml after the workbook was made takes effect (nothing copied it)."""
    from bulletin import config

    folder = tmp_path / "office"
    folder.mkdir()
    text = (DATA_DIR / "rules.yaml").read_text(encoding="utf-8").replace("压缩比例红线:     {value: 65,",
                                                                         "压缩比例红线:     {value: 99,")
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(folder))
    from bulletin.engine import rules_for

    assert rules_for(compute(read_grids(SAMPLE)).params).params["压缩比例红线"].value == 99


def _with_sheet(tmp_path, name, rows):
    wb = openpyxl.load_workbook(SAMPLE)
    if name in wb.sheetnames:  # the sample's own sheet is replaced by exactly these rows
        del wb[name]
    ws = wb.create_sheet(name)
    for r in rows:
        ws.append(r)
    path = tmp_path / "with.xlsx"
    wb.save(path)
    return path


def test_threshold_in_param_sheet_overrides_rules_yaml(tmp_path):
    assert analyse(compute(read_grids(SAMPLE))).assessment.statuses["附件2"]["公安分局"].status == "红"
    path = _with_sheet(tmp_path, "参数", [["参数", "值", "说明"], ["压缩比例红线", 10, ""], ["压缩比例黄线", "12", ""]])
    statuses = analyse(compute(read_grids(path))).assessment.statuses["附件2"]
    assert statuses["公安分局"].status == "绿"  # 16.65% is above both lines now


def test_ratio_unit_in_param_sheet_changes_the_wording(tmp_path):
    may = compute(read_grids(SAMPLE.parents[1] / "2023-05" / "通报数据-2023-05.xlsx"))
    path = _with_sheet(tmp_path, "参数", [["参数", "值", "说明"], ["环比单位", "个百分点", ""]])
    text = "\n".join(p.text for p in render_facts(analyse(compute(read_grids(path)), {may.month: may}).facts))
    assert "较5月份降低2.51个百分点" in text and "降低2.51%" not in text


@pytest.mark.parametrize("rows, words", [
    ([["压缩比例红线", "很低"]], "压缩比例红线"),
    ([["环比单位", "百分比"]], "环比单位"),
])
def test_unusable_param_is_refused_in_chinese(tmp_path, rows, words):
    path = _with_sheet(tmp_path, "参数", [["参数", "值", "说明"], *rows])
    with pytest.raises(ParamError, match=words):
        analyse(compute(read_grids(path)))


def test_department_sheet_adds_to_the_registry_and_never_replaces_it(tmp_path):
    """A whole copy of departments.csv without 公安分局 (how the sheet was once used) changes nothing: a unit
    the sheet does not name keeps the office registry's row."""
    with open(DATA_DIR / "departments.csv", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    kept = [r for r in rows if r[0] != "公安分局"]
    data = compute(read_grids(_with_sheet(tmp_path, "部门", kept)))
    assert [(p.where, p.rule) for p in data.problems] == [("附件1!F25", "printed.ratio_mismatch"),
                                                         ("附件6!C34", "printed.total_mismatch")]
    assert data.registry.resolve("公安分局") == "公安分局"


def test_department_sheet_short_names_reach_the_text_and_the_charts(tmp_path):
    """The registry the month was read with (the 部门 sheet) also names departments in facts and charts."""
    from bulletin import actions
    from bulletin.actions.charts import overview_of

    with open(DATA_DIR / "departments.csv", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    short = rows[0].index("简称")
    for r in rows[1:]:
        if r[0] == "金融局":
            r[short] = "区金融工作局"
    outcome = actions.narrate(_with_sheet(tmp_path, "部门", rows))
    assert "区金融工作局" in outcome.analysis.facts.laggards["a5.main_zero"]
    assert "金融办" not in outcome.analysis.facts.laggards["a5.main_zero"]
    bar = next(b for b in overview_of(outcome.analysis, {}).bars if b.number == 5)
    assert "区金融工作局" in bar.labels and "金融办" not in bar.labels


def test_check_says_where_each_setting_comes_from(tmp_path):
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["参数"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "压缩比例红线")
    ws.cell(row, 2).value = 70
    wb.save(tmp_path / "june.xlsx")
    from bulletin.actions import check

    settings = {s["name"]: s for s in check(tmp_path / "june.xlsx").json()["settings"]}
    assert settings["压缩比例红线"] == {"name": "压缩比例红线", "value": 70, "source": f"工作簿“参数”表 B{row}"}
    assert settings["压缩比例黄线"]["source"] == "rules.yaml" and settings["环比单位"]["source"] == "settings.yaml"
