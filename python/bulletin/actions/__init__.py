"""The action layer: each step of the monthly job written once, for the CLI and for the Excel buttons.

One module per area: `month` (check, recalc, run, compare, narrate, close/import month, template, and the
same steps on a workbook port for the buttons), `document` (the 通报 .docx/.pdf), `mail` (each department
its part), `charts` (the 总览 pictures), `edits` (状态 and paragraph edits made outside Excel, the annex
tables read back), `environment` (检查环境 without Excel); for the office server `office` (the database: where
it is, upgrade, copying a history into it), `accounts` and `audit`. The areas other than `month` load on first
use, so a command pays only for the libraries it needs (python-docx, SMTP, SQLAlchemy…).
"""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import UsageError
from .common import HISTORY_NAME, Outcome, history_path, output_dir
from .month import (check, check_book, close_month, close_month_book, compare_book, compare_cmd, import_month,
                    narrate, narrate_book, next_month_workbook, recalc, recalc_in_place, recalculate_book, run,
                    run_book, template)
from .charts import charts  # eager: the function must win over the submodule of the same name

_LAZY = {  # name -> (module, attribute or None for the module itself)
    "render": ("document", "render"),
    "mail": ("mail", None),
    "mail_preview": ("mail", "preview"),
    "mail_send": ("mail", "send"),
    "check_environment": ("environment", "report"),
    "edits": ("edits", None),
    "collect": ("collect", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    return module if attribute is None else getattr(module, attribute)


__all__ = ["HISTORY_NAME", "Outcome", "output_dir", "UsageError", "check", "check_book", "close_month",
           "close_month_book", "compare_book", "compare_cmd", "history_path", "import_month", "narrate",
           "narrate_book", "next_month_workbook", "recalc", "recalc_in_place", "recalculate_book", "run", "run_book", "template",
           "charts", *_LAZY]
