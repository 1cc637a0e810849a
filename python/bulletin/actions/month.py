"""Month actions: check, recalc, run (compare, rules, text), compare, narrate, close/import month, template."""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters.history_sqlite import History
from ..adapters.xlsx_files import grids_for, open_workbook, read_grids
from ..adapters.xlsx_output import (fill_analysis, fill_results, new_input_workbook, read_text_sheet, save_new,
                                   text_sheet_rows, write_problem_sheet, write_text_sheet)
from ..config import load_registry, load_rules_file, load_settings
from ..core.month import MonthData, month_json, parse_month, previous_month
from ..engine import Analysis, analyse, compute
from ..narrative import merge_edits, sections_from_rows
from ..spec import ANNEXES
from ..errors import UsageError

HISTORY_NAME = "history.sqlite"


@dataclass
class Outcome:
    data: MonthData | None
    output: Path | None = None
    analysis: Analysis | None = None
    text_rows: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should know (Chinese)
    report: list[str] = field(default_factory=list)  # lines printed by the CLI (tables, summaries; Chinese)
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for --json
    failed: bool = False  # an action-level failure (e.g. mails not sent): exit 1

    @property
    def narrative(self) -> dict[str, str]:
        return sections_from_rows(self.text_rows)

    def json(self) -> dict[str, Any]:
        result = month_json(self.data) if self.data else {}
        if self.analysis is not None:
            a = self.analysis
            result["previous_month"] = a.previous.month if a.previous else None
            result["changes"] = [] if a.comparison is None else _plain(a.comparison.records)
            result["statuses"] = a.assessment.statuses
            result["facts"] = _plain(a.facts.as_dict())
            result["narrative"] = self.narrative
        if self.output:
            result["output"] = str(self.output)
        if self.notes:
            result["notes"] = self.notes
        result.update(self.extra)
        return result

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or (self.data is not None and self.data.has_errors) else 0


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v != v:
        return None
    return v


def _month(month: str | None) -> str | None:
    if month is None:
        return None
    parsed = parse_month(month)
    if not parsed:
        raise UsageError(f"月份“{month}”格式不对，应为 2023-06 这样的形式")
    return parsed


def history_path(workbook: Path, history: Path | None) -> Path:
    """--history, else history.sqlite next to the workbook."""
    return Path(history) if history else Path(workbook).resolve().parent / HISTORY_NAME


def check(workbook: Path, month: str | None = None) -> Outcome:
    return Outcome(compute(read_grids(Path(workbook)), month=_month(month)))


def default_output(workbook: Path, data: MonthData, out_dir: Path | None) -> Path:
    out_dir = Path(out_dir) if out_dir else Path("out")
    return out_dir / f"通报结果-{data.month or Path(workbook).stem}.xlsx"


def _past(data: MonthData, history: Path | None, *, required: bool) -> dict[str, MonthData]:
    """Months before this one from the history file ({} when there is none and it is not required)."""
    if data.month is None:
        return {}
    prev = previous_month(data.month)
    if history is None or not Path(history).exists():
        if required:
            raise UsageError(f"找不到历史库 {history}，无法与上月（{prev}）比较；请先用 bulletin import-month 或 "
                             f"close-month 存入上月数据")
        return {}
    with History(Path(history)) as h:
        months = [m for m in h.months() if m < data.month]
        if required and prev not in months:
            stored = "、".join(h.months()) or "无"
            raise UsageError(f"历史库 {history} 中没有上月（{prev}）的数据（已有：{stored}）；请先用 "
                             f"bulletin import-month 存入上月数据")
        return h.load_many(months) if months else {}


def _backup(path: Path) -> None:
    """An output about to be replaced is kept in out/.backup/ first (nothing lost)."""
    if path.exists():
        folder = path.parent / ".backup"
        folder.mkdir(exist_ok=True)
        shutil.copy2(path, folder / f"{path.stem}.{dt.datetime.now():%Y%m%d-%H%M%S-%f}{path.suffix}")


