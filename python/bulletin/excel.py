"""Entry points of the bulletin.xlsm buttons (vba/Bulletin.bas: RunPython "import bulletin.excel as x; x.…()").

Each takes book=None and uses xw.Book.caller() otherwise, so tests pass a book in. Input problems end in a
Chinese message naming sheet and cell (and fill 校验结果); an unexpected error writes a log file beside the
workbook and shows a short message with its path, never a traceback.
"""
from __future__ import annotations

import datetime as dt
import gc
import importlib
import platform
import struct
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import openpyxl  # noqa: F401  first, from the top of a click's process: see bulletin.__main__.entry

from . import actions
from .actions import common
from .actions import month as month_actions
from .adapters import xlwings_conf
from .config import load_settings
from .errors import UserError
from .ports.xlwings_port import XlwingsPort

NOT_INSTALLED = "尚未安装此功能：{what}（需要 bulletin.actions.{module}.{function}）。请联系信息科更新程序。"


# What the user can do next (actions' `next`), in the workbook's words: its sheets and buttons.
NEXT = {
    "overwrite_text": "如需恢复为生成的文字，请在“问题文本”表把该段 D 列改为 F 列的文字。",
    "reset_status": "如需按规则重置某单位的状态，请清空其“状态”单元格后再点“重新计算”。",
    "close_previous_month": "请先打开上月（{subject}）的工作簿并点“结转下月”。",
    "close_month": "请先点“结转下月”存入本月（{subject}）。",
    "fix_problems": "请先改正（点“校验数据”，全部问题列在“校验结果”表）。",
    "set_email": "请在“部门”表中填写“{subject}”的“邮箱”。",
    "resend": "核实后如需重发“{subject}”，请在通报工作台的“邮件”页点“重发”。",
    "give_month": "请在“总体情况”表填写月份。",
    "refresh_charts": "“总览”图表在此处不刷新：请在通报工作台点“总览图表”查看。",
    "set_password": "请信息科在本机为邮箱 {subject} 设置发信密码。",
    "remind": "如需催报，请点“催报”按钮。",
    "give_returns": "请把各单位回传的工作簿放进总表旁的“回传”文件夹，再点“导入回传”。",
    "set_mailbox": "请信息科设置收取回传的办公邮箱。",
    "set_imap_password": "请信息科在本机为邮箱 {subject} 设置收信密码。",
}


def said(nexts: Any) -> list[str]:
    """The next steps as the workbook words them (each once)."""
    return list(dict.fromkeys(NEXT[n.action].format(subject=n.subject) for n in nexts))


def _book(book: Any) -> Any:
    if book is not None:
        return book
    import xlwings as xw

    return xw.Book.caller()


def _log(port: XlwingsPort, exc: BaseException) -> Path:
    folder = port.path.parent if port.path and port.path.parent.is_dir() else Path.cwd()
    path = folder / f"bulletin-error-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def _run(book: Any, title: str, step: Callable[[XlwingsPort], Any]) -> Any:
    """Run one action on the live book: its notes in a message box, errors handled as the module says."""
    if book is None:  # a click's own process (RunPython): see bulletin.__main__.entry on why the imports are frozen
        gc.freeze()
    port = XlwingsPort(_book(book))
    try:
        with port.busy():  # screen updating and calculation restored, status bar handed back, always
            try:
                outcome = step(port)
            except UserError as exc:
                port.set_status(title, f"未完成：{exc}")
                raise
    except UserError as exc:
        port.message("\n".join([f"{title}未完成：{exc}", *said(exc.next)]))
        return None
    except Exception as exc:  # never a traceback in Excel: a log file beside the workbook
        log = _log(port, exc)
        port.message(f"{title}时发生程序内部错误（{type(exc).__name__}）。详细信息已写入：\n{log}\n请把该文件发给信息科。")
        return None
    if outcome is not None and (outcome.notes or outcome.next):
        port.message("\n".join([*outcome.notes, *said(outcome.next)]))
    return outcome


def check(book: Any = None) -> Any:
    return _run(book, "校验数据", month_actions.check_book)


def recalculate(book: Any = None) -> Any:
    return _run(book, "重新计算", month_actions.recalculate_book)


def compare(book: Any = None) -> Any:
    return _run(book, "与上月比较", month_actions.compare_book)


def narrate(book: Any = None) -> Any:
    return _run(book, "生成问题文本", month_actions.narrate_book)


def close_month(book: Any = None) -> Any:
    return _run(book, "结转下月", month_actions.close_month_book)


