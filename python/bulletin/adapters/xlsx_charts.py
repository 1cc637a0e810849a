"""The 总览 sheet: native Excel charts (openpyxl), live and editable in Excel and WPS.

Every chart reads its figures from cells of the 总览 sheet itself (the data tables right of the charts),
so staff can see and correct what is drawn; nothing is pasted as a picture. Ratios are stored as fractions
under a % format, as everywhere in the output workbook.
"""
from __future__ import annotations

from typing import Any

import openpyxl
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.legend import Legend
from openpyxl.chart.marker import DataPoint, Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..spec import CONSOLE_SHEET
from ..core.overview import STATUS_COLOURS as STATUS_MARKS, BarChartData, Overview, TrendChartData, month_label
from .xlsx_output import BORDER, HEADER_FILL, STATUS_FILLS, put, style

SHEET = "总览"
NO_HISTORY = "暂无历史数据"
DATA_COLUMN = 20  # T: the chart data tables start here, right of the charts
CHART_ROW = 5
CHART_ROWS = 17  # rows between two chart rows
CHART_COLUMNS = ("A", "J")  # two charts side by side
CHART_WIDTH_CM, CHART_HEIGHT_CM = 16.0, 8.0
PERCENT = "0.00%"
# style objects made once: the style cache of xlsx_output.style() knows an object by its identity
BOLD = Font(bold=True)
HEADER_ALIGNMENT = Alignment(horizontal="center", wrap_text=True)


def _rotated_labels(size: int = 800) -> RichText:
    """Category labels stacked upright (East Asian vertical text) so thirty department names fit."""
    return RichText(bodyPr=RichTextProperties(rot=0, vert="eaVert"),
                    p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size)),
                                 endParaRPr=CharacterProperties(sz=size))])


def _axes(chart: Any, x_title: str, y_title: str, y_format: str) -> None:
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.y_axis.number_format = y_format
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 leaves them unset: Excel hides the axes