def run(workbook: Path, out_dir: Path | None = None, month: str | None = None, *, history: Path | None = None,
        overwrite_text: bool = False) -> Outcome:
    """Check, recompute, compare with last month (when history holds it), rules, text, output workbook."""
    workbook = Path(workbook)
    wb = open_workbook(workbook)  # formulas and styles as they are; saved under a new name only
    data = compute(grids_for(workbook, wb), month=_month(month))
    outcome = Outcome(data)
    out = default_output(workbook, data, out_dir)
    fill_results(wb, data)
    if not data.has_errors:
        hist = history_path(workbook, history)
        past = _past(data, hist, required=False)
        analysis = analyse(data, past)
        outcome.analysis = analysis
        if analysis.previous is None and data.month:
            outcome.notes.append(f"历史库中没有上月（{previous_month(data.month)}）的数据，本次不做环比。")
        earlier = read_text_sheet(out) or text_sheet_rows(wb)  # an earlier output, else the input's own sheet
        outcome.text_rows = merge_edits(analysis.paragraphs, earlier, overwrite=overwrite_text)
        kept = sum("保留" in r["note"] for r in outcome.text_rows)
        if kept:
            outcome.notes.append(f"{kept} 段文字已由工作人员修改，本次保留修改稿（新生成的文字在旁列；"
                                 f"如需覆盖请加 --overwrite-text）。")
        fill_analysis(wb, analysis, load_rules_file().names)
        from .charts import add_overview  # here, not at the top: charts imports this module

        add_overview(wb, analysis, past)
        write_text_sheet(wb, outcome.text_rows)
    else:
        outcome.notes.append("输入数据有错误，已跳过环比、规则和文字生成；请按“校验结果”改正后重新运行。")
    write_problem_sheet(wb, data.problems)
    _backup(out)
    outcome.output = save_new(wb, out, protect=[workbook])
    return outcome


def recalc(workbook: Path, out_dir: Path | None = None, month: str | None = None) -> Outcome:
    """Check + recompute + output workbook (written even when there are errors: it lists them)."""
    workbook = Path(workbook)
    wb = open_workbook(workbook)
    outcome = Outcome(compute(grids_for(workbook, wb), month=_month(month)))
    fill_results(wb, outcome.data)
    write_problem_sheet(wb, outcome.data.problems)
    outcome.output = save_new(wb, default_output(workbook, outcome.data, out_dir), protect=[workbook])
    return outcome


def _analysed(workbook: Path, month: str | None, history: Path | None, *, required: bool) -> Outcome:
    data = compute(read_grids(Path(workbook)), month=_month(month))
    outcome = Outcome(data)
    if data.has_errors:
        outcome.notes.append("输入数据有错误，请先改正（bulletin check 列出全部问题）。")
        return outcome
    outcome.analysis = analyse(data, _past(data, history_path(workbook, history), required=required))
    outcome.text_rows = merge_edits(outcome.analysis.paragraphs, {})
    return outcome


