"""Laggard rules: every rule of data/rules.yaml fires on a row that breaks it and not on one that
does not; the rule language rejects unknown names and constructs; statuses on the June data."""
from __future__ import annotations

import copy

import pytest

from bulletin.errors import ConfigError
import yaml

from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import DATA_DIR, load_rules_file
from bulletin.core.rules import RowStatus, RuleError, Status, assess, fires, load_rules
from bulletin.engine import compute

from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
CITY = {"主项覆盖率": 47.66}

# rule id -> (row that fires, row that does not, extra keyword arguments)
CASES = {
    "a1.instant_zero": ({"即办件事项占比": 0}, {"即办件事项占比": 3.33}, {}),
    "a1.instant_low": ({"即办件事项占比": 19.05}, {"即办件事项占比": 44.76}, {}),
    "a2.compress_red": ({"压缩比例": 16.65}, {"压缩比例": 87.69}, {}),
    "a2.compress_yellow": ({"压缩比例": 87.69}, {"压缩比例": 92.93}, {}),
    "a2.compress_drop": ({"压缩比例": 16.65}, {"压缩比例": 60.0}, {"prev": {"压缩比例": 63.45}}),
    "a4.mount_low": ({"资源挂载率": 25.81}, {"资源挂载率": 62.39}, {}),
    "a4.mount_stalled": ({"资源挂载率": 50, "已挂载资源目录数": 3, "已发布资源目录数": 6},
                         {"资源挂载率": 66.67, "已挂载资源目录数": 4, "已发布资源目录数": 6},
                         {"prev": {"已挂载资源目录数": 3, "已发布资源目录数": 6}}),
    "a4.district_stalled": ({"已发布资源目录数": 117, "已挂载资源目录数": 73, "资源数据总量": 665156},
                            {"已发布资源目录数": 117, "已挂载资源目录数": 74, "资源数据总量": 665156},
                            {"prev": {"已发布资源目录数": 117, "已挂载资源目录数": 73, "资源数据总量": 665156}}),
    "a5.main_zero": ({"主项覆盖率": 0}, {"主项覆盖率": 12.5}, {"city": CITY}),
    "a5.below_city": ({"主项覆盖率": 12.5}, {"主项覆盖率": 50}, {"city": CITY}),
    "a6.hall_bypass": ({"部门报送数据": 20946, "电子监察数据": 45, "综窗办理数据": 40},
                       {"部门报送数据": 119, "电子监察数据": 125, "综窗办理数据": 122}, {}),
    # only a unit the registry marks 应进驻大厅 can be unstationed (the tables cannot say which should be)
    "a6.hall_unstationed": ({"综窗办理数据": 58}, {"综窗办理数据": 58}, {"present_in": ["附件6"]}),
    "a7.not_started": ({"完成率": 0, "备注": None}, {"完成率": 0, "备注": "无需排查"}, {}),
    "a8.all_on_leave": ({"请假人数比例": 100}, {"请假人数比例": 88.89}, {}),
    "a8.absent": ({"旷工人数": 1}, {"旷工人数": 0}, {}),
    "a8.outing_high": ({"累计公出（小时）": 79}, {"累计公出（小时）": 14.5}, {}),
}


def test_every_shipped_rule_has_a_case():
    assert {r.id for r in load_rules_file().rules} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_only_when_broken(rule_id):
    rules = load_rules_file()
    rule = rules.get(rule_id)
    bad, good, kw = CASES[rule_id]
    flags = {"flags": ["应进驻大厅"]} if rule_id == "a6.hall_unstationed" else {}
    assert fires(rule, bad, params=rules.params, **kw, **flags)
    assert not fires(rule, good, params=rules.params, **kw)


def test_missing_value_never_fires():
    rules = load_rules_file()
    assert not fires(rules.get("a2.compress_red"), {"压缩比例": None}, params=rules.params)
    assert not fires(rules.get("a2.compress_drop"), {"压缩比例": 16.65}, params=rules.params)  # no last month


def _file():
    with open(DATA_DIR / "rules.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["rules"][0].update(when="即办件占比 == 0"), "即办件占比"),
    (lambda d: d["rules"][0].update(when="__import__('os')"), "不支持"),
    (lambda d: d["rules"][0].update(when="prev.不存在的列 > 1"), "不存在的列"),
    (lambda d: d["rules"][0].update(whn="x"), "whn.*不认识"),
    (lambda d: d["rules"][0].update(status="蓝"), "红 或 黄"),
    (lambda d: d["rules"][0].update(sheet="附件9"), "附件9"),
    (lambda d: d["params"].update(新参数={"value": 1, "note": "x"}), "新参数"),
    (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "重复"),
])
def test_rule_file_mistakes_are_refused_in_chinese(mutate, words):
    data = _file()
    mutate(data)
    with pytest.raises((RuleError, ConfigError), match=words):
        load_rules(data)


