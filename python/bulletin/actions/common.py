"""What every action shares: the outcome record, where outputs and the history go, last months from the
history, the adopted text, backups of replaced outputs, the 总览 model. Decided here once for the CLI,
the buttons and the console."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..adapters.xlsx_output import read_text_sheet
from ..config import REPO_DIR, load_chart_settings, load_registry, load_settings
from ..core.month import MonthData, month_json, parse_month, previous_month
from ..core.overview import Overview, build_overview
from ..engine import Analysis
from ..errors import Next, UsageError
from ..narrative import merge_edits, render_facts, sections_from_rows

HISTORY_NAME = "history.sqlite"
DATABASE_URL_ENV = "BULLETIN_DATABASE_URL"
OUT_FOLDER = "out"


@dataclass
class Outcome:
    """What a step leaves for its front end: the month's data, the output file, notes and report lines."""

    data: MonthData | None
    output: Path | None = None
    analysis: Analysis | None = None
    text_rows: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should know (Chinese)
    report: list[str] = field(default_factory=list)  # lines printed by the CLI (tables, summaries; Chinese)
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for --json
    next: list[Next] = field(default_factory=list)  # what the user can do next (each front end words it)
    failed: bool = False  # an action-level failure (e.g. mails not sent): exit 1

    @property
    def narrative(self) -> dict[str, str]:
        return sections_from_rows(self.text_rows)

    def json(self) -> dict[str, Any]:
        result = month_json(self.data) if self.data else {}
        if self.analysis is not None:
            a = self.analysis
            result["previous_month"] = a.previous.month if a.previous else None
            result["changes"] = [] if a.comparison is None else plain(a.comparison.records)
            result["statuses"] = a.assessment.as_dict()
            result["facts"] = plain(a.facts.as_dict())
            result["narrative"] = self.narrative
        if self.output:
            result["output"] = str(self.output)
        if self.notes:
            result["notes"] = self.notes
        if self.next:
            result["next"] = [n.json() for n in self.next]
        result.update(self.extra)
        return result

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or (self.data is not None and self.data.has_errors) else 0


def plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, float) and v != v:
        return None
    return v


def month_arg(month: str | None) -> str | None:
    """--month as given (2023-06, 2023.6, 2023年6月), normalised; a wrong one is a usage error."""
    if month is None:
        return None
    parsed = parse_month(month)
    if not parsed:
        raise UsageError(f"月份“{month}”格式不对，应为 2023-06 这样的形式")
    return parsed


def output_dir(workbook: Path | None, out_dir: Path | None) -> Path:
    """Where every step writes: --out when given, else the `out` folder beside the workbook (never the
    current directory, which for a button is the interpreter's folder)."""
    if out_dir:
        return Path(out_dir)
    if workbook is None:
        raise UsageError("工作簿尚未保存，无法确定输出位置；请先保存工作簿")
    return out_folder(Path(workbook).resolve().parent)


def out_folder(folder: Path) -> Path:
    """The out folder of the workbooks in `folder`."""
    return Path(folder) / OUT_FOLDER


def result_path(workbook: Path, data: MonthData, out_dir: Path | None) -> Path:
    return output_dir(workbook, out_dir) / f"通报结果-{data.month or Path(workbook).stem}.xlsx"


def history_path(workbook: Path | None, history: Path | None) -> Path:
    """--history, else the office's history named in settings.yaml (history_file; relative to the install
    folder), else history.sqlite beside the workbook."""
    if history:
        return Path(history)
    configured = load_settings().history_file
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else REPO_DIR / path
    if workbook is None:
        raise UsageError("工作簿尚未保存，找不到历史库位置；请先保存工作簿")
    return Path(workbook).resolve().parent / HISTORY_NAME


