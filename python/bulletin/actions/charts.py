"""Chart actions: the 总览 sheet of the output workbook, and the same charts as PNG pictures."""
from __future__ import annotations

from pathlib import Path

from ..config import load_chart_settings
from ..core.overview import month_label
from ..errors import Next, UsageError
from .common import Outcome, backup_outputs, output_dir, overview_of
from .month import narrate

CHARTS_FOLDER = "charts"  # inside the out folder


def charts(workbook: Path, history: Path | None = None, out_dir: Path | None = None,
           month: str | None = None) -> Outcome:
    """The overview charts of a month as PNG pictures in out_dir (default out/charts)."""
    from ..adapters.png_charts import ChartFontError, render_pngs

    workbook = Path(workbook)
    outcome = narrate(workbook, month, history)
    if outcome.analysis is None:
        outcome.notes.append("输入数据有错误，不生成图表。")
        outcome.next.append(Next("fix_problems"))
        return outcome
    overview = overview_of(outcome.analysis, outcome.analysis.past)
    out = Path(out_dir) if out_dir else output_dir(workbook, None) / CHARTS_FOLDER
    settings = load_chart_settings()
    backup_outputs([out / f"{c.file}.png" for c in (*settings.bars, *settings.trends)])
    try:
        paths, font = render_pngs(overview, out, settings.fonts)
    except ChartFontError as exc:
        raise UsageError(str(exc)) from None
    if not overview.has_history:
        outcome.notes.append("暂无历史数据：历史库中没有往月数据，只生成本月各单位图表，不生成趋势图。")
    else:
        months = overview.trends[0].trend.months if overview.trends else []
        if months:
            outcome.notes.append(f"趋势图含 {month_label(months[0])}至{month_label(months[-1])} 共 {len(months)} 个月。")
    outcome.report += [f"图表图片（字体：{font.family}）："] + [f"  {p}" for p in paths]
    outcome.extra.update({"images": [str(p) for p in paths], "font": {"family": font.family, "path": font.path}})
    return outcome