def _delegate(book: Any, title: str, module: str, function: str, call: Callable[[Callable, Path], Any]) -> Any:
    """Steps of other areas that work on the saved file: the book is saved first, then their action runs."""
    try:
        target = getattr(importlib.import_module(f"bulletin.actions.{module}"), function)
    except (ImportError, AttributeError):
        target = None

    def step(port: XlwingsPort) -> Any:
        if target is None:
            port.message(NOT_INSTALLED.format(what=title, module=module, function=function))
            return None
        if port.path is None or not port.path.exists():
            raise actions.UsageError("请先保存工作簿（文件→另存为），再点此按钮")
        port.save()
        outcome = call(target, port.path)
        port.set_status(title, "完成", str(outcome.output) if outcome.output else None)
        if not outcome.notes:
            outcome.notes.append(f"{title}完成" + (f"：{outcome.output}" if outcome.output else "。"))
        return outcome

    return _run(book, title, step)


def render_document(book: Any = None) -> Any:
    return _delegate(book, "生成通报文档", "document", "render", lambda f, path: f(path))


def mail_preview(book: Any = None) -> Any:
    return _delegate(book, "邮件预览", "mail", "preview", lambda f, path: f(path))


def collect_send(book: Any = None) -> Any:
    """报送: each department's fill-in workbook and .eml draft (out/collect/<月份>/)."""
    return _delegate(book, "下发报送表", "collect", "send", lambda f, path: f(path))


def collect_status(book: Any = None) -> Any:
    """报送情况 from the ledger (the live book is not rewritten: `bulletin collect status` writes its sheet)."""
    return _delegate(book, "报送情况", "collect", "status", lambda f, path: f(path, write=False))


def collect_import(book: Any = None) -> Any:
    """导入回传: the returned workbooks in the 回传 folder beside the book, checked and merged into the live book,
    which is then saved (the ledger is written after the save, as for a file)."""
    from .actions import collect as collect_actions

    def step(port: XlwingsPort) -> Any:
        if port.path is None or not port.path.exists():
            raise actions.UsageError("请先保存工作簿（文件→另存为），再点此按钮")
        folder = port.path.parent / collect_actions.INBOX_FOLDER
        if not folder.is_dir() or not any(p.is_file() for p in folder.iterdir()):
            folder.mkdir(exist_ok=True)
            raise actions.UsageError(f"请先把各单位回传的工作簿保存到文件夹 {folder}，再点此按钮")
        outcome = collect_actions.import_book(port, [folder], save=port.save)
        port.set_status("导入回传", outcome.notes[0] if outcome.notes else "完成")
        return outcome

    return _run(book, "导入回传", step)


def collect_remind(book: Any = None) -> Any:
    """催报: drafts for the departments still missing or sent back, once per due date."""
    return _delegate(book, "催报", "collect", "remind", lambda f, path: f(path))


def environment(book: Any = None, vba_version: str | None = None) -> list[str]:
    """Lines of the 检查环境 report (also used by tests)."""
    import xlwings

    port = XlwingsPort(_book(book))
    conf_file = xlwings_conf.directory_path(port.path.parent) if port.path else None
    user_conf = xlwings_conf.user_path()
    if port.has_sheet(xlwings_conf.SHEET_NAME):  # xlwings reads the sheet first, then these files
        source = "工作簿内的 xlwings.conf 工作表（优先于配置文件）"
    elif conf_file is not None and conf_file.exists():
        source = f"工作簿旁的配置文件 {conf_file}"
    elif user_conf.exists():
        source = f"用户配置文件 {user_conf}"
    else:
        source = "未找到 xlwings.conf（工作簿旁和用户目录 .xlwings 下都没有），请运行 setup.bat"
    history = actions.history_path(port.path, None) if port.path else None
    out = actions.output_dir(port.path, None) if port.path else None
    configured = load_settings().history_file
    match = "一致" if vba_version == xlwings.__version__ else "不一致，请运行 make workbook 或重新安装"
    return [
        f"Python：{sys.executable}",
        f"Python 版本：{platform.python_version()}（{struct.calcsize('P') * 8} 位）",
        f"xlwings：Python 包 {xlwings.__version__}，工作簿 VBA 模块 {vba_version or '未知'}（{match}）",
        f"bulletin 程序位置：{Path(__file__).resolve().parent}",
        f"配置来源：{source}",
        f"历史库：{common.history_name(history)}（办公数据库，由 BULLETIN_DATABASE_URL 或 settings.yaml 的 "
        f"database_url 指定）" if history and common.configured_database() else
        f"历史库：{history}（{'已存在' if history.exists() else '尚未创建'}；"
        f"{'settings.yaml 的 history_file 指定，各副本共用' if configured else '工作簿旁'}）" if history else
        "历史库：工作簿尚未保存",
        f"输出文件夹：{out}" if out else "输出文件夹：工作簿尚未保存",
    ]


def check_environment(book: Any = None, vba_version: str | None = None) -> list[str]:
    lines = environment(book, vba_version)
    port = XlwingsPort(_book(book))
    try:
        port.set_status("检查环境", "；".join(lines[:3]))  # written at once (outside a step, through BulletinApply)
    except UserError as exc:  # e.g. an old workbook without the macro: the report is what this button is for
        lines.append(f"注意：{exc}")
    port.message("\n".join(lines))
    return lines
