"""Every call the console makes into the action layer, in one place (so a change there is one change here).

The steps that write into the workbook do what the buttons do, on a file port: the action on
OpenpyxlPort, then backups.save_in_place (a backup in 备份/, temp file, atomic rename; refused with
"请先关闭工作簿" while Excel/WPS has the file open). The file-level steps (document, mail, charts) write into
<workbook folder>/out (the action layer's default). Each returns the action's Outcome; its .json() is the CLI's --json shape.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .. import actions
from ..actions import backups, departments, edits
from ..actions import month as month_actions
from ..adapters.pdf_libreoffice import soffice
from ..ports.openpyxl_port import OpenpyxlPort

Progress = Callable[[str], None]

BOOK_STEPS: dict[str, Callable[..., actions.Outcome]] = {
    "check": month_actions.check_book,
    "recalc": month_actions.recalculate_book,
    "compare": month_actions.compare_book,
    "narrate": month_actions.narrate_book,
    "run": month_actions.run_book,
    "close-month": month_actions.close_month_book,
}


def _saved(port: OpenpyxlPort, outcome: actions.Outcome) -> actions.Outcome:
    backups.save_in_place(port)
    outcome.output = port.path
    return outcome


def book_step(step: str, workbook: Path, history: Path | None, progress: Progress | None = None,
              **options: Any) -> actions.Outcome:
    """One of the buttons' steps written into the workbook itself (options: overwrite_text for narrate/run)."""
    port = OpenpyxlPort(workbook, on_progress=progress)
    action = BOOK_STEPS[step]
    outcome = action(port) if step == "check" else action(port, history=history, **options)
    return _saved(port, outcome)


def render(workbook: Path, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    """The 通报 .docx, with its PDF and page pictures where LibreOffice is installed."""
    pdf = soffice() is not None
    if progress:
        progress("正在生成 Word 文档" + ("，并用 LibreOffice 转换 PDF（约需十几秒）……" if pdf else "……"))
    outcome = actions.render(workbook, None, None, history, pdf=pdf, pictures=pdf)
    if not pdf:
        outcome.notes.append("本机未安装 LibreOffice，只生成了 Word 文档（可在 WPS/Word 中另存为 PDF）。")
    return outcome


def charts(workbook: Path, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    if progress:
        progress("正在绘制总览图表……")
    return actions.charts(workbook, history)


def mail_preview(workbook: Path, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    if progress:
        progress("正在为各单位生成数据摘录和邮件草稿……")
    return actions.mail_preview(workbook, None, history)


def mail_send(workbook: Path, history: Path | None, progress: Progress | None = None,
              resend: str = "") -> actions.Outcome:
    """Send what has not gone; `resend`: one department whose message is sent again (after staff checked)."""
    return actions.mail_send(workbook, None, history, progress=progress, resend=[resend] if resend else [])


def environment(workbook: Path | None, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    return actions.check_environment(workbook, history)


def next_month(workbook: Path, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    if progress:
        progress("正在生成下月的输入工作簿……")
    return actions.next_month_workbook(workbook, None, history)


FILE_STEPS: dict[str, Callable[..., actions.Outcome]] = {
    "render": render, "charts": charts, "mail-preview": mail_preview, "mail-send": mail_send,
    "environment": environment, "next-month": next_month,
    # 报送 (defined below): fill-in workbooks and drafts, 报送情况 (also into the workbook's sheet), 催报 drafts
    "collect-send": lambda workbook, history, say: collect_send(workbook, history, say),
    "collect-status": lambda workbook, history, say: collect_status(workbook, history, say),
    "collect-remind": lambda workbook, history, say: collect_remind(workbook, history, say),
}


def annex_tables(workbook: Path, department: str | None = None) -> list[dict[str, Any]]:
    """Every annex; with `department`, only that department's rows and the annexes that have it."""
    tables = edits.annex_tables(OpenpyxlPort(workbook))
    if department is None:
        return tables
    mine = [{**t, "rows": [r for r in t["rows"] if r.get("department") == department]} for t in tables]
    return [t for t in mine if t["rows"]]


def set_status(workbook: Path, sheet: str, department: str, status: str,
               expected: str | None = None) -> actions.Outcome:
    port = OpenpyxlPort(workbook)
    return _saved(port, edits.set_status(port, sheet, department, status, expected=expected))


def paragraphs(workbook: Path) -> list[dict[str, Any]]:
    return edits.text_paragraphs(OpenpyxlPort(workbook))


def write_paragraph(workbook: Path, paragraph: str, text: str, expected: str | None = None) -> actions.Outcome:
    port = OpenpyxlPort(workbook)
    return _saved(port, edits.write_paragraph(port, paragraph, text, expected=expected))


# -- 报送 (the collection loop): the same actions as `bulletin collect …` ----------------------------------

def collect_send(workbook: Path, history: Path | None, progress: Progress | None = None,
                 mail: bool = False) -> actions.Outcome:
    if progress:
        progress("正在为各单位生成填报工作簿" + ("并发送……" if mail else "和邮件草稿……"))
    return actions.collect.send(workbook, history=history, mail=mail, progress=progress)


def collect_import(workbook: Path, history: Path | None, returns: list[Path], progress: Progress | None = None,
                   imap: bool = False) -> actions.Outcome:
    """Uploaded returns (many files at once) and/or the office mailbox, checked and merged into the workbook."""
    return actions.collect.import_returns(workbook, returns, history=history, imap=imap, progress=progress)


def collect_status(workbook: Path, history: Path | None, progress: Progress | None = None) -> actions.Outcome:
    return actions.collect.status(workbook, history=history)


def collect_remind(workbook: Path, history: Path | None, progress: Progress | None = None,
                   mail: bool = False) -> actions.Outcome:
    return actions.collect.remind(workbook, history=history, mail=mail, progress=progress)


def reset_status(workbook: Path, sheet: str, department: str) -> actions.Outcome:
    """The rules' proposal over staff's 状态: one department, or the whole annex when department is ""."""
    port = OpenpyxlPort(workbook)
    return _saved(port, edits.reset_status(port, sheet, department))


def restore_paragraph(workbook: Path, paragraph: str) -> actions.Outcome:
    port = OpenpyxlPort(workbook)
    return _saved(port, edits.restore_paragraph(port, paragraph))


def backup_list(workbook: Path) -> list[dict[str, Any]]:
    return backups.listing(workbook)


def restore_backup(workbook: Path, name: str) -> actions.Outcome:
    return backups.restore(workbook, name)


def month_state(workbook: Path, history: Path | None) -> dict[str, Any]:
    return month_actions.month_state(workbook, history)


def department_list(workbook: Path) -> dict[str, Any]:
    return departments.departments(OpenpyxlPort(workbook))


def set_department(workbook: Path, department: str, fields: dict[str, str]) -> actions.Outcome:
    port = OpenpyxlPort(workbook)
    return _saved(port, departments.set_department(port, department, fields))
