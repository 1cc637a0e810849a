"""The 总览 sheet (native charts read back with openpyxl) and the PNG pictures (font actually resolved).

A three-month history is built from real workbooks: an April made from the May sample with two explicit
edits, the May sample, and June itself; the figures the charts must show come from compute(...) on the
same files, and a few from the June bulletin's own text.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from bulletin import actions
from bulletin.actions.charts import load_chart_settings
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_charts import NO_HISTORY, SHEET
from bulletin.adapters.xlsx_files import read_grids
from bulletin.cli import main
from bulletin.config import load_registry
from bulletin.engine import analyse, compute

from conftest import ROOT, SAMPLE, find_cell

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
BAR_SHEETS = ("附件1", "附件2", "附件4", "附件5", "附件7", "附件8")
APRIL_EVALUATIONS = 150000


def _april(folder: Path) -> Path:
    """May with 文广体旅局 reporting 150 instead of 161 即办件 (in 附件1 and 附件2) and fewer 好差评 evaluations."""
    wb = openpyxl.load_workbook(MAY)
    wb["附件1"][find_cell(wb["附件1"], "殷都区文广体旅局", "即办件事项数")] = 150
    # 附件2 says the same (the agreement check): the other 11 items were 一日办结
    wb["附件2"][find_cell(wb["附件2"], "文广体旅局", "即办件事项数")] = 150
    wb["附件2"][find_cell(wb["附件2"], "文广体旅局", "一日办结事项数")] = 11
    ws = wb["总体情况"]
    for row in ws.iter_rows(min_row=1):
        if row[0].value == "月份":
            row[1].value = "2023-04"
        if row[0].value == "统计截止日期":
            row[1].value = "2023-04-30"  # a cut-off inside the month
        if row[0].value == "好差评主动评价量":
            row[1].value = APRIL_EVALUATIONS
    path = folder / "通报数据-2023-04.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    path = folder / "history.sqlite"
    with History(path) as h:
        for workbook in (_april(folder), MAY, SAMPLE):
            data = compute(read_grids(workbook))
            assert not data.has_errors
            h.store(data, source=workbook.name)
    return path


@pytest.fixture(scope="module")
def run_output(history, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    outcome = actions.run(SAMPLE, out, history=history)
    assert outcome.output is not None
    return outcome.output


def _text(title) -> str:
    return "".join(r.t for p in title.tx.rich.p for r in (p.r or []))


def _cells(wb: openpyxl.Workbook, ref: str) -> list:
    sheet, rng = ref.rsplit("!", 1)
    ws = wb[sheet.strip("'")]
    min_col, min_row, max_col, max_row = range_boundaries(rng.replace("$", ""))
    return [ws.cell(r, c).value for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def _rgb(fill) -> str:
    rgb = fill if isinstance(fill, str) else fill.srgbClr
    return rgb if isinstance(rgb, str) else rgb.val


def _charts(path: Path):
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    bars = [c for c in ws._charts if c.tagname == "barChart"]
    lines = [c for c in ws._charts if c.tagname == "lineChart"]
    return wb, ws, bars, lines


def test_overview_comes_first_with_a_bar_chart_per_annex_ratio(run_output, june, history):
    wb, ws, bars, lines = _charts(run_output)
    assert wb.sheetnames[:2] == ["控制台", SHEET]  # first after the console (the sample has the master layout)
    assert len(bars) == len(BAR_SHEETS) and len(lines) == 3
    registry = load_registry()
    with History(history) as h:
        past = h.load_many(["2023-04", "2023-05"])
    statuses = analyse(june, past).assessment.statuses
    colours = load_chart_settings().colours
    for chart, sheet in zip(bars, BAR_SHEETS):
        column = {"附件1": "即办件事项占比", "附件2": "压缩比例", "附件4": "资源挂载率", "附件5": "主项覆盖率",
                  "附件7": "完成率", "附件8": "请假人数比例"}[sheet]
        rows = june.result(sheet).ordered  # the annex's printed order
        series = chart.series[0]
        assert series.val.numRef.f.startswith(f"'{SHEET}'!")
        labels = _cells(wb, series.cat.strRef.f)
        values = _cells(wb, series.val.numRef.f)
        assert labels == [registry.short(r["部门"]) for r in rows]
        assert values == [pytest.approx(r[column] / 100, abs=1e-9) for r in rows]
        assert _cells(wb, series.tx.strRef.f) == [column]
        assert _text(chart.y_axis.title) == column and _text(chart.x_axis.title) == "单位"
        expected = {i: colours[statuses[sheet][r["部门"]].status] for i, r in enumerate(rows)
                    if r["部门"] in statuses[sheet] and statuses[sheet][r["部门"]].status in ("红", "黄")}
        assert {p.idx: _rgb(p.graphicalProperties.solidFill) for p in series.dPt} == expected
    assert "红" in {d.status for d in statuses["附件1"].values()}  # so the colours were really tested


def test_june_figures_of_the_bulletin_are_on_the_chart(run_output):
    wb, ws, bars, _ = _charts(run_output)
    compress = dict(zip(_cells(wb, bars[1].series[0].cat.strRef.f), _cells(wb, bars[1].series[0].val.numRef.f)))
    assert compress["公安分局"] == pytest.approx(0.1665)  # the June text: 公安分局 … 降至16.65%


def test_annex5_chart_has_the_city_as_a_reference_line(run_output, june):
    wb, ws, bars, _ = _charts(run_output)
    chart = bars[3]
    line = next(c for c in chart._charts if c.tagname == "lineChart")
    city = june.result("附件5").references["city"]["主项覆盖率"]
    assert city == 47.66  # 安阳市 in the June annex 5
    values = _cells(wb, line.series[0].val.numRef.f)
    assert len(values) == len(june.result("附件5").ordered)
    assert values == [pytest.approx(0.4766)] * len(values)
    assert _cells(wb, line.series[0].tx.strRef.f) == ["安阳市"]
    assert line.series[0].cat.strRef.f == chart.series[0].cat.strRef.f


def test_trend_series_have_one_point_per_month_of_the_history(run_output, history):
    wb, ws, _, lines = _charts(run_output)
    with History(history) as h:
        months = h.load_many()
    assert list(months) == ["2023-04", "2023-05", "2023-06"]
    ratios, licences, evaluations = lines
    assert _text(ratios.x_axis.title) == "月份" and _text(evaluations.y_axis.title) == "主动评价量（件）"
    for chart in lines:
        for s in chart.series:
            assert _cells(wb, s.cat.strRef.f) == ["2023年4月", "2023年5月", "2023年6月"]
            assert len(_cells(wb, s.val.numRef.f)) == 3
    names = {_cells(wb, s.tx.strRef.f)[0]: _cells(wb, s.val.numRef.f) for s in ratios.series}
    assert set(names) == {"即办件占比", "压缩比例", "资源挂载率", "主项覆盖率", "子项覆盖率"}
    # the district ratios of the June text (较5月份降低2.51%: 65.22 → 62.71) and of each month's district row
    assert names["即办件占比"][1:] == [pytest.approx(0.6522), pytest.approx(0.6271)]
    april = months["2023-04"].result("附件1").total
    assert names["即办件占比"][0] == pytest.approx(april["即办件事项数"] / april["事项总数"], abs=5e-5)
    assert names["即办件占比"][0] != names["即办件占比"][1]
    assert names["压缩比例"] == [pytest.approx(m.result("附件2").total["压缩比例"] / 100) for m in months.values()]
    assert _cells(wb, licences.series[0].val.numRef.f)[1:] == [40890, 41327]  # 较5月份增长437条
    assert _cells(wb, evaluations.series[0].val.numRef.f) == [APRIL_EVALUATIONS, 168583, 205509]
    assert NO_HISTORY not in "".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)


def test_movers_table_names_the_biggest_fall(run_output):
    wb, ws, _, _ = _charts(run_output)
    rows = [tuple(c.value for c in row[19:26]) for row in ws.iter_rows()]
    assert ("附件2 压缩比例", "下降", 1, "公安分局", pytest.approx(0.6345), pytest.approx(0.1665),
            pytest.approx(-46.80)) in rows


def test_empty_history_gives_a_note_instead_of_trend_charts(tmp_path):
    outcome = actions.run(SAMPLE, tmp_path, history=tmp_path / "none.sqlite")
    wb, ws, bars, lines = _charts(outcome.output)
    assert len(bars) == len(BAR_SHEETS) and lines == []
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert any(t.startswith(NO_HISTORY) and "import-month" in t for t in texts)
    assert "暂无上月数据，不列变化最大的单位。" in texts


def test_input_is_untouched_and_a_rerun_replaces_the_sheet(tmp_path, sample_copy, history):
    before = sample_copy.read_bytes()
    first = actions.run(sample_copy, tmp_path / "out", history=history).output
    second = actions.run(sample_copy, tmp_path / "out", history=history).output
    assert sample_copy.read_bytes() == before
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames.count(SHEET) == 1 and len(wb[SHEET]._charts) == 9
    assert first == second and any((tmp_path / "out" / ".backup").iterdir())


# -- pictures ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pictures(history, tmp_path_factory):
    out = tmp_path_factory.mktemp("png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = actions.charts(SAMPLE, history=history, out_dir=out)
    return outcome, out, [str(w.message) for w in caught]


def test_pictures_are_written_for_every_chart(pictures):
    outcome, out, _ = pictures
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted(["bar-annex1.png", "bar-annex2.png", "bar-annex4.png", "bar-annex5.png", "bar-annex7.png",
                            "bar-annex8.png", "trend-ratios.png", "trend-licences.png", "trend-evaluations.png"])
    from PIL import Image

    with Image.open(out / "bar-annex1.png") as im:
        assert im.format == "PNG" and im.width > 1000
        pixels = list(im.convert("RGB").get_flattened_data())
        width, height = im.size
    # 附件1's 黄 departments (民政局, 生态环境局, 教育局) are drawn in the status colour; its 红 departments have
    # 0% (no bar): each gets a red marker at the axis, low in the picture (the legend patch is at the top)
    yellow, red = pixels.count((0xFF, 0xC0, 0x00)), pixels.count((0xC0, 0x00, 0x00))
    assert yellow > 2 * red > 0
    assert any(i // width > height * 0.6 for i, p in enumerate(pixels) if p == (0xC0, 0x00, 0x00))


def test_pictures_use_a_cjk_font_that_has_every_glyph(pictures, june):
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    outcome, out, messages = pictures
    font = outcome.extra["font"]
    resolved = font_manager.findfont(font_manager.FontProperties(family=font["family"]), fallback_to_default=False)
    assert str(getattr(resolved, "path", resolved)) == font["path"]
    face = getattr(resolved, "face_index", 0)
    cmap = TTFont(font["path"], fontNumber=face, lazy=True).getBestCmap()
    registry = load_registry()
    drawn = "".join(registry.short(r["部门"]) for s in BAR_SHEETS for r in june.result(s).ordered)
    drawn += "殷都区各单位即办件事项占比承诺时限压缩比例“互联网+监管”主项覆盖率安阳市月份年单位状态红黄好差评主动评价量（件）"
    assert all(ord(ch) in cmap for ch in drawn)
    assert not [m for m in messages if "missing from font" in m or "Glyph" in m]


def test_pictures_without_history_have_no_trends(tmp_path):
    outcome = actions.charts(SAMPLE, history=tmp_path / "none.sqlite", out_dir=tmp_path / "png")
    assert len(outcome.extra["images"]) == len(BAR_SHEETS)
    assert any(n.startswith(NO_HISTORY) for n in outcome.notes)


def test_cli_charts(tmp_path, history, capsys):
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    code = main(["charts", str(tmp_path / SAMPLE.name), "--history", str(history), "--out", str(tmp_path / "c")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "趋势图含 2023年4月至2023年6月 共 3 个月。" in printed
    assert (tmp_path / "c" / "trend-ratios.png").stat().st_size > 10_000
    assert main(["charts", str(tmp_path / SAMPLE.name), "--month", "六月"]) == 2
    assert "错误：月份“六月”格式不对" in capsys.readouterr().err


def test_synthetic_early_months_are_clean_and_lead_up_to_may(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from build_early_months import main as build_early

    months = [compute(read_grids(p)) for p in build_early(tmp_path)]
    assert [m.month for m in months] == ["2023-01", "2023-02", "2023-03", "2023-04"]
    assert all(m.problems == [] for m in months)
    instant = [m.result("附件1").total["即办件事项占比"] for m in [*months, compute(read_grids(MAY))]]
    assert instant == sorted(instant) and instant[-1] == 65.22 and len(set(instant)) == 5


def test_zero_laggards_are_marked_at_the_axis(run_output, june, history):
    """附件5's twelve red 0 % units have no bar: a red marker series at 0 names each of them."""
    wb, ws, bars, _ = _charts(run_output)
    chart = bars[3]
    with History(history) as h:
        past = h.load_many(["2023-04", "2023-05"])
    statuses = analyse(june, past).assessment.statuses["附件5"]
    rows = june.result("附件5").ordered
    expected = [0 if r["主项覆盖率"] == 0 and statuses[r["部门"]].status == "红" else None for r in rows]
    assert expected.count(0) == 12
    marks = [c for c in chart._charts if c.tagname == "lineChart"
             and _cells(wb, c.series[0].tx.strRef.f) == ["红：为0"]]
    assert len(marks) == 1
    series = marks[0].series[0]
    assert _cells(wb, series.val.numRef.f) == expected
    assert series.cat.strRef.f == chart.series[0].cat.strRef.f
    assert series.marker.symbol == "triangle" and series.graphicalProperties.line.noFill
    assert _rgb(series.marker.graphicalProperties.solidFill) == load_chart_settings().colours["红"]
    # 附件2 has no 0 % laggard: no marker series
    assert not [c for c in bars[1]._charts if c.tagname == "lineChart"]


def test_zero_laggards_are_marked_in_the_pictures(tmp_path, history):
    """The PNG of 附件5 with and without the 0 % red units: their markers add red pixels at the axis."""
    from PIL import Image

    from bulletin.actions.charts import charts as charts_action

    out = tmp_path / "png"
    charts_action(SAMPLE, history=history, out_dir=out)
    with Image.open(out / "bar-annex5.png") as im:
        pixels = list(im.convert("RGB").get_flattened_data())
        height = im.height
    red = (0xC0, 0x00, 0x00)
    width = len(pixels) // height
    rows_with_red = {i // width for i, p in enumerate(pixels) if p == red}
    # markers sit at the axis, in the lower part of the picture (the legend patch is at the top right)
    assert any(r > height * 0.6 for r in rows_with_red)
