"""The pure side of the charts: district series, movers and the chart settings file."""
from __future__ import annotations

import copy

import pytest

from bulletin.errors import ConfigError
import yaml

from bulletin.actions.charts import load_chart_settings
from bulletin.config import DATA_DIR
from bulletin.core.compare import compare
from bulletin.core.overview import ChartSettings, ChartSettingsError
from bulletin.core.trends import SeriesSpec, biggest_movers, district_series, history_with


INSTANT = SeriesSpec("即办件占比", "附件1", "即办件事项占比", type="ratio")


def test_district_ratio_is_the_recomputed_total_never_an_average_of_departments(june):
    trend = district_series({"2023-06": june}, [INSTANT], last=12)
    assert trend.values["即办件占比"] == [62.71]  # the June text: 即办件占比为62.71%
    departments = [r["即办件事项占比"] for r in june.result("附件1").ordered]
    assert round(sum(departments) / len(departments), 2) != 62.71


def test_series_keep_the_latest_months_in_order(june, may):
    months = {f"{y}-{m:02d}": may for y in (2022, 2023) for m in range(1, 13) if f"{y}-{m:02d}" < "2023-06"}
    months = history_with(june, months)
    trend = district_series(months, [INSTANT, SeriesSpec("主动评价量", scalar="好差评主动评价量")], last=12)
    assert trend.months == [f"2022-{m:02d}" for m in range(7, 13)] + [f"2023-{m:02d}" for m in range(1, 7)]
    assert trend.values["即办件占比"] == [65.22] * 11 + [62.71]
    assert trend.values["主动评价量"][-2:] == [168583, 205509]


def test_history_with_drops_later_months_and_prefers_the_workbook_at_hand(june, may):
    months = history_with(june, {"2023-05": may, "2023-06": may, "2023-07": may})
    assert list(sorted(months)) == ["2023-05", "2023-06"] and months["2023-06"] is june


def test_a_missing_annex_is_a_gap_not_a_zero(june, may):
    gap = copy.copy(may)
    gap.results = {k: v for k, v in may.results.items() if k != "附件1"}
    trend = district_series({"2023-05": gap, "2023-06": june}, [INSTANT], last=12)
    assert trend.values["即办件占比"] == [None, 62.71]


def test_biggest_movers(june, may):
    movers = biggest_movers(compare(june, may), [("附件2", "压缩比例"), ("附件1", "即办件事项占比")], 3)
    down = [m for m in movers if m.sheet == "附件2" and m.direction == "下降"]
    assert [(m.rank, m.department, m.previous, m.current, m.change) for m in down][:1] == \
        [(1, "公安分局", 63.45, 16.65, -46.8)]  # the June text: 由5月份63.45%降至16.65%
    assert all(m.change > 0 for m in movers if m.direction == "上升")
    assert biggest_movers(None, [("附件2", "压缩比例")], 3) == []


def _settings() -> dict:
    with open(DATA_DIR / "charts.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(colour="红"), "colour.*不认识"),
    (lambda d: d["bars"][0].update(column="事项总数"), "不是比率列"),
    (lambda d: d["bars"][0].update(column="事项数"), "没有列"),
    (lambda d: d["bars"][0].update(reference="city"), "没有参照行"),
    (lambda d: d["colours"].update(红=123456), "颜色"),
    (lambda d: d.update(trend_months=6), "不小于 12"),
    (lambda d: d["trends"][0]["series"].append({"name": "x", "scalar": "好差评主动评价量"}), "同为比率"),
    (lambda d: d["trends"][1]["series"][0].update(sheet="附件7", column="备注"), "不是数值列"),
    (lambda d: d["bars"][1].update(file="bar-annex1"), "不重复"),
])
def test_settings_refuse_mistakes(change, message):
    d = _settings()
    change(d)
    with pytest.raises((ChartSettingsError, ConfigError), match=message):
        ChartSettings.from_dict(d)


def test_packaged_settings_load():
    s = load_chart_settings()
    assert [b.sheet for b in s.bars] == ["附件1", "附件2", "附件4", "附件5", "附件7", "附件8"]
    assert s.trend_months >= 12 and s.bars[3].reference == "city"