def compare_cmd(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    return _analysed(workbook, month, history, required=True)


def narrate(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    return _analysed(workbook, month, history, required=False)


def close_month(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """Store the month's validated inputs and results; refuses a month with errors."""
    workbook = Path(workbook)
    data = compute(read_grids(workbook), month=_month(month))
    outcome = Outcome(data)
    if data.has_errors:
        outcome.notes.append("输入数据有错误，不能结转存入历史库；请先改正。")
        return outcome
    if not data.month:
        raise UsageError("无法确定月份：请在“总体情况”表填写月份，或用 --month 指定")
    path = history_path(workbook, history)
    with History(path) as h:
        replaced = h.has(data.month)
        h.store(data, source=workbook.name)
    outcome.notes.append(f"{data.month} 已{'替换' if replaced else '存入'}历史库 {path}")
    return outcome


def import_month(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """Back-fill a past month from an old workbook of the same layout."""
    return close_month(workbook, month, history)


def template(month: str, out: Path) -> Outcome:
    """An empty input workbook for a month, each annex prefilled with its usual departments."""
    month = _month(month)
    if not month:
        raise UsageError("请用 --month 指定月份，如 --month 2023-07")
    rows, references = prefilled_rows()
    wb = new_input_workbook(load_settings().district, rows, {"月份": month}, references=references)
    return Outcome(None, save_new(wb, Path(out)))


def prefilled_rows() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Each annex's usual departments (from the registry) and its reference rows (city, district)."""
    settings, registry = load_settings(), load_registry()
    rows = {}
    for spec in ANNEXES:
        name = spec.name_column.name
        rows[spec.sheet] = [{name: d.short, "_section": "公共服务单位" if d.category == "公共服务单位" else None}
                            for d in registry.in_annex(spec.number)]
    references = {spec.sheet: [{spec.name_column.name: settings.reference_name(k)} for k in spec.reference_rows]
                  for spec in ANNEXES}
    return rows, references



# -- the same steps against a workbook port (the Excel buttons, and the CLI's --in-place) ---------------

def _book_month(port: Any, month: str | None = None) -> MonthData:
    """Read the book (one block per sheet), compute, and list the problems in 校验结果."""
    port.progress("正在读取并校验数据……")
    data = compute(port.read_grids(), month=_month(month))
    port.write_problems(data.problems)
    return data


def _summary(data: MonthData) -> str:
    errors = sum(p.severity == "error" for p in data.problems)
    return (f"错误 {errors} 条、警告 {len(data.problems) - errors} 条" if data.problems else "校验通过，未发现问题")


def _refuse_on_errors(port: Any, data: MonthData, outcome: Outcome, step: str) -> bool:
    if not data.has_errors:
        return False
    first = next(p for p in data.problems if p.severity == "error")
    outcome.notes.append(f"输入数据有错误（{_summary(data)}），未能{step}。第一处：{first.where} {first.message}"
                         f"。全部问题见“校验结果”表。")
    return True


def _book_history(port: Any, history: Path | None) -> Path:
    if port.path is None and history is None:
        raise UsageError("工作簿尚未保存，找不到历史库位置；请先保存工作簿")
    return history_path(port.path, history)


def check_book(port: Any, month: str | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    outcome.notes.append(f"校验完成：{_summary(data)}。" if data.problems else "校验通过，未发现问题。")
    port.set_status("校验数据", _summary(data))
    return outcome


def recalculate_book(port: Any, month: str | None = None, history: Path | None = None) -> Outcome:
    """Check, write the computed columns, and the rules' 状态 (with 上月/变化 when history has last month)."""
    data = _book_month(port, month)
    outcome = Outcome(data)
    port.progress("正在重新计算……")
    port.write_computed(data)
    if not _refuse_on_errors(port, data, outcome, "标注状态"):
        hist = _book_history(port, history)
        past = _past(data, hist, required=False)
        outcome.analysis = analyse(data, past)
        port.write_statuses(outcome.analysis, load_rules_file().names)
        outcome.notes.append(f"重新计算完成：{_summary(data)}；状态列已按规则标注。")
        if port.write_overview(outcome.analysis, past):
            outcome.notes.append("“总览”表的图表已按本月数据更新。")
        else:
            outcome.notes.append("“总览”图表在此处不刷新：请查看 bulletin run 生成的结果工作簿，或运行 bulletin charts。")
    port.set_status("重新计算", _summary(data))
    return outcome


def compare_book(port: Any, month: str | None = None, history: Path | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(port, data, outcome, "与上月比较"):
        past = _past(data, _book_history(port, history), required=True)
        outcome.analysis = analyse(data, past)
        port.write_computed(data)
        port.write_statuses(outcome.analysis, load_rules_file().names)
        outcome.notes.append(f"已与 {outcome.analysis.previous.month} 比较：各附件“状态”列右侧为上月值和变化。")
    port.set_status("与上月比较", _summary(data))
    return outcome


def narrate_book(port: Any, month: str | None = None, history: Path | None = None, *,
                 overwrite_text: bool = False) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(port, data, outcome, "生成问题文本"):
        outcome.analysis = analyse(data, _past(data, _book_history(port, history), required=False))
        _write_text(port, outcome, overwrite_text)
    port.set_status("生成问题文本", _summary(data))
    return outcome


def _write_text(port: Any, outcome: Outcome, overwrite_text: bool) -> None:
    """The analysis's paragraphs into 问题文本, keeping the paragraphs staff edited."""
    port.progress("正在生成问题文本……")
    outcome.text_rows = merge_edits(outcome.analysis.paragraphs, port.read_text(), overwrite=overwrite_text)
    port.write_text(outcome.text_rows)
    kept = sum("保留" in r["note"] for r in outcome.text_rows)
    outcome.notes.append(f"问题文本已写入“问题文本”表（{len(outcome.text_rows)} 段"
                         + (f"，其中 {kept} 段保留了工作人员的修改" if kept else "") + "）。")


def run_book(port: Any, month: str | None = None, history: Path | None = None, *,
             overwrite_text: bool = False) -> Outcome:
    """The whole job into the book itself: computed columns, statuses (and changes), problems, text —
    from one read and one analysis of the book."""
    outcome = recalculate_book(port, month, history)
    if outcome.analysis is not None:
        _write_text(port, outcome, overwrite_text)
        port.set_status("生成问题文本", _summary(outcome.data))
    return outcome


def close_month_book(port: Any, month: str | None = None, history: Path | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(port, data, outcome, "结转"):
        if not data.month:
            raise UsageError("无法确定月份：请在“总体情况”表填写月份")
        path = _book_history(port, history)
        with History(path) as h:
            replaced = h.has(data.month)
            h.store(data, source=port.path.name if port.path else "")
        outcome.notes.append(f"{data.month} 已{'替换' if replaced else '存入'}历史库 {path}")
    port.set_status("结转下月", outcome.notes[-1] if outcome.notes else _summary(data))
    return outcome


def recalc_in_place(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """The 重新计算 button without Excel: written into the workbook itself (VBA and buttons kept) through a
    temp file and an atomic rename, after a timestamped backup beside it."""
    from ..ports.openpyxl_port import OpenpyxlPort

    port = OpenpyxlPort(Path(workbook))
    outcome = recalculate_book(port, month, history)
    backup = port.save_in_place()
    outcome.output = port.path
    outcome.notes.append(f"已写回 {port.path.name}；原文件备份为 {backup.name}")
    return outcome
