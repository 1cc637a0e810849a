"""The May 2023 sample workbook: clean, and June compared with it states the June text's month-over-month
figures. Every expected value below is typed from the June 2023 bulletin's text, never read back from
the generator (examples/build_samples.py)."""
from __future__ import annotations


import frames




# "即办件占比为62.71%，较5月份降低2.51%；政务服务事项时限压缩比例为92.25%，较5月份降低1.92%"
# "电子证照总量为41327，较5月份增长437条" "累计资源挂载率为62.39%，较5月份无变化"
# "主动评价量共205509件，较5月份增长36926件" "公安分局事项压缩比由5月份63.45%降至16.65%"
JUNE_TEXT = {"即办件占比": 62.71, "压缩比例": 92.25, "证照总量": 41327, "资源挂载率": 62.39,
             "好差评主动评价量": 205509, "公安分局压缩比例": 16.65}
CHANGE_TEXT = {"即办件占比": -2.51, "压缩比例": -1.92, "证照总量": 437, "资源挂载率": 0.00,
               "好差评主动评价量": 36926}
MAY_FROM_TEXT = {"即办件占比": 65.22, "压缩比例": 94.17, "证照总量": 40890, "资源挂载率": 62.39,
                 "好差评主动评价量": 168583, "公安分局压缩比例": 63.45}
# "发布资源目录总数累计为117条，累计挂载资源目录数为73条 … 累计归集数据665156条", unchanged since May
ANNEX4_INPUTS = {"已发布资源目录数": 117, "已挂载资源目录数": 73, "资源数据总量": 665156}



def figures(data) -> dict:
    two = frames.departments(data.result(2)).set_index("部门")
    return {"即办件占比": data.result(1).total["即办件事项占比"],
            "压缩比例": data.result(2).total["压缩比例"],
            "证照总量": data.result(3).total["证照总量"],
            "资源挂载率": data.result(4).total["资源挂载率"],
            "好差评主动评价量": data.scalars["好差评主动评价量"],
            "公安分局压缩比例": float(two.loc["公安分局", "压缩比例"])}


def test_may_has_no_problem_at_all(may):
    assert [p.as_dict() for p in may.problems] == []
    assert may.month == "2023-05"
    assert may.scalars["统计截止日期"] == "2023-05-31"


def test_may_figures_are_the_ones_the_june_text_implies(may):
    assert figures(may) == MAY_FROM_TEXT
    four = may.result(4).total
    assert {k: four[k] for k in ANNEX4_INPUTS} == ANNEX4_INPUTS


def test_june_figures_are_the_texts(june):
    assert figures(june) == JUNE_TEXT
    four = june.result(4).total
    assert {k: four[k] for k in ANNEX4_INPUTS} == ANNEX4_INPUTS


def test_june_minus_may_is_the_stated_change(may, june):
    m, j = figures(may), figures(june)
    changes = {k: round(j[k] - m[k], 2) for k in CHANGE_TEXT}
    assert changes == CHANGE_TEXT


def test_yearly_bad_reviews_do_not_exceed_june(may, june):
    for name in ("差评件数", "差评已整改件数"):
        assert 0 <= may.scalars[name] <= june.scalars[name] == 2  # "1-6月共2个差评件，均已整改"
    assert may.scalars["差评已整改件数"] <= may.scalars["差评件数"]
    assert may.scalars["网上政务服务事项总数"] > 0


def test_gongan_moves_the_district_compression_by_far_the_most(may, june):
    """Swap one department's May time limits for its June ones: 公安分局 alone explains the change."""
    limit, promise = "法定时限（工作日）", "承诺时限（工作日）"
    m = frames.departments(may.result(2)).set_index("部门")
    j = frames.departments(june.result(2)).set_index("部门")
    total_limit, total_promise = m[limit].sum(), m[promise].sum()
    base = 1 - total_promise / total_limit
    effect = {}
    for dept in m.index:
        swapped_limit = total_limit - m.loc[dept, limit] + j.loc[dept, limit]
        swapped_promise = total_promise - m.loc[dept, promise] + j.loc[dept, promise]
        effect[dept] = abs((1 - swapped_promise / swapped_limit) - base) * 100
    top = max(effect, key=effect.get)
    assert top == "公安分局"
    assert effect[top] > 1.5  # most of the stated 1.92
    assert all(v < effect[top] / 10 for d, v in effect.items() if d != top)


def test_same_departments_in_every_annex(may, june):
    for sheet, res in june.results.items():
        spec = res.spec
        keys = ["部门", *(c.name for c in spec.key_columns)]
        june_rows = {tuple(r) for r in frames.departments(res)[keys].itertuples(index=False)}
        may_rows = {tuple(r) for r in frames.departments(may.results[sheet])[keys].itertuples(index=False)}
        assert may_rows == june_rows, sheet
    assert "水利局" not in set(frames.departments(may.result(8))["部门"])  # "水利局连续 6 个月未派驻"


def test_annexes_1_and_2_agree_per_department_in_may(may):
    one = frames.departments(may.result(1)).set_index("部门")[["事项总数", "即办件事项数"]]
    two = frames.departments(may.result(2)).set_index("部门")[["事项总数", "即办件事项数"]]
    assert one.sort_index().equals(two.sort_index())
    parts = frames.departments(may.result(2))[["即办件事项数", "一日办结事项数", "非一日办结事项数"]].sum(axis=1)
    assert (parts == frames.departments(may.result(2))["事项总数"]).all()


def test_may_keeps_the_zero_progress_departments_at_zero(may):
    # "残联、公安分局、人社局、税务局、医保局第二批网办问题排查工作无进展"
    seven = frames.departments(may.result(7)).set_index("部门")
    for dept in ("残联", "公安分局", "人社局", "税务局", "医保局"):
        assert seven.loc[dept, "已完成事项"] == 0, dept
    # the departments at 0% coverage in June's annex 5 were at 0% in May too
    five = frames.departments(may.result(5)).set_index("部门")
    for dept in ("文广体旅局", "新闻出版局", "住建局", "生态环境局", "教育局", "人社局", "公安分局",
                 "城市管理局", "民政局", "财政局", "金融局", "工信局"):
        assert five.loc[dept, "主项覆盖率"] == 0 and five.loc[dept, "子项覆盖率"] == 0, dept