# the condition language, construct by construct, on 附件2's columns (事项总数 a, 即办件事项数 b) and a
# parameter 线 = 3: (condition, row, last month's row, fires?)
N, B = "`事项总数`", "`即办件事项数`"
LANGUAGE = [
    (f"{N} + {B} > 5", {"事项总数": 4, "即办件事项数": 2}, None, True),
    (f"{N} - {B} * 2 < 0", {"事项总数": 3, "即办件事项数": 2}, None, True),
    (f"{N} / {B} >= 线", {"事项总数": 9, "即办件事项数": 3}, None, True),
    (f"{N} / {B} >= 0", {"事项总数": 9, "即办件事项数": 0}, None, False),  # a division by 0 is missing
    (f"-{N} < -{B}", {"事项总数": 5, "即办件事项数": 2}, None, True),
    (f"0 < {N} <= {B} < 10", {"事项总数": 2, "即办件事项数": 2}, None, True),
    (f"0 < {N} <= {B} < 10", {"事项总数": 3, "即办件事项数": 2}, None, False),
    (f"max({N}, {B}) == 7 and min({N}, {B}) == 2", {"事项总数": 2, "即办件事项数": 7}, None, True),
    (f"abs(change.事项总数) > 2", {"事项总数": 2}, {"事项总数": 6}, True),
    (f"change.事项总数 < 0", {"事项总数": 2}, None, False),  # no last month: no change
    (f"prev.事项总数 > {N}", {"事项总数": 2}, {"事项总数": 6}, True),
    (f"not {N} > 1", {"事项总数": 1}, None, True),
    (f"not ({N} > 1 or {B} > 1)", {"事项总数": 1, "即办件事项数": 5}, None, False),
    (f"{N} > 1 or {B} > 1", {"事项总数": None, "即办件事项数": 5}, None, True),
    (f"{N} < 1", {"事项总数": None}, None, False),  # blank: never fires
    (f"{N} != 1", {"事项总数": float("nan")}, None, False),
    (f"max({N}, {B}) > 0", {"事项总数": None, "即办件事项数": 5}, None, False),
    ('`单位` == ""', {"单位": None}, None, True),  # a blank text cell compares as ""
    ('`单位` != "税务局"', {"单位": "公安分局"}, None, True),
    ('`单位` > 1', {"单位": "公安分局"}, None, False),  # text is not ordered against numbers
]


@pytest.mark.parametrize("when, row, prev, expected", LANGUAGE, ids=[c[0] for c in LANGUAGE])
def test_condition_language(when, row, prev, expected):
    rules = load_rules({"params": {"线": {"value": 3}},
                        "rules": [{"id": "t", "sheet": "附件2", "when": when, "status": "红", "name": "测试"}]})
    assert fires(rules.get("t"), row, prev=prev, params=rules.params) is expected


def test_thresholds_are_data():
    data = _file()
    data["params"]["压缩比例红线"]["value"] = 20
    rules = load_rules(data)
    june = compute(read_grids(SAMPLE))
    fired = assess(june, rules).fired("a2.compress_red")
    assert fired == ["公安分局"]  # 税务局 (61.74%) is above a 20% red line


def test_june_statuses():
    june, may = compute(read_grids(SAMPLE)), compute(read_grids(MAY))
    a = assess(june, load_rules_file(), may)
    assert a.statuses["附件2"]["公安分局"] == RowStatus(Status.RED, Status.RED, ("a2.compress_red", "a2.compress_drop"))
    assert a.statuses["附件2"]["公安分局"].as_dict() == {"status": "红", "proposed": "红", "by_staff": False,
                                                   "rules": ["a2.compress_red", "a2.compress_drop"]}
    assert a.statuses["附件2"]["税务局"].status is Status.RED
    assert a.statuses["附件2"]["教育局"] == RowStatus(Status.GREEN, Status.GREEN, ())
    assert set(a.fired("a7.not_started")) == {"公安分局", "医保局", "税务局", "人社局", "残联"}
    assert "a4.district_stalled" in a.statuses["附件4"]["全区"].rules
    # the June text names 退役军人事务局 and 残联: the rule proposes a superset
    assert {"退役军人事务局", "残联"} <= set(a.fired("a6.hall_bypass"))
