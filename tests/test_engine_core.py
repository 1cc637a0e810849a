"""engine.py's wiring without a workbook: thresholds and 环比单位 from the 参数 sheet over the staff files, where
each setting comes from, and streaks carried in by the registry. Expected values are written by hand."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bulletin.core.registry import CarriedStreak
from bulletin.engine import ParamError, carried_streaks, ratio_unit_for, rules_for, setting_sources
from bulletin.config import load_rules_file


def test_a_threshold_in_the_param_sheet_overrides_rules_yaml():
    rules = rules_for({"压缩比例红线": "70", "挂载率黄线": 55.5, "即办件占比黄线": None, "压缩比例黄线": "  "})
    values = {n: p.value for n, p in rules.params.items()}
    assert values["压缩比例红线"] == 70.0 and values["挂载率黄线"] == 55.5
    assert values["即办件占比黄线"] == 30 and values["压缩比例黄线"] == 90  # blank: the file's
    assert rules.params["压缩比例红线"].explain == "承诺时限压缩比例低于此值（%）的单位标红"
    assert rules.rules == load_rules_file().rules
    assert rules_for({}).params == load_rules_file().params
    assert rules_for({"不是参数": 5}).params == load_rules_file().params


@pytest.mark.parametrize("raw", ["很多", "#N/A", True])
def test_a_threshold_that_is_not_a_number_is_refused(raw):
    with pytest.raises(ParamError) as err:
        rules_for({"压缩比例红线": raw})
    assert str(err.value) == f"“参数”表中 压缩比例红线 的值“{raw}”不是数字"


def test_the_ratio_unit():
    assert ratio_unit_for({}) == "%" and ratio_unit_for({"环比单位": None}) == "%"
    assert ratio_unit_for({"环比单位": " 个百分点 "}) == "个百分点" and ratio_unit_for({"环比单位": "%"}) == "%"
    with pytest.raises(ParamError) as err:
        ratio_unit_for({"环比单位": "percent"})
    assert str(err.value) == "“参数”表中 环比单位 应为“%”或“个百分点”，现为“percent”"


def test_where_each_setting_comes_from():
    data = SimpleNamespace(params={"压缩比例红线": 70.5, "挂载率黄线": "55", "环比单位": "个百分点"},
                           param_cells={"压缩比例红线": "B4", "挂载率黄线": "B7", "环比单位": "B12"})
    got = {name: (value, source) for name, value, source in setting_sources(data)}
    assert got["压缩比例红线"] == (70.5, "工作簿“参数”表 B4")
    assert got["挂载率黄线"] == (55, "工作簿“参数”表 B7") and isinstance(got["挂载率黄线"][0], int)
    assert got["即办件占比黄线"] == (30, "rules.yaml") and isinstance(got["即办件占比黄线"][0], int)
    assert got["环比单位"] == ("个百分点", "工作簿“参数”表 B12")
    assert list(got)[-1] == "环比单位" and len(got) == 9
    plain = {name: (value, source) for name, value, source in setting_sources(SimpleNamespace(params={},
                                                                                              param_cells={}))}
    assert plain["环比单位"] == ("%", "settings.yaml")


def test_streaks_carried_in_by_the_registry():
    rules = load_rules_file()
    by_name = CarriedStreak("事项进厅但未派驻人员", "2023-05", 5)
    by_id = CarriedStreak("a8.absent", "2023-04", 2)
    registry = SimpleNamespace(departments=[SimpleNamespace(name="水利局", carried=(by_name, by_id)),
                                            SimpleNamespace(name="残联", carried=())])
    assert carried_streaks(registry, rules) == {("水利局", "a6.hall_unstationed"): [by_name],
                                                ("水利局", "a8.absent"): [by_id]}
    wrong = SimpleNamespace(departments=[SimpleNamespace(name="水利局", carried=(CarriedStreak("没有", "2023-05", 1),))])
    with pytest.raises(ParamError) as err:
        carried_streaks(wrong, rules)
    assert str(err.value) == ("部门名录中“水利局”的“既往连续”写的规则“没有”不存在"
                              "（可写规则名称，如“即办件占比为0”，或规则编号）")