def _text_categories(chart: Any, ref: Reference) -> None:
    """Categories are department names or months: a string reference (openpyxl's default is numeric,
    which Excel may show as 1, 2, 3 …)."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(ref)))


class _Writer:
    def __init__(self, ws: Worksheet):
        self.ws, self.row = ws, 1

    def title(self, text: str) -> None:
        style(put(self.ws, self.row, DATA_COLUMN, text), font=BOLD)
        self.row += 1

    def header(self, names: list[str]) -> int:
        for i, name in enumerate(names):
            style(put(self.ws, self.row, DATA_COLUMN + i, name), fill=HEADER_FILL, border=BORDER, font=BOLD,
                  alignment=HEADER_ALIGNMENT)
        self.row += 1
        return self.row - 1

    def put(self, values: list[Any], formats: list[str | None]) -> None:
        for i, (v, fmt) in enumerate(zip(values, formats)):
            cell = put(self.ws, self.row, DATA_COLUMN + i, v)
            style(cell, border=BORDER, **({"number_format": fmt} if fmt else {}))
        self.row += 1

    def gap(self) -> None:
        self.row += 1


def _fraction(v: float | None) -> float | None:
    return None if v is None else round(v / 100, 6)


def _bar_chart(w: _Writer, b: BarChartData, colours: dict[str, Any]) -> BarChart:
    ws = w.ws
    w.title(f"附件{b.number} {b.axis}（图表数据）")
    zero = {st: b.zero_laggards(st) for st in STATUS_MARKS if any(v is not None for v in b.zero_laggards(st))}
    head = ["单位", b.axis, "状态"] + ([b.reference_label] if b.reference_label else []) + \
        [f"{st}：为0" for st in zero]
    header_row = w.header(head)
    for i, (label, value, status) in enumerate(zip(b.labels, b.values, b.statuses)):
        row = [label, _fraction(value), status] + ([_fraction(b.reference_value)] if b.reference_label else []) + \
            [marks[i] for marks in zero.values()]
        w.put(row, [None, PERCENT, None] + [PERCENT] * (len(row) - 3))
        fill = STATUS_FILLS.get(status)
        if fill is not None:
            style(ws.cell(w.row - 1, DATA_COLUMN + 2), fill=fill)
    first, last = header_row + 1, max(header_row + 1, w.row - 1)
    w.gap()
    chart = BarChart()
    chart.type, chart.style, chart.gapWidth = "col", 10, 60
    chart.title = b.spec.title
    chart.add_data(Reference(ws, min_col=DATA_COLUMN + 1, min_row=header_row, max_row=last), titles_from_data=True)
    cats = Reference(ws, min_col=DATA_COLUMN, min_row=first, max_row=last)
    _text_categories(chart, cats)
    series = chart.series[0]
    series.graphicalProperties.solidFill = colours["bar"]
    series.graphicalProperties.line.noFill = True
    for i, status in enumerate(b.statuses):  # laggards in their status colour (as of this run)
        if status in ("红", "黄"):
            point = DataPoint(idx=i)
            point.graphicalProperties.solidFill = colours[status]
            point.graphicalProperties.line.noFill = True
            series.dPt.append(point)
    _axes(chart, "单位", b.axis, "0%")
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.x_axis.txPr = _rotated_labels()
    chart.x_axis.tickLblSkip = 1  # every department named (LibreOffice would skip crowded labels)
    chart.legend = None
    if b.reference_label:
        line = LineChart()
        line.add_data(Reference(ws, min_col=DATA_COLUMN + 3, min_row=header_row, max_row=last), titles_from_data=True)
        _text_categories(line, cats)
        ref = line.series[0]
        ref.graphicalProperties.line.solidFill = colours["reference"]
        ref.graphicalProperties.line.dashStyle = "dash"
        ref.graphicalProperties.line.width = 19050
        ref.marker = Marker(symbol="none")
        ref.smooth = False
        chart += line  # same axes: the city's ratio as a horizontal line across the departments
        chart.legend = Legend(legendPos="t")
    first_mark = DATA_COLUMN + (4 if b.reference_label else 3)
    for k, st in enumerate(zero):  # 0 % laggards have no bar: a marker in their colour at the axis
        marks = LineChart()
        marks.add_data(Reference(ws, min_col=first_mark + k, min_row=header_row, max_row=last), titles_from_data=True)
        _text_categories(marks, cats)
        mark = marks.series[0]
        mark.graphicalProperties.line.noFill = True
        mark.marker = Marker(symbol="triangle", size=8)
        mark.marker.graphicalProperties = GraphicalProperties(solidFill=colours[st])
        mark.marker.graphicalProperties.line.solidFill = colours[st]
        mark.smooth = False
        chart += marks
        chart.legend = Legend(legendPos="t")
    return chart


def _trend_chart(w: _Writer, t: TrendChartData, colours: dict[str, Any]) -> LineChart:
    ws = w.ws
    ratio = t.spec.is_ratio
    w.title(f"{t.spec.title}（图表数据）")
    names = [s.name for s in t.spec.series]
    header_row = w.header(["月份", *names])
    fmt = PERCENT if ratio else "#,##0"
    for i, month in enumerate(t.trend.months):
        values = [t.trend.values[n][i] for n in names]
        w.put([month_label(month), *[(_fraction(v) if ratio else v) for v in values]], [None, *[fmt] * len(values)])
    last = max(header_row + 1, w.row - 1)
    w.gap()
    chart = LineChart()
    chart.title, chart.style = t.spec.title, 12
    chart.add_data(Reference(ws, min_col=DATA_COLUMN + 1, max_col=DATA_COLUMN + len(names), min_row=header_row,
                             max_row=last), titles_from_data=True)
    _text_categories(chart, Reference(ws, min_col=DATA_COLUMN, min_row=header_row + 1, max_row=last))
    for i, s in enumerate(chart.series):
        colour = colours["lines"][i % len(colours["lines"])]
        s.graphicalProperties.line.solidFill = colour
        s.graphicalProperties.line.width = 22225
        s.marker = Marker(symbol="circle", size=6)
        s.marker.graphicalProperties = None
        s.smooth = False
    _axes(chart, "月份", t.spec.axis, "0%" if ratio else "#,##0")
    chart.legend.position = "b"
    if len(names) == 1:
        chart.legend = None
    return chart


def _movers_table(w: _Writer, overview: Overview) -> None:
    if overview.previous_month is None:
        w.title("变化最大的单位")
        put(w.ws, w.row, DATA_COLUMN, "暂无上月数据，不列变化最大的单位。")
        w.row += 2
        return
    w.title(f"变化最大的单位（{month_label(overview.month)}与{month_label(overview.previous_month)}比较）"
            if overview.month else "变化最大的单位")
    w.header(["指标", "方向", "名次", "单位", "上月", "本月", "变化（百分点）"])
    for m in overview.movers:
        w.put([f"{m.sheet} {m.column}", m.direction, m.rank, m.department, _fraction(m.previous),
               _fraction(m.current), m.change], [None, None, "0", None, PERCENT, PERCENT, "+0.00;-0.00;0.00"])
    if not overview.movers:
        put(w.ws, w.row, DATA_COLUMN, "本月各单位上述指标均无变化。")
        w.row += 1
    w.gap()


def write_overview(wb: openpyxl.Workbook, overview: Overview) -> Worksheet:
    """Add (or replace) the 总览 sheet as the workbook's first sheet."""
    if SHEET in wb.sheetnames:
        del wb[SHEET]
    # first sheet, or right after 控制台 in the master workbook (its buttons stay on the first sheet)
    ws = wb.create_sheet(SHEET, 1 if wb.sheetnames and wb.sheetnames[0] == CONSOLE_SHEET else 0)
    month = month_label(overview.month) if overview.month else ""
    put(ws, 1, 1, f"{overview.district}政务服务指标总览（{month}）" if month else f"{overview.district}政务服务指标总览")
    ws["A1"].font = Font(bold=True, size=16)
    put(ws, 2, 1, ("图表的数据在本表 T 列起的表格中，改动表格数值图表随之更新；条形按本月“状态”着色"
                "（红、黄为落后单位），比率均按各单位报送数重新计算。"))
    ws["A2"].font = Font(color="595959")
    w = _Writer(ws)
    _movers_table(w, overview)
    charts = [_bar_chart(w, b, overview.colours) for b in overview.bars]
    if overview.has_history and overview.trends:
        months = overview.trends[0].trend.months
        put(ws, 3, 1, f"趋势图：{month_label(months[0])}至{month_label(months[-1])}，共 {len(months)} 个月（历史库中的月份）。")
        charts += [_trend_chart(w, t, overview.colours) for t in overview.trends]
        note_row = None
    else:
        note_row = CHART_ROW + ((len(charts) + 1) // 2) * CHART_ROWS
        put(ws, 3, 1, f"{NO_HISTORY}：历史库中没有往月数据，暂不绘制月度趋势图。")
    for k, chart in enumerate(charts):
        chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
        ws.add_chart(chart, f"{CHART_COLUMNS[k % 2]}{CHART_ROW + (k // 2) * CHART_ROWS}")
    if note_row is not None:
        cell = put(ws, note_row, 1, f"{NO_HISTORY}：历史库中还没有往月数据，无法绘制月度趋势图。请用 bulletin import-month "
                                    f"补录往月工作簿，或每月用 bulletin close-month 结转后再生成。")
        cell.font = Font(bold=True, size=12, color="C00000")
    ws["A3"].font = Font(color="595959")
    ws.column_dimensions[get_column_letter(DATA_COLUMN)].width = 16
    for c in range(DATA_COLUMN + 1, DATA_COLUMN + 8):
        ws.column_dimensions[get_column_letter(c)].width = 12
    ws.sheet_view.zoomScale = 90
    return ws

