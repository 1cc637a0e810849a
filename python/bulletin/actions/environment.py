"""检查环境 on files: what this PC has for each step (Python, LibreOffice for the PDF, poppler for page
pictures, a CJK font for the charts) and what the history holds. The Excel button has its own report
(excel.environment: xlwings and the workbook's VBA), this one serves front ends without Excel."""
from __future__ import annotations

import platform
import struct
import sys
from pathlib import Path

from ..adapters import pdf_pages
from ..adapters.pdf_libreoffice import soffice
from .common import Outcome, history_exists, history_name, history_path, open_history


def _chart_font() -> str:
    from ..adapters.png_charts import ChartFontError, resolve_font
    from .charts import load_chart_settings

    try:
        return resolve_font(load_chart_settings().fonts, "通报图表殷都区").family
    except ChartFontError:
        return "未找到中文字体（图表无法生成，请安装 fonts-noto-cjk）"


def report(workbook: Path | None = None, history: Path | None = None) -> Outcome:
    """Lines of the report in outcome.report, the same as a dict in outcome.extra["environment"]."""
    office = soffice()
    items = {
        "Python": f"{sys.executable}（{platform.python_version()}，{struct.calcsize('P') * 8} 位）",
        "程序位置": str(Path(__file__).resolve().parents[1]),
        "LibreOffice（生成 PDF）": office or "未安装：只能生成 Word 文档",
        "poppler（页面图片）": "已安装" if pdf_pages.available() else "未安装：不生成页面图片",
        "图表字体": _chart_font(),
    }
    if workbook is not None or history is not None:
        path = history_path(Path(workbook) if workbook else Path.cwd() / "x", history)
        if history_exists(path):
            with open_history(path) as h:
                months = h.months()
            items["历史库"] = f"{history_name(path)}（已存月份：{'、'.join(months) or '无'}）"
        else:
            items["历史库"] = f"{path}（尚未创建：结转下月或补录上月后生成）"
    return Outcome(None, report=[f"{k}：{v}" for k, v in items.items()], extra={"environment": items})
