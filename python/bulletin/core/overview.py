"""What the 总览 sheet and the chart pictures show, as plain data both adapters draw from.

The chart settings (data/charts.yaml) are parsed and checked here: unknown keys, unknown sheets or
columns, a bar on a non-ratio column or a trend on an annex without a district row are refused when the
file loads. ``build_overview`` then takes the engine's figures as they are: bar values are the departments'
recomputed ratios in the annex's printed order, trend values the recomputed district rows.
"""
from __future__ import annotations

from ..errors import UserError, check_keys, expect

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..spec import SCALARS, annex
from .month import MonthData
from .trends import Mover, SeriesSpec, Trend, biggest_movers, district_series, history_with

_HEX = re.compile(r"^[0-9A-Fa-f]{6}$")
STATUS_COLOURS = ("红", "黄")


class ChartSettingsError(UserError, ValueError):
    """A mistake in charts.yaml (shown to whoever edited it)."""


def _keys(where: str, d: Any, allowed: set[str], required: set[str]) -> None:
    check_keys("charts.yaml", d, sorted(allowed), tuple(sorted(required)), where=where)


def _colour(where: str, v: Any) -> str:
    if not isinstance(v, str) or not _HEX.match(v):
        raise ChartSettingsError(f"charts.yaml {where}: 颜色 {v!r} 应为 6 位十六进制，如 C00000")
    return v.upper()


def _column(where: str, sheet: str, column: str, want_ratio: bool) -> str:
    try:
        col = annex(sheet).column(column)
    except KeyError:
        raise ChartSettingsError(f"charts.yaml {where}: {sheet} 没有列“{column}”") from None
    if want_ratio and col.type != "ratio":
        raise ChartSettingsError(f"charts.yaml {where}: {sheet} 的“{column}”不是比率列")
    if not col.is_numeric:
        raise ChartSettingsError(f"charts.yaml {where}: {sheet} 的“{column}”不是数值列")
    return col.type


@dataclass(frozen=True)
class BarSpec:
    """A bar chart of charts.yaml: one column of an annex across the departments."""

    sheet: str
    column: str
    title: str
    file: str
    reference: str | None = None  # a reference row key of the annex (city)


@dataclass(frozen=True)
class TrendSpec:
    """A trend chart of charts.yaml: district series over the months in the history."""

    title: str
    axis: str
    file: str
    series: tuple[SeriesSpec, ...]

    @property
    def is_ratio(self) -> bool:
        return all(s.type == "ratio" for s in self.series)


@dataclass(frozen=True)
class ChartSettings:
    """charts.yaml, checked."""

    trend_months: int
    movers: int
    colours: dict[str, Any]
    fonts: tuple[str, ...]
    bars: tuple[BarSpec, ...]
    trends: tuple[TrendSpec, ...]

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "ChartSettings":
        _keys("", d, {"trend_months", "movers", "colours", "fonts", "bars", "trends"},
              {"trend_months", "movers", "colours", "fonts", "bars", "trends"})
        for key in ("fonts", "bars", "trends"):
            expect("charts.yaml", key, d[key] or [], "list")
        months, movers = d["trend_months"], d["movers"]
        if not isinstance(months, int) or months < 12:
            raise ChartSettingsError("charts.yaml trend_months: 应为不小于 12 的整数")
        if not isinstance(movers, int) or movers < 0:
            raise ChartSettingsError("charts.yaml movers: 应为非负整数")
        c = d["colours"]
        _keys("colours", c, {"bar", "红", "黄", "reference", "lines"}, {"bar", "红", "黄", "reference", "lines"})
        if not isinstance(c["lines"], list) or not c["lines"]:
            raise ChartSettingsError("charts.yaml colours.lines: 应为颜色列表")
        colours = {k: _colour(f"colours.{k}", c[k]) for k in ("bar", "红", "黄", "reference")}
        colours["lines"] = [_colour("colours.lines", x) for x in c["lines"]]
        bars, files = [], set()

        def file_name(where: str, v: Any) -> str:
            if not isinstance(v, str) or not re.match(r"^[A-Za-z0-9_-]+$", v) or v in files:
                raise ChartSettingsError(f"charts.yaml {where}: file 应为不重复的英文文件名（字母、数字、-）")
            files.add(v)
            return v

        for i, b in enumerate(d["bars"] or ()):
            where = f"bars[{i}]"
            _keys(where, b, {"sheet", "column", "title", "reference", "file"}, {"sheet", "column", "title", "file"})
            try:
                spec = annex(b["sheet"])
            except KeyError:
                raise ChartSettingsError(f"charts.yaml {where}: 没有附件“{b['sheet']}”") from None
            _column(where, spec.sheet, b["column"], want_ratio=True)
            ref = b.get("reference")
            if ref is not None and ref not in spec.reference_rows:
                raise ChartSettingsError(f"charts.yaml {where}: {spec.sheet} 没有参照行“{ref}”")
            bars.append(BarSpec(spec.sheet, b["column"], str(b["title"]), file_name(where, b["file"]), ref))
        scalars = {s.name for s in SCALARS}
        trends = []
        for i, t in enumerate(d["trends"] or ()):
            where = f"trends[{i}]"
            _keys(where, t, {"title", "axis", "file", "series"}, {"title", "axis", "file", "series"})
            series = []
            expect("charts.yaml", f"{where}.series", t["series"] or [], "list")
            for j, s in enumerate(t["series"] or ()):
                w = f"{where}.series[{j}]"
                _keys(w, s, {"name", "sheet", "column", "scalar"}, {"name"})
                if "scalar" in s:
                    if set(s) & {"sheet", "column"} or not isinstance(s["scalar"], str) or s["scalar"] not in scalars:
                        raise ChartSettingsError(f"charts.yaml {w}: scalar 应为“总体情况”表的数值项，且不与 sheet/column 同用")
                    series.append(SeriesSpec(str(s["name"]), scalar=s["scalar"], type="count"))
                    continue
                if "sheet" not in s or "column" not in s:
                    raise ChartSettingsError(f"charts.yaml {w}: 需要 sheet 和 column，或 scalar")
                try:
                    spec = annex(s["sheet"])
                except KeyError:
                    raise ChartSettingsError(f"charts.yaml {w}: 没有附件“{s['sheet']}”") from None
                if spec.total is None:
                    raise ChartSettingsError(f"charts.yaml {w}: {spec.sheet} 没有全区合计行")
                ctype = _column(w, spec.sheet, s["column"], want_ratio=False)
                series.append(SeriesSpec(str(s["name"]), spec.sheet, s["column"], None, ctype))
            if not series or len({s.type for s in series}) != 1:
                raise ChartSettingsError(f"charts.yaml {where}: 一张趋势图的各条线应同为比率或同为数量，且至少一条")
            trends.append(TrendSpec(str(t["title"]), str(t["axis"]), file_name(where, t["file"]), tuple(series)))
        return ChartSettings(months, movers, colours, tuple(str(f) for f in d["fonts"] or ()), tuple(bars),
                             tuple(trends))