def configured_database() -> str:
    """The office server's database URL: BULLETIN_DATABASE_URL, else settings.yaml's database_url ("" for none)."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or load_settings().database_url


def history_store(history: Path) -> Path | str:
    """Where the history and its ledgers (mail, submissions) are: with a database configured, all of them live
    there (an office server's PostgreSQL); else in the history file itself, as on one desk (nothing to
    install). `history` (from history_path) still places the files kept beside it (collect.secret)."""
    return configured_database() or Path(history)


def open_history(history: Path) -> Any:
    """The month history (history_sqlite.History) where history_store says it is. Imported here, not at the top:
    SQLAlchemy is loaded only by the steps that use a history, not by every start of the CLI."""
    from ..adapters.history_sqlite import History

    return History(history_store(history))


def history_exists(history: Path) -> bool:
    """Whether there is a history to read: a configured database always is; a file once a month was stored."""
    return bool(configured_database()) or Path(history).exists()


def history_name(history: Path) -> str:
    """The history as a message names it: the file, or the database without its password."""
    from ..adapters.office_db import shown  # SQLAlchemy only where a history is used (CLI start-up)

    url = configured_database()
    return shown(url) if url else str(history)


def past_months(data: MonthData, history: Path, *, required: bool) -> dict[str, MonthData]:
    """Months before this one from the history file ({} when there is none and it is not required)."""
    if data.month is None:
        return {}
    prev = previous_month(data.month)
    if not history_exists(history):
        if required:
            raise UsageError(f"历史库还没有建立（尚未存入任何月份），无法与上月（{prev}）比较。",
                             next=[Next("close_previous_month", prev)])
        return {}
    with open_history(history) as h:
        months = [m for m in h.months() if m < data.month]
        if required and prev not in months:
            stored = "、".join(h.months()) or "无"
            raise UsageError(f"历史库中没有上月（{prev}）的数据（已存月份：{stored}）。",
                             next=[Next("close_previous_month", prev)])
        return h.load_many(months) if months else {}


def adopted_text(analysis: Analysis, *sources: Mapping[str, Mapping[str, str]] | None,
                 overwrite: bool = False) -> list[dict[str, str]]:
    """The 问题文本 rows: the generated paragraphs, with the first source that has a 问题文本 sheet
    supplying staff edits (an earlier result workbook, else the workbook's own sheet)."""
    earlier = next((s for s in sources if s), {})
    return merge_edits(render_facts(analysis.facts), earlier, overwrite=overwrite)


def earlier_result_text(workbook: Path, data: MonthData, out_dir: Path | None) -> dict[str, dict[str, str]]:
    """问题文本 of an earlier result workbook of this month in the out folder ({} when there is none)."""
    return read_text_sheet(result_path(workbook, data, out_dir))


def printed_text(outcome: Outcome, workbook: Path, out_dir: Path | None) -> list[dict[str, str]]:
    """The text the document and the mail print: as staff left it in the result workbook of this month
    when there is one, else as narrated (with the edits of the workbook's own 问题文本 sheet)."""
    earlier = earlier_result_text(workbook, outcome.data, out_dir)
    return adopted_text(outcome.analysis, earlier) if earlier else outcome.text_rows


def kept_note(text_rows: Iterable[Mapping[str, str]]) -> int:
    return sum("保留" in r["note"] for r in text_rows)


def backup_outputs(paths: Iterable[Path]) -> None:
    """Outputs about to be replaced are kept in .backup/ beside them first (nothing lost)."""
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    for path in paths:
        path = Path(path)
        if path.exists():
            folder = path.parent / ".backup"
            folder.mkdir(exist_ok=True)
            shutil.copy2(path, folder / f"{path.stem}.{stamp}{path.suffix}")


def overview_of(analysis: Analysis, past: Mapping[str, MonthData]) -> Overview:
    """The 总览 model (charts of this month and the history's trends), for the workbook and the pictures."""
    settings = load_settings()
    registry = analysis.data.registry or load_registry()  # the workbook's 部门 sheet when it has one

    def short(name: str) -> str:
        try:
            return registry.short(name)
        except KeyError:  # a department the registry does not know keeps its own spelling
            return name

    return build_overview(analysis, past, load_chart_settings(), short=short, district=settings.district,
                          reference_names={"city": settings.city, "district": settings.district})


class NotABulletinWorkbook(UsageError):
    """A workbook without any annex sheet of the spec: one message instead of a problem per missing sheet."""


def require_bulletin(port: Any) -> None:
    """Refuse, in one message, a workbook that holds none of the annex sheets (another file chosen by mistake)."""
    from ..spec import ANNEXES

    names = port.sheet_names()
    if not any(a.sheet in names for a in ANNEXES):
        shown = "、".join(names[:5]) + ("等" if len(names) > 5 else "")
        raise NotABulletinWorkbook(f"这不是通报数据工作簿：其中没有“附件1”至“附件8”中的任何一张表（现有工作表：{shown}）。"
                                   f"请选择本月的通报数据工作簿。")


def require_bulletin_file(path: Path) -> None:
    """require_bulletin for a file (e.g. an upload) by its sheet names only."""
    import openpyxl

    class _Names:
        def sheet_names(self) -> list[str]:
            with open(path, "rb") as f:  # a file object: openpyxl would refuse a temp file's suffix
                wb = openpyxl.load_workbook(f, read_only=True)
                try:
                    return list(wb.sheetnames)
                finally:
                    wb.close()

    require_bulletin(_Names())


def summary(data: MonthData) -> str:
    errors = sum(p.severity == "error" for p in data.problems)
    return (f"错误 {errors} 条、警告 {len(data.problems) - errors} 条" if data.problems else "校验通过，未发现问题")


def today() -> dt.date:
    """Today, or BULLETIN_TODAY (a fixed day: reruns of a past month's collection, tests)."""
    import os

    given = os.environ.get("BULLETIN_TODAY")
    if given:
        try:
            return dt.date.fromisoformat(given)
        except ValueError:
            raise UsageError(f"环境变量 BULLETIN_TODAY 的值“{given}”不是日期（应为 2023-07-05 这样的形式）") from None
    return dt.date.today()


def lateness_for(data: MonthData, history: Path | None) -> list[Any]:
    """The units late or missing this month per the submission ledger (rules.yaml `timeliness`), with streaks;
    [] without a ledger for the month or without the rule."""
    from ..adapters.collect_ledger import read_ledger
    from ..config import load_rules_file
    from ..core.collect import lateness

    rule = load_rules_file().timeliness
    if rule is None or not data.month or history is None:
        return []
    rows, deadlines = read_ledger(history_store(history))
    return lateness(data.month, rows, deadlines, today(), rule)
