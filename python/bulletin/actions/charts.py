"""Chart actions: the 总览 sheet of the output workbook, and the same charts as PNG pictures."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Mapping

import openpyxl

from ..adapters.xlsx_files import read_grids
from ..config import load_chart_settings, load_registry, load_settings
from ..core.month import MonthData
from ..core.overview import Overview, build_overview, month_label
from ..engine import Analysis, analyse, compute
from .month import Outcome, UsageError, _month, _past, history_path

DEFAULT_OUT = Path("out") / "charts"


def overview_of(analysis: Analysis, past: Mapping[str, MonthData]) -> Overview:
    settings = load_settings()
    registry = analysis.data.registry or load_registry()  # the workbook's 部门 sheet when it has one

    def short(name: str) -> str:
        try:
            return registry.short(name)
        except KeyError:  # a department the registry does not know keeps its own spelling
            return name

    return build_overview(analysis, past, load_chart_settings(), short=short, district=settings.district,
                          reference_names={"city": settings.city, "district": settings.district})


def add_overview(wb: openpyxl.Workbook, analysis: Analysis, past: Mapping[str, MonthData]) -> None:
    """The 总览 sheet (native charts of this month and the history's trends) into a loaded workbook."""
    from ..adapters.xlsx_charts import write_overview

    write_overview(wb, overview_of(analysis, past))


def _backup(paths: list[Path]) -> None:
    """Pictures about to be replaced are kept in .backup/ beside them first (nothing lost)."""
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    for path in paths:
        if path.exists():
            folder = path.parent / ".backup"
            folder.mkdir(exist_ok=True)
            shutil.copy2(path, folder / f"{path.stem}.{stamp}{path.suffix}")


def charts(workbook: Path, history: Path | None = None, out_dir: Path | None = None,
           month: str | None = None) -> Outcome:
    """The overview charts of a month as PNG pictures in out_dir (default out/charts)."""
    from ..adapters.png_charts import ChartFontError, render_pngs

    workbook = Path(workbook)
    data = compute(read_grids(workbook), month=_month(month))
    outcome = Outcome(data)
    if data.has_errors:
        outcome.notes.append("输入数据有错误，不生成图表；请先改正（bulletin check 列出全部问题）。")
        return outcome
    past = _past(data, history_path(workbook, history), required=False)
    analysis = analyse(data, past)
    outcome.analysis = analysis
    overview = overview_of(analysis, past)
    out = Path(out_dir) if out_dir else DEFAULT_OUT
    settings = load_chart_settings()
    _backup([out / f"{c.file}.png" for c in (*settings.bars, *settings.trends)])
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
