"""Document action: the month's 通报 as a GB/T 9704 Word file (and PDF) from templates/通报.docx.

Used by `bulletin render` and, later, the 生成通报文档 button. The content is the engine's: figures,
statuses and paragraphs from the same analysis as `bulletin run`; a paragraph staff edited in an earlier
output's 问题文本 sheet is printed as edited.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..adapters import pdf_pages
from ..adapters.docx_output import TEMPLATE, render_docx
from ..adapters.pdf_libreoffice import to_pdf
from ..config import load_document_settings, load_settings
from ..core.document import PARAM_KEYS, DocumentError, build_context
from ..core.month import MonthData, previous_month
from ..errors import Next
from .common import Outcome, backup_outputs, kept_note, output_dir, printed_text
from .month import narrate

def document_path(workbook: Path, data: MonthData, out_dir: Path | None) -> Path:
    return output_dir(workbook, out_dir) / f"通报-{data.month or Path(workbook).stem}.docx"


PICTURE_DPI = 60  # page pictures for a quick look (the console), not for print


def render(workbook: Path, out_dir: Path | None = None, month: str | None = None, history: Path | None = None,
           pdf: bool = False, *, template: Path | None = None, today: dt.date | None = None,
           pictures: bool = False) -> Outcome:
    """Write out/通报-<月份>.docx (and .pdf with `pdf`); a replaced file is first copied to out/.backup/.
    `pictures` (with `pdf`): every page also as a PNG in out/pages/ (needs poppler-utils)."""
    workbook = Path(workbook)
    outcome = narrate(workbook, month, history, out_dir)
    data, analysis = outcome.data, outcome.analysis
    if data.has_errors or analysis is None:
        outcome.notes.append("输入数据有错误，不能生成通报文档。")
        outcome.next.append(Next("fix_problems"))
        return outcome
    if analysis.previous is None and data.month:
        outcome.notes.append(f"历史库中没有上月（{previous_month(data.month)}）的数据，通报中不含环比。")
    outcome.text_rows = printed_text(outcome, workbook, out_dir)
    kept = kept_note(outcome.text_rows)
    if kept:
        outcome.notes.append(f"{kept} 段文字采用工作人员在“问题文本”表中修改后的文本。")
    settings = load_document_settings()
    context = build_context(data, analysis.assessment.statuses, outcome.text_rows, settings,
                            district=load_settings().district, today=today or dt.date.today())
    unset = [k for k in PARAM_KEYS if k in ("发文字号", "印发日期") and not data.params.get(k)]
    if unset:
        outcome.notes.append(f"“参数”表未填写{'、'.join(unset)}，已用默认值（{'；'.join(context[_KEY[k]] for k in unset)}）。")
    docx = document_path(workbook, data, out_dir)
    backup_outputs([docx])
    outcome.output = render_docx(context, docx, Path(template) if template else TEMPLATE)
    if pdf:
        target = docx.with_suffix(".pdf")
        backup_outputs([target])
        outcome.extra["pdf"] = str(to_pdf(outcome.output, target))
        outcome.report.append(f"PDF 文件：{outcome.extra['pdf']}")
        if pictures and pdf_pages.available():
            images = pdf_pages.all_pages(Path(outcome.extra["pdf"]), docx.parent / "pages", PICTURE_DPI)
            outcome.extra["pages"] = [str(p) for p in images]
        elif pictures:
            outcome.notes.append("未安装 poppler-utils（pdftoppm），不生成页面图片；PDF 已生成。")
    return outcome


_KEY = {"发文字号": "doc_number", "印发日期": "print_date"}

__all__ = ["DocumentError", "document_path", "load_document_settings", "render"]
