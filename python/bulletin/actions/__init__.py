"""The action layer: each step of the monthly job written once, for the CLI and for the Excel buttons.

One module per area: `month` (check, recalc, run, compare, narrate, close/import month, template);
further areas (document, mail, charts, workbook environment) live beside it.
"""
from .month import (HISTORY_NAME, HistoryError, Outcome, UsageError, check, close_month, compare_cmd,
                    history_path, import_month, narrate, recalc, run, template)
from .charts import charts

__all__ = ["HISTORY_NAME", "HistoryError", "Outcome", "UsageError", "check", "close_month", "compare_cmd",
           "history_path", "import_month", "narrate", "recalc", "run", "template",
           "charts"]
from . import mail  # noqa: E402  (mail.preview / mail.send: each department's part, drafts or SMTP)
from .mail import preview as mail_preview, send as mail_send  # noqa: E402

__all__ += ["mail", "mail_preview", "mail_send"]
from .document import render  # noqa: E402  (the 通报 as .docx/.pdf from templates/通报.docx)

__all__ += ["render"]
from .month import (check_book, close_month_book, compare_book, narrate_book, recalc_in_place,  # noqa: E402
                    recalculate_book, run_book)  # the same steps on a workbook port (Excel buttons, --in-place)

__all__ += ["check_book", "close_month_book", "compare_book", "narrate_book", "recalc_in_place", "recalculate_book",
            "run_book"]
