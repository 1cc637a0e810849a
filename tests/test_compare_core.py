"""core/compare on small months made by hand: every record of a sheet (departments, references, the district,
rows new and gone, key columns), the scalars, the drivers. Expected values are written by hand."""
from __future__ import annotations

from types import SimpleNamespace

from bulletin.core.compare import compare
from bulletin.core.recompute import AnnexResult
from bulletin.spec import annex

A7 = annex(7)  # 排查事项总数, 已完成事项, 未完成事项 (computed), 完成率 (ratio)


def row7(dept: str, total: int, done: int, kind: str = "department") -> dict:
    return {"部门": dept, "_kind": kind, "排查事项总数": total, "已完成事项": done, "未完成事项": total - done,
            "完成率": round(done * 100 / total, 2) if total else None}


def month(name: str | None, rows7: list[dict], *, total7: dict | None = None, rows3=None, scalars=None):
    results = {"附件7": AnnexResult(A7, rows7, total7)}
    if rows3 is not None:
        results["附件3"] = AnnexResult(annex(3), rows3, None)
    return SimpleNamespace(month=name, results=results, scalars=scalars or {})


def records(c, **match) -> list[dict]:
    return [r for r in c.records if all(r[k] == v for k, v in match.items())]


def test_every_department_column_and_the_district_is_compared():
    prev = month("2023-05", [row7("甲", 10, 4), row7("乙", 8, 8)], total7={"排查事项总数": 18, "已完成事项": 12,
                                                                       "未完成事项": 6, "完成率": 66.67})
    cur = month("2023-06", [row7("甲", 10, 6), row7("乙", 8, 8), row7("安阳市", 100, 50, "reference")],
                total7={"排查事项总数": 18, "已完成事项": 14, "未完成事项": 4, "完成率": 77.78})
    c = compare(cur, prev)
    assert (c.month, c.previous_month) == ("2023-06", "2023-05")
    a = c.department_change("附件7", "甲", "已完成事项")
    assert a == {"sheet": "附件7", "scope": "department", "department": "甲", "key": "", "column": "已完成事项",
                 "type": "count", "current": 6, "previous": 4, "change": 2, "change_pct": 50.0, "direction": "上升",
                 "from_zero": False, "to_zero": False}
    ratio = c.department_change("附件7", "甲", "完成率")
    assert (ratio["type"], ratio["change"], ratio["change_pct"]) == ("ratio", 20.0, None)  # pp, never a % of a %
    assert c.department_change("附件7", "乙", "完成率")["direction"] == "无变化"
    assert [r["column"] for r in records(c, department="甲")] == ["排查事项总数", "已完成事项", "未完成事项", "完成率"]
    city = records(c, department="安阳市")
    assert {r["scope"] for r in city} == {"reference"} and {r["direction"] for r in city} == {"新增"}
    total = c.total_change("附件7", "完成率")
    assert total["scope"] == "total" and total["department"] == "全区" and total["key"] == "" and total["type"] == "ratio"
    assert (total["current"], total["previous"], total["change"], total["change_pct"]) == (77.78, 66.67, 11.11, None)
    assert c.total_change("附件7", "已完成事项")["change"] == 2
    assert c.total_change("附件1", "事项总数") is None and c.department_change("附件7", "丙", "完成率") is None
    assert len(c.records) == 4 * 3 + 4  # 甲, 乙, 安阳市 and the district, four columns each
    assert c.new_departments == {"附件7": []} and c.missing_departments == {"附件7": []}
    # 甲's 2 more done items move the district 2/18 = 11.11 pp
    assert [(d.department, d.effect, d.previous, d.current) for d in c.drivers["附件7"]["完成率"]] == [
        ("甲", 11.11, 40.0, 60.0), ("乙", 0.0, 100.0, 100.0)]
    assert list(c.drivers["附件7"]) == ["完成率"]


