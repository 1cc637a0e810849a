"""core/rules without a workbook: each mistake in a rule file and its exact Chinese message, statuses of small
months (district rules, flags, annexes present), staff confirmation, streaks and carried streaks. Expected
values and messages are written by hand from the rule file's wording."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from bulletin.core.recompute import AnnexResult
from bulletin.core.rules import (RowStatus, RuleError, Status, assess, fires, load_rules, streaks, worst,
                                 _months_between)
from bulletin.errors import ConfigError
from bulletin.spec import annex

BASE = {"params": {"线": {"value": 3, "explain": "说明"}},
        "rules": [{"id": "t", "sheet": "附件2", "when": "`事项总数` > 线", "status": "红", "name": "测试"}]}


def loaded(edit=None):
    data = copy.deepcopy(BASE)
    if edit:
        edit(data)
    return load_rules(data)


def refused(edit) -> str:
    with pytest.raises((RuleError, ConfigError)) as err:
        loaded(edit)
    return str(err.value)


def test_a_rule_file_loads_into_rules_and_params():
    rules = loaded()
    (rule,) = rules.rules
    assert (rule.id, rule.sheet, rule.scope, rule.when, rule.status, rule.name, rule.explain, rule.list_order,
            rule.list_limit) == ("t", "附件2", "department", "`事项总数` > 线", "红", "测试", "", "annex", None)
    assert rules.params["线"].value == 3.0 and rules.params["线"].explain == "说明" and rules.params["线"].name == "线"
    assert rules.names == {"t": "测试"} and rules.for_sheet("附件2") == [rule] and rules.for_sheet("附件1") == []
    with pytest.raises(KeyError):
        rules.get("nope")
    rules = loaded(lambda d: d["rules"][0].update(scope="total", list_order="pinyin", list_limit=0, explain=5))
    assert (rules.rules[0].scope, rules.rules[0].list_order, rules.rules[0].list_limit, rules.rules[0].explain) == (
        "total", "pinyin", 0, "5")
    assert load_rules({}).rules == () and load_rules({"params": None, "rules": None}).params == {}
    assert loaded(lambda d: d["params"].update(无说明={"value": 1})).params["无说明"].explain == ""


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(其他=1), "配置文件 rules.yaml 中“其他”有误：不认识的项；可用的项：params、rules、timeliness"),
    (lambda d: d.update(params=[1]), "配置文件 rules.yaml 中“params”有误：应是“名称: 值”的列表，现为“[1]”"),
    (lambda d: d["params"].update(线=3), "参数“线”应写成 {value: 数值, explain: 说明}"),
    (lambda d: d["params"].update(线={"explain": "x"}), "参数“线”应写成 {value: 数值, explain: 说明}"),
    (lambda d: d["params"].update(线={"value": 1, "note": "x"}), "参数“线”应写成 {value: 数值, explain: 说明}"),
    (lambda d: d["params"].update(线={"value": "很多"}),
     "配置文件 rules.yaml 中“参数 线 的 value”有误：应为数字，现为“很多”"),
    (lambda d: d.update(rules={"t": 1}), "配置文件 rules.yaml 中“rules”有误：应写成列表（每项一行，以“- ”开头），现为“{'t': 1}”"),
    (lambda d: d["rules"][0].pop("name"), "配置文件 rules.yaml 中“规则 t 的 name”有误：缺少此项"),
    (lambda d: d["rules"][0].update(when=["a"]), "配置文件 rules.yaml 中“规则 t 的 when”有误：应为文字，现为“['a']”"),
    (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "规则 t: 规则编号重复"),
    (lambda d: d["rules"][0].update(sheet="附件9"), "规则 t: 工作表“附件9”不存在"),
    (lambda d: d["rules"][0].update(status="绿"), "规则 t: 状态应为 红 或 黄"),
    (lambda d: d["rules"][0].update(scope="city"), "规则 t: scope 应为 department 或 total"),
    (lambda d: d["rules"][0].update(list_order="abc"), "规则 t: list_order 应为 annex 或 pinyin"),
    (lambda d: d["rules"][0].update(list_limit=-1), "规则 t: list_limit 应为 0 或正整数（0 表示全部列出）"),
    (lambda d: d["rules"][0].update(list_limit=True), "规则 t: list_limit 应为 0 或正整数（0 表示全部列出）"),
    (lambda d: d["rules"][0].update(list_limit=2.5), "规则 t: list_limit 应为 0 或正整数（0 表示全部列出）"),
    (lambda d: d["rules"][0].update(when="`事项总数` >"), "规则 t: 条件“`事项总数` >”无法解析：invalid syntax"),
    (lambda d: d["rules"][0].update(when="flag(\"别的\")"), "规则 t: flag() 的参数应为 应进驻大厅 之一（部门名录的列）"),
    (lambda d: d["rules"][0].update(when="flag(\"应进驻大厅\", 1)"), "规则 t: flag() 的参数应为 应进驻大厅 之一（部门名录的列）"),
    (lambda d: d["rules"][0].update(when="flag(x)"), "规则 t: flag() 的参数应为 应进驻大厅 之一（部门名录的列）"),
    (lambda d: d["rules"][0].update(when="prev.不存在 > 1"), "规则 t: “prev.不存在”不是附件2的列"),
    (lambda d: d["rules"][0].update(when="city.事项总数 > 1"), "规则 t: “city.事项总数”不是附件2的列"),
    (lambda d: d["rules"][0].update(when="未知 > 1"), "规则 t: 条件中的“未知”既不是附件2的列，也不是参数"),
    (lambda d: d["rules"][0].update(when="`未 知` > 1"), "规则 t: 条件中的“未 知”既不是附件2的列，也不是参数"),
    (lambda d: d["rules"][0].update(when="[1] == 1"), "规则 t: 条件“[1] == 1”使用了不支持的写法（List）"),
    (lambda d: d["rules"][0].update(when="len(`事项总数`) > 1"), "规则 t: 条件“len(`事项总数`) > 1”使用了不支持的写法（Call）"),
    (lambda d: d["rules"][0].update(when="max(x=1) > 1"), "规则 t: 条件“max(x=1) > 1”使用了不支持的写法（Call）"),
    (lambda d: d["rules"][0].update(when="`事项总数` is None"), "规则 t: 条件“`事项总数` is None”使用了不支持的写法（Is）"),
    (lambda d: d["rules"][0].update(when="None == `事项总数`"), "规则 t: 条件“None == `事项总数`”使用了不支持的写法（Constant）"),
    (lambda d: d["rules"][0].update(when="`事项总数` % 2 == 1"), "规则 t: 条件“`事项总数` % 2 == 1”使用了不支持的写法（Mod）"),
    (lambda d: d["rules"][0].update(when="os.path > 1"), "规则 t: 条件“os.path > 1”使用了不支持的写法（Attribute）"),
])
def test_each_mistake_in_a_rule_file_has_its_message(edit, message):
    assert refused(edit) == message


def test_a_rule_without_an_id_is_named_by_its_position():
    assert refused(lambda d: d["rules"].append({"sheet": "附件2"})) == \
        "配置文件 rules.yaml 中“规则 2 的 id”有误：缺少此项"
    assert refused(lambda d: d["rules"].append("x")) == "配置文件 rules.yaml 中“规则 2”有误：应是“名称: 值”的列表"


def test_city_columns_are_annex_5s_and_every_allowed_construct_loads():
    load_rules({"params": {}, "rules": [{"id": "c", "sheet": "附件2", "when": "city.主项覆盖率 > 1", "status": "黄",
                                        "name": "n"}]})
    ok = ("not (`事项总数` > 1 or -`即办件事项数` < 2.5) and abs(change.事项总数) >= 1 and total.事项总数 != 0 "
          "and max(1, 2) <= min(3, 4) and `事项总数` * 2 / 1 - 1 + 0 == 1 and in_sheet(\"附件8\") and flag(\"应进驻大厅\")")
    loaded(lambda d: d["rules"][0].update(when=ok))


@pytest.mark.parametrize("when, row, expected", [
    ("`事项总数` / `即办件事项数` > 1", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` / `即办件事项数` < 3", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` * `即办件事项数` == 8", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` - `即办件事项数` == 2", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` + `即办件事项数` == 6", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` + `即办件事项数` == 6", {"事项总数": 4, "即办件事项数": None}, False),
    ("-`事项总数` == -4", {"事项总数": 4}, True),
    ("-`事项总数` < 0", {"事项总数": None}, False),
    ("min(`事项总数`, 9) == 4", {"事项总数": 4}, True),
    ("max(`事项总数`, 9) == 9", {"事项总数": 4}, True),
    ("abs(`事项总数`) == 4", {"事项总数": -4}, True),
    ("max(`事项总数`, `即办件事项数`) == 4", {"事项总数": 4, "即办件事项数": None}, False),
    ("`事项总数` == 4 and `即办件事项数` == 2", {"事项总数": 4, "即办件事项数": 2}, True),
    ("`事项总数` == 4 and `即办件事项数` == 3", {"事项总数": 4, "即办件事项数": 2}, False),
    ("`事项总数` == 5 or `即办件事项数` == 3", {"事项总数": 4, "即办件事项数": 2}, False),
    ("`事项总数` == 5 or `即办件事项数` == 2", {"事项总数": 4, "即办件事项数": 2}, True),
    ("1 < `事项总数` < 5", {"事项总数": 4}, True),
    ("1 < `事项总数` < 4", {"事项总数": 4}, False),
    ("5 < `事项总数` < 9", {"事项总数": 4}, False),
    ("`事项总数` > 3 > `即办件事项数`", {"事项总数": 4, "即办件事项数": None}, False),
    ("`事项总数` >= 4", {"事项总数": 4}, True),
    ("`事项总数` <= 4", {"事项总数": 4}, True),
    ("`事项总数` <= 4", {"事项总数": 4.01}, False),
    ("`事项总数` > 4", {"事项总数": 4}, False),
    ("`事项总数` < 4", {"事项总数": 4}, False),
    ("`事项总数` == 线", {"事项总数": 3}, True),
    ("`事项总数` == 未给的参数", {"事项总数": 3}, False),
    ("prev.事项总数 == 3", {}, True),
    ("total.事项总数 == 30", {}, True),
    ("city.主项覆盖率 == 47.66", {}, True),
    ("change.事项总数 == -1", {"事项总数": 2}, True),
    ("in_sheet(\"附件8\")", {}, True),
    ("in_sheet(\"附件7\")", {}, False),
    ("flag(\"应进驻大厅\")", {}, True),
    ("`事项总数`", {"事项总数": None}, False),  # a missing value is false on its own too
    ("`事项总数` or `即办件事项数`", {"事项总数": None, "即办件事项数": None}, False),
    ("`事项总数` and 1", {"事项总数": 2}, True),
    ("`单位` == \"\"", {"单位": None}, True),
    ("\"\" == `单位`", {"单位": None}, True),
    ("`单位` < \"x\"", {"单位": "a"}, False),
    ("1 < `单位`", {"单位": "a"}, False),
])
def test_each_construct_evaluates(when, row, expected):
    rules = load_rules({"params": {"线": {"value": 3}, "未给的参数": {"value": 1}},
                        "rules": [{"id": "t", "sheet": "附件2", "when": when, "status": "红", "name": "n"}]})
    params = {k: v for k, v in rules.params.items() if k != "未给的参数"}
    got = fires(rules.get("t"), row, prev={"事项总数": 3}, city={"主项覆盖率": 47.66}, total={"事项总数": 30},
                params=params, present_in=["附件8"], flags=["应进驻大厅"])
    assert got is expected


def test_worst_status_and_status_labels():
    assert worst(["黄", "红", "绿"]) == "红" and worst(["绿", "黄"]) == "黄" and worst([]) == "绿"
    assert Status.of(" 红 ") is Status.RED and Status.of("蓝") is None and Status.of(None) is None
    assert Status.of(Status.YELLOW) is Status.YELLOW and Status.of("") is None
    assert Status.worst_of(["黄", None, "红"]) is Status.RED and Status.worst_of([None, ""]) is None
    assert Status.worst_of(["绿"]) is Status.GREEN
    assert str(Status.RED) == "红" and Status.GREEN.label == "绿"
    s = RowStatus(Status.YELLOW, Status.RED, ("a",), True, ("b",))
    assert s.as_dict() == {"status": "黄", "proposed": "红", "by_staff": True, "rules": ["a"]}
    assert s.naming_rules == ("b",) and RowStatus(Status.RED, Status.RED, ("a",)).naming_rules == ("a",)


RULES = load_rules({"params": {"线": {"value": 3}}, "rules": [
    {"id": "red", "sheet": "附件7", "when": "`已完成事项` == 0", "status": "红", "name": "红规则"},
    {"id": "yellow", "sheet": "附件7", "when": "`已完成事项` < 线", "status": "黄", "name": "黄规则"},
    {"id": "yellow2", "sheet": "附件7", "when": "`排查事项总数` > 100", "status": "黄", "name": "黄规则二"},
    {"id": "hall", "sheet": "附件7", "when": "flag(\"应进驻大厅\") and not in_sheet(\"附件8\")", "status": "黄",
     "name": "未派驻"},
    {"id": "still", "sheet": "附件7", "scope": "total", "when": "change.已完成事项 == 0", "status": "黄",
     "name": "全区无进展"},
    {"id": "drop", "sheet": "附件7", "when": "change.已完成事项 < 0", "status": "红", "name": "下降"}]})


def month(done: dict[str, int], total_done: int | None = None, in_annex8=()):
    """A month of 附件7 (each department 10 items, `done` of them completed) and, for `in_annex8`, rows of 附件8."""
    rows = [{"部门": d, "_kind": "department", "排查事项总数": 10, "已完成事项": n} for d, n in done.items()]
    rows.append({"部门": "安阳市", "_kind": "reference", "排查事项总数": 1, "已完成事项": 0})
    total = {"排查事项总数": 10 * len(done), "已完成事项": sum(done.values()) if total_done is None else total_done}
    results = {"附件7": AnnexResult(annex(7), rows, total)}
    if in_annex8:
        results["附件8"] = AnnexResult(annex(8), [{"部门": d, "_kind": "department"} for d in in_annex8], None)
    return SimpleNamespace(results=results)


def test_statuses_of_a_month():
    a = assess(month({"甲": 0, "乙": 2, "丙": 5, "丁": 0}, in_annex8=["丁"]), RULES, flags={"丁": {"应进驻大厅"}})
    rows = a.statuses["附件7"]
    assert rows["甲"] == RowStatus(Status.RED, Status.RED, ("red", "yellow"))
    assert rows["乙"] == RowStatus(Status.YELLOW, Status.YELLOW, ("yellow",))
    assert rows["丙"] == RowStatus(Status.GREEN, Status.GREEN, ())
    assert rows["丁"] == RowStatus(Status.RED, Status.RED, ("red", "yellow"))  # in 附件8: not 未派驻
    assert "安阳市" not in rows and rows["全区"] == RowStatus(Status.GREEN, Status.GREEN, ())  # no last month
    assert a.statuses["附件8"] == {"丁": RowStatus(Status.GREEN, Status.GREEN, ())}
    assert a.fired("red") == ["甲", "丁"] and a.keys() == {("附件7", "甲", "red"), ("附件7", "甲", "yellow"),
                                                          ("附件7", "乙", "yellow"), ("附件7", "丁", "red"),
                                                          ("附件7", "丁", "yellow")}
    assert a.of("附件7", "乙").status is Status.YELLOW and a.of("附件9", "乙") is None and a.of("附件7", "戊") is None
    assert a.as_dict()["附件7"]["乙"] == {"status": "黄", "proposed": "黄", "by_staff": False, "rules": ["yellow"]}
    assert a.named(RULES.get("yellow")) == ["甲", "乙", "丁"]
    other = load_rules({"rules": [{"id": "o", "sheet": "附件1", "when": "`事项总数` > 0", "status": "红", "name": "n"}]})
    assert a.named(other.get("o")) == []  # a sheet the month does not have names nobody


def test_flags_and_annex_8_decide_the_unstationed():
    a = assess(month({"甲": 5, "乙": 5, "丙": 5}, in_annex8=["乙"]), RULES, flags={"甲": {"应进驻大厅"}, "乙": {"应进驻大厅"}})
    assert a.fired("hall") == ["甲"]


def test_district_and_last_month_rules():
    previous = month({"甲": 4, "乙": 5})
    a = assess(month({"甲": 3, "乙": 6}), RULES, previous)
    assert a.statuses["附件7"]["全区"] == RowStatus(Status.YELLOW, Status.YELLOW, ("still",))
    assert a.fired("drop") == ["甲"] and "全区" not in a.fired("drop")
    a = assess(month({"甲": 3, "乙": 6}), RULES, previous, district="本区")
    assert "本区" in a.statuses["附件7"] and "全区" not in a.statuses["附件7"]
    a = assess(month({"甲": 3, "乙": 7}), RULES, previous)
    assert a.statuses["附件7"]["全区"].rules == ()


def test_staff_confirmation():
    a = assess(month({"甲": 0, "乙": 2, "丙": 5}), RULES)
    c = a.confirm({"附件7": {"甲": "绿", "乙": "黄", "丙": "红"}}, RULES)
    assert c.statuses["附件7"]["甲"] == RowStatus(Status.GREEN, Status.RED, ("red", "yellow"), True, ("red", "yellow"))
    assert c.statuses["附件7"]["乙"] is a.statuses["附件7"]["乙"]  # the same as proposed: not staff's
    assert c.statuses["附件7"]["丙"] == RowStatus(Status.RED, Status.GREEN, (), True, ("red",))
    assert c.named(RULES.get("red")) == ["丙"] and c.named(RULES.get("yellow")) == ["乙"]
    c = a.confirm({"附件7": {"丙": "黄", "乙": "红", "甲": "无效"}}, RULES)
    assert c.statuses["附件7"]["丙"].named_under == ("yellow",)  # the sheet's first yellow department rule
    assert c.statuses["附件7"]["乙"].named_under == ("yellow", "red")
    assert c.statuses["附件7"]["甲"] is a.statuses["附件7"]["甲"]
    c = a.confirm({"附件7": {"甲": "黄"}}, RULES)  # a fired rule already has that colour
    assert c.statuses["附件7"]["甲"].named_under == ("red", "yellow")
    assert a.confirm({}, RULES).statuses == a.statuses
    # 附件8 has no rule at all: a unit staff raise to 红 there is named under none
    a = assess(month({"甲": 5}, in_annex8=["甲"]), RULES)
    c = a.confirm({"附件8": {"甲": "红"}}, RULES)
    assert c.statuses["附件8"]["甲"] == RowStatus(Status.RED, Status.GREEN, (), True, ())


def test_streaks_count_back_without_a_gap():
    def assessed(done):
        return assess(month(done), RULES)
    history = [assessed({"甲": 0, "乙": 0}), assessed({"甲": 5, "乙": 0}), assessed({"甲": 0, "乙": 0})]
    now = assessed({"甲": 0, "乙": 0, "丙": 0})
    got = streaks(history, now)
    assert got[("附件7", "甲", "red")] == 2 and got[("附件7", "乙", "red")] == 4
    assert got[("附件7", "丙", "red")] == 1 and got[("附件7", "乙", "yellow")] == 4
    assert streaks([], now)[("附件7", "乙", "red")] == 1


def test_carried_streaks_lengthen_one_that_meets_them():
    now = assess(month({"甲": 0, "乙": 0, "丙": 0}), RULES)
    history = [assess(month({"甲": 0, "乙": 5, "丙": 0}), RULES)]  # 2023-05
    carried = {("甲", "red"): [SimpleNamespace(month="2023-04", months=5)],  # ends the month before the streak
               ("乙", "red"): [SimpleNamespace(month="2023-04", months=5)],  # 乙's streak starts in June
               ("丙", "red"): [SimpleNamespace(month="2023-05", months=3)]}  # inside the streak
    got = streaks(history, now, month="2023-06", carried=carried)
    assert got[("附件7", "甲", "red")] == 7  # 2022-12 … 2023-04 carried, then May and June
    assert got[("附件7", "乙", "red")] == 1
    assert got[("附件7", "丙", "red")] == 4  # 2023-03 … 2023-05 carried, then June
    assert streaks(history, now, carried=carried)[("附件7", "甲", "red")] == 2  # no month: nothing carried
    far = {("甲", "red"): [SimpleNamespace(month="2023-01", months=5)]}
    assert streaks(history, now, month="2023-06", carried=far)[("附件7", "甲", "red")] == 2
    same = {("甲", "red"): [SimpleNamespace(month="2023-06", months=9)]}  # this month itself: not before it
    assert streaks(history, now, month="2023-06", carried=same)[("附件7", "甲", "red")] == 2


def test_months_between():
    assert _months_between("2023-05", "2023-06") == 1
    assert _months_between("2022-12", "2023-01") == 1
    assert _months_between("2022-06", "2023-06") == 12
    assert _months_between("2023-06", "2023-06") == 0
    assert _months_between("2023-07", "2023-06") == -1


def test_city_and_district_rows_in_department_and_district_rules():
    rules = load_rules({"params": {"线": {"value": 50}}, "rules": [
        {"id": "below", "sheet": "附件5", "when": "主项覆盖率 < city.主项覆盖率", "status": "黄", "name": "a"},
        {"id": "under", "sheet": "附件5", "when": "主项覆盖率 < total.主项覆盖率", "status": "黄", "name": "b"},
        {"id": "district", "sheet": "附件5", "scope": "total", "status": "红", "name": "c",
         "when": "主项覆盖率 < city.主项覆盖率 and 主项覆盖率 < 线 and total.主项覆盖率 == 主项覆盖率"}]})
    rows = [{"部门": "city", "_kind": "reference", "主项覆盖率": 47.66},  # the city row comes first, as printed
            {"部门": "甲", "_kind": "department", "主项覆盖率": 30}, {"部门": "乙", "_kind": "department", "主项覆盖率": 45}]
    data = SimpleNamespace(results={"附件5": AnnexResult(annex(5), rows, {"主项覆盖率": 40})})
    a = assess(data, rules)
    assert a.statuses["附件5"]["甲"].rules == ("below", "under")
    assert a.statuses["附件5"]["乙"].rules == ("below",)
    assert a.statuses["附件5"]["全区"] == RowStatus(Status.RED, Status.RED, ("district",))
    assert "city" not in a.statuses["附件5"]