@dataclass
class BarChartData:
    """A bar chart's figures: labels, values and statuses in printed order."""

    spec: BarSpec
    number: int  # the annex's number
    labels: list[str]  # department short names, printed order
    values: list[float | None]  # percent numbers (62.71 = 62.71%)
    statuses: list[str]  # 红 | 黄 | 绿, per bar
    reference_label: str | None = None
    reference_value: float | None = None

    @property
    def axis(self) -> str:
        return self.spec.column

    def zero_laggards(self, status: str) -> list[float | None]:
        """Per bar: 0 where the unit is `status` (红/黄) and its value is 0 (a bar of no height: it gets a marker at
        the axis, so the units the text names most are seen), else None."""
        return [0.0 if s == status and v == 0 else None for v, s in zip(self.values, self.statuses)]


@dataclass
class TrendChartData:
    """A trend chart's figures."""

    spec: TrendSpec
    trend: Trend


@dataclass
class Overview:
    """The 总览 sheet's model: this month's bars, the trends and the biggest movers."""

    month: str | None
    previous_month: str | None
    district: str
    bars: list[BarChartData]
    trends: list[TrendChartData]  # empty when the history holds no earlier month
    movers: list[Mover]
    has_history: bool
    colours: dict[str, Any] = field(default_factory=dict)

    def all_text(self) -> str:
        """Every character the pictures draw (to check a font covers them)."""
        parts = [self.district, self.month or "", "上月本月变化百分点单位月份红黄正常", "0123456789.%-+,"]
        for b in self.bars:
            parts += [b.spec.title, b.axis, *b.labels, b.reference_label or ""]
        for t in self.trends:
            parts += [t.spec.title, t.spec.axis, *(s.name for s in t.spec.series), *map(month_label, t.trend.months)]
        return "".join(parts)


def month_label(month: str) -> str:
    y, m = month.split("-")
    return f"{y}年{int(m)}月"


def build_overview(analysis: Any, past: Mapping[str, MonthData], settings: ChartSettings, *,
                   short: Callable[[str], str], district: str, reference_names: Mapping[str, str]) -> Overview:
    """The figures of every chart from an engine Analysis and the months the history holds."""
    data: MonthData = analysis.data
    statuses = analysis.assessment.statuses
    bars = []
    for b in settings.bars:
        res = data.results.get(b.sheet)
        if res is None:
            continue
        rows = res.ordered
        by_dept = statuses.get(b.sheet, {})
        ref_value = None
        if b.reference:
            ref_row = res.references.get(b.reference)
            ref_value = _pct(ref_row.get(b.column)) if ref_row else None
        bars.append(BarChartData(
            b, res.spec.number, [short(r["部门"]) for r in rows], [_pct(r.get(b.column)) for r in rows],
            [by_dept[r["部门"]].status.value if r["部门"] in by_dept else "绿" for r in rows],
            reference_names.get(b.reference) if b.reference else None, ref_value))
    earlier = {m: d for m, d in past.items() if data.month and m < data.month}
    trends = []
    if earlier and data.month:
        months = history_with(data, past)
        trends = [TrendChartData(t, district_series(months, t.series, settings.trend_months)) for t in settings.trends]
    movers = biggest_movers(analysis.comparison, [(b.sheet, b.column) for b in settings.bars], settings.movers)
    movers = [Mover(m.sheet, m.column, m.direction, m.rank, short(m.department), m.previous, m.current, m.change)
              for m in movers]
    prev = analysis.previous.month if analysis.previous is not None else None
    return Overview(data.month, prev, district, bars, trends, movers, bool(earlier), settings.colours)


def _pct(v: Any) -> float | None:
    if v is None or isinstance(v, str) or v != v:
        return None
    return float(v)