def test_new_and_gone_departments_are_listed_in_their_order_not_zero_filled():
    prev = month("2023-05", [row7("甲", 10, 4), row7("丁", 5, 5), row7("乙", 8, 8)])
    cur = month("2023-06", [row7("丙", 3, 0), row7("甲", 10, 4), row7("戊", 2, 1)])
    c = compare(cur, prev)
    assert c.new_departments == {"附件7": ["丙", "戊"]} and c.missing_departments == {"附件7": ["丁", "乙"]}
    new = records(c, department="丙")
    assert {r["direction"] for r in new} == {"新增"} and {r["previous"] for r in new} == {None}
    assert [r["current"] for r in new] == [3, 0, 3, 0.0]
    gone = records(c, department="丁")
    assert [(r["scope"], r["current"], r["previous"], r["direction"], r["change"]) for r in gone] == [
        ("department", None, 5, "缺报", None), ("department", None, 5, "缺报", None),
        ("department", None, 0, "缺报", None), ("department", None, 100.0, "缺报", None)]
    assert gone[0]["change_pct"] is None and gone[0]["key"] == "" and gone[0]["type"] == "count"
    assert [r["department"] for r in c.records if r["direction"] == "缺报"] == ["丁"] * 4 + ["乙"] * 4
    assert c.drivers == {}  # no district rows: nothing to split


def test_a_sheet_new_this_month_has_no_previous_values():
    prev = month("2023-05", [row7("甲", 10, 4)])
    prev.results = {}
    cur = month("2023-06", [row7("甲", 10, 6)], total7={"排查事项总数": 10, "已完成事项": 6, "未完成事项": 4,
                                                     "完成率": 60.0})
    c = compare(cur, prev)
    assert {r["direction"] for r in records(c, scope="department")} == {"新增"}
    total = c.total_change("附件7", "完成率")
    assert total["previous"] is None and total["direction"] == "无数据"
    assert c.drivers == {"附件7": {"完成率": []}}
    assert c.new_departments == {"附件7": ["甲"]} and c.missing_departments == {"附件7": []}


def test_rows_with_a_key_column_are_matched_by_department_and_key():
    def row3(dept, kind, signed, unsigned=0):
        return {"部门": dept, "_kind": "department", "证照类型名称": kind, "已签章数量": signed, "未签章数量": unsigned,
                "证照总量": signed + unsigned}
    prev = month("2023-05", [], rows3=[row3("甲", "营业执照", 10), row3("甲", "许可证", 5)])
    cur = month("2023-06", [], rows3=[row3("甲", "营业执照", 12), row3("甲", "备案证", 1)])
    c = compare(cur, prev)
    licence = [r for r in records(c, sheet="附件3", column="已签章数量")]
    assert [(r["key"], r["current"], r["previous"], r["direction"]) for r in licence] == [
        ("营业执照", 12, 10, "上升"), ("备案证", 1, None, "新增"), ("许可证", None, 5, "缺报")]
    assert c.new_departments["附件3"] == [] and c.missing_departments["附件3"] == []  # 甲 reports both months


def test_scalars_that_are_numbers_are_compared():
    scalars = {"月份": "2023-06", "好差评主动评价量": 205509, "差评件数": 2, "开关": True, "比例": 1.5}
    prev = month("2023-05", [], scalars={"好差评主动评价量": 168583, "比例": 1.25})
    c = compare(month("2023-06", [], scalars=scalars), prev)
    assert set(c.scalars) == {"好差评主动评价量", "差评件数", "比例"}
    assert c.scalars["好差评主动评价量"] == {"current": 205509, "previous": 168583, "type": "count", "change": 36926,
                                        "change_pct": 21.9, "direction": "上升", "from_zero": False, "to_zero": False}
    assert isinstance(c.scalars["好差评主动评价量"]["change"], int)
    assert c.scalars["差评件数"]["previous"] is None and c.scalars["差评件数"]["direction"] == "无数据"
    assert c.scalars["比例"]["change"] == 0.25
    assert compare(month(None, []), month(None, [])).month == "" and compare(month(None, []), month(None, [])).previous_month == ""
