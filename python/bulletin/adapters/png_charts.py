"""The overview charts as PNG pictures (matplotlib, Agg), for the 通报 document's 图表 annex and README.

Chinese text needs a CJK font: the preferred families of charts.yaml that are installed come first, then the
font shipped with the package (a subset of Noto Sans CJK SC, so a machine without CJK fonts draws the charts
too), then any installed font; a font is accepted only when the face matplotlib will actually render with
has a glyph for every character drawn, so no picture gets tofu boxes.
"""
from __future__ import annotations

from ..errors import UserError

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ..core.overview import BarChartData, Overview, TrendChartData, month_label
from ..resources import BUNDLED_FONT, BUNDLED_FONT_FAMILY
from .files import write_atomically

DPI = 150


class ChartFontError(UserError):
    """No installed font can draw the charts' Chinese text (message in Chinese)."""


@dataclass(frozen=True)
class ResolvedFont:
    """The font matplotlib draws the charts with, and where it was found."""

    family: str  # the family name given to matplotlib
    path: str  # the font file matplotlib resolves that family to
    face_index: int


@lru_cache(maxsize=None)
def _charmap(path: str, face_index: int) -> frozenset[int]:
    font = font_manager.get_font(font_manager.FontPath(path, face_index))
    return frozenset(font.get_charmap())


def covers(font: ResolvedFont, text: str) -> bool:
    """Whether the font's rendered face has a glyph for every non-space character of text."""
    need = {ord(c) for c in text if not c.isspace()}
    return need <= _charmap(font.path, font.face_index)


def _resolve(family: str) -> ResolvedFont | None:
    try:
        found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return None
    return ResolvedFont(family, str(getattr(found, "path", found)), int(getattr(found, "face_index", 0)))


def _add_bundled_font() -> None:
    """Makes the shipped font known to matplotlib (for this process only: nothing is installed)."""
    if not any(f.fname == str(BUNDLED_FONT) for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(BUNDLED_FONT))


def resolve_font(preferred: Iterable[str], text: str) -> ResolvedFont:
    """The first preferred family that resolves to a face covering `text`, else the bundled font if it does,
    else any installed font that does."""
    _add_bundled_font()
    seen = set()
    candidates = [*preferred, BUNDLED_FONT_FAMILY, *sorted({f.name for f in font_manager.fontManager.ttflist})]
    for family in candidates:
        if family in seen:
            continue
        seen.add(family)
        font = _resolve(family)
        if font is not None and covers(font, text):
            return font
    bundled = _charmap(str(BUNDLED_FONT), 0)
    missing = "".join(sorted({c for c in text if not c.isspace() and ord(c) not in bundled}))
    raise ChartFontError(f"找不到能显示图表全部文字的字体（随程序提供的字体缺少“{missing}”），无法生成图表图片；"
                         "请安装含这些字的中文字体（如 fonts-noto-cjk 或 fonts-wqy-zenhei）后重试。")


def _save(fig: Figure, path: Path) -> Path:
    """Through a temp file and an atomic rename, like every output."""
    FigureCanvasAgg(fig)
    return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))


def _nan(v: float | None) -> float:
    return math.nan if v is None else v


def bar_figure(b: BarChartData, colours: dict, subtitle: str) -> Figure:
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    ax = fig.add_subplot()
    x = list(range(len(b.labels)))
    values = [_nan(v) for v in b.values]
    fill = [f"#{colours.get(s, colours['bar'])}" if s in ("红", "黄") else f"#{colours['bar']}" for s in b.statuses]
    bars = ax.bar(x, values, color=fill, width=0.7)
    ax.bar_label(bars, labels=["" if v is None else f"{v:.2f}" for v in b.values], fontsize=6, rotation=90,
                 padding=2)
    ax.set_xticks(x, b.labels, rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_ylim(0, 112)
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_title(f"{b.spec.title}（{subtitle}）", fontsize=13)
    ax.set_xlabel("单位")
    ax.set_ylabel(b.axis)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles = [Patch(color=f"#{colours[s]}", label=f"状态：{s}") for s in ("红", "黄") if s in b.statuses]
    for status in ("红", "黄"):  # 0 % laggards have no bar: a marker in their colour at the axis
        zero = [i for i, v in enumerate(b.zero_laggards(status)) if v is not None]
        if zero:
            handles.append(ax.scatter(zero, [0] * len(zero), marker="^", s=60, color=f"#{colours[status]}",
                                      zorder=3, clip_on=False, label=f"{status}：为0"))
    if b.reference_label and b.reference_value is not None:
        handles.append(ax.axhline(b.reference_value, color=f"#{colours['reference']}", linestyle="--",
                                  label=f"{b.reference_label} {b.reference_value:.2f}%"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8)
    return fig


def trend_figure(t: TrendChartData, colours: dict) -> Figure:
    fig = Figure(figsize=(9, 4.6), layout="constrained")
    ax = fig.add_subplot()
    labels = [month_label(m) for m in t.trend.months]
    x = list(range(len(labels)))
    for i, s in enumerate(t.spec.series):
        values = [_nan(v) for v in t.trend.values[s.name]]
        ax.plot(x, values, marker="o", color=f"#{colours['lines'][i % len(colours['lines'])]}", label=s.name)
        last = next((v for v in reversed(t.trend.values[s.name]) if v is not None), None)
        if last is not None and len(t.spec.series) == 1:  # several end labels would overlap
            ax.annotate(f"{last:.2f}%" if t.spec.is_ratio else f"{last:,.0f}", (x[-1], last), fontsize=8,
                        textcoords="offset points", xytext=(4, 4))
    ax.set_xticks(x, labels, rotation=45 if len(x) > 6 else 0, ha="right" if len(x) > 6 else "center")
    if t.spec.is_ratio:
        ax.set_ylim(0, 105)
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(t.spec.title, fontsize=13)
    ax.set_xlabel("月份")
    ax.set_ylabel(t.spec.axis)
    ax.grid(alpha=0.3)
    if len(t.spec.series) > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    return fig


def render_pngs(overview: Overview, out_dir: Path, preferred_fonts: Iterable[str]) -> tuple[list[Path], ResolvedFont]:
    """One PNG per bar chart and per trend chart; returns the files and the font they were drawn with."""
    font = resolve_font(preferred_fonts, overview.all_text())
    subtitle = month_label(overview.month) if overview.month else ""
    out_dir = Path(out_dir)
    paths = []
    with matplotlib.rc_context({"font.family": [font.family], "axes.unicode_minus": False}):
        for b in overview.bars:
            paths.append(_save(bar_figure(b, overview.colours, subtitle), out_dir / f"{b.spec.file}.png"))
        for t in overview.trends:
            paths.append(_save(trend_figure(t, overview.colours), out_dir / f"{t.spec.file}.png"))
    return paths, font
