"""Month actions: check, recalc, run (compare, rules, text), compare, narrate, close/import month, template.

Every step is written once, against the workbook port: the buttons run it on the live book (XlwingsPort),
the CLI and the console on a file (OpenpyxlPort), saved either as a new result workbook in the out folder
or, for --in-place and the console, back into the file itself (backup, temp file, atomic rename).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from ..adapters.workbook_layout import PARAM_NOTES, ParamRow, lay_out
from ..adapters.xlsx_output import save_new
from ..config import (load_all, load_document_settings, load_messages, load_registry, load_rules_file,
                      load_settings)
from ..core.month import MonthData, next_month, previous_month
from ..core.numbers import parse_date, visible
from ..core.problems import Problem
from ..core.department_sheet import carried_rows, department_grid, overlay
from ..core.registry import REGISTRY_COLUMNS, REGISTRY_OPTIONAL, Registry
from ..engine import ParamError, analyse, compute, ratio_unit_for, rules_for, setting_sources
from ..errors import Next, UsageError
from ..ports.openpyxl_port import OpenpyxlPort
from ..spec import ANNEXES, DOCUMENT_PARAM_KEYS, PARAM_SHEET, RATIO_UNIT_PARAM
from .common import (HISTORY_NAME, Outcome, adopted_text, backup_outputs, earlier_result_text, history_exists,
                     history_path, kept_note, lateness_for, month_arg, output_dir, overview_of,
                     open_history, past_months, require_bulletin, result_path, summary)

__all__ = ["HISTORY_NAME", "Outcome", "UsageError", "check", "check_book", "close_month", "close_month_book",
           "compare_book", "compare_cmd", "history_path", "import_month", "narrate", "narrate_book", "output_dir",
           "recalc", "recalc_in_place", "recalculate_book", "run", "run_book", "template"]

TextSource = Callable[[MonthData], Mapping[str, Mapping[str, str]]]
StatusSource = Callable[[MonthData], Mapping[str, Mapping[str, str]]]  # sheet -> department -> 状态 staff set


# -- the steps, against a workbook port ------------------------------------------------------------------

def _book_month(port: Any, month: str | None = None) -> MonthData:
    """Read the book (one block per sheet), compute, and list the problems in 校验结果."""
    port.progress("正在读取并校验数据……")
    require_bulletin(port)
    data = compute(port.read_grids(), month=month_arg(month))
    data.problems += param_problems(data)
    port.write_problems(data.problems)
    return data


def _analyse(port: Any, data: MonthData, past: Mapping[str, MonthData], *, reset_status: bool = False,
             also: StatusSource | None = None, history: Path | None = None) -> Any:
    """The analysis with the 状态 staff left in the book as the confirmed statuses (unless a reset is asked
    for: then the rules' proposal is written over them); `also`: statuses staff set elsewhere (the month's
    result workbook), which win."""
    confirmed: dict[str, dict[str, str]] = {}
    if not reset_status:
        confirmed = port.read_statuses(data, rules_for(data.params))
        for sheet, rows in (also(data) if also else {}).items():
            confirmed.setdefault(sheet, {}).update(rows)
    return analyse(data, past, confirmed=confirmed, lateness=lateness_for(data, history))


def param_problems(data: MonthData) -> list[Problem]:
    """Every 参数 value the later steps read, checked now and named by its cell (so `check` and
    `close-month` refuse what `run` would refuse)."""
    msg, problems = load_messages(), []
    for name, raw in data.params.items():
        try:
            if name == RATIO_UNIT_PARAM:
                ratio_unit_for({name: raw})
            else:
                rules_for({name: raw})
        except ParamError:
            expected = "应为“%”或“个百分点”" if name == RATIO_UNIT_PARAM else "应为数字"
        else:
            if name == "印发日期" and parse_date(raw) is None:
                expected = "应为日期，如 2023-07-10"
            else:
                continue
        problems.append(msg.problem("param.invalid", PARAM_SHEET, data.param_cells.get(name, ""),
                                    name=name, value=visible(raw), expected=expected))
    return problems


def _refuse_on_errors(data: MonthData, outcome: Outcome, step: str) -> bool:
    if not data.has_errors:
        return False
    first = next(p for p in data.problems if p.severity == "error")
    outcome.notes.append(f"输入数据有错误（{summary(data)}），未能{step}。第一处：{first.where} "
                         f"{first.message.rstrip('。')}。全部问题见“校验结果”表。")
    outcome.next.append(Next("fix_problems"))
    return True


def check_book(port: Any, month: str | None = None) -> Outcome:
    load_all()  # 校验数据 checks every staff file too; the other steps load the files they use
    data = _book_month(port, month)
    outcome = Outcome(data)
    outcome.notes.append(f"校验完成：{summary(data)}。" if data.problems else "校验通过，未发现问题。")
    sources = [] if any(p.rule == "param.invalid" for p in data.problems) else setting_sources(data)
    outcome.report.append("参数取值及来源：" + "；".join(f"{name} = {value}（{where}）" for name, value, where in sources))
    outcome.extra["settings"] = [{"name": n, "value": v, "source": w} for n, v, w in sources]
    port.set_status("校验数据", summary(data))
    return outcome


def recalculate_book(port: Any, month: str | None = None, history: Path | None = None, *,
                     reset_status: bool = False) -> Outcome:
    """Check, write the computed columns, and the rules' 状态 (with 上月/变化 when history has last month)."""
    data = _book_month(port, month)
    outcome = Outcome(data)
    port.progress("正在重新计算……")
    port.write_computed(data)
    if not _refuse_on_errors(data, outcome, "标注状态"):
        past = past_months(data, history_path(port.path, history), required=False)
        outcome.analysis = _analyse(port, data, past, reset_status=reset_status,
                                    history=history_path(port.path, history))
        port.write_statuses(outcome.analysis, load_rules_file().names)
        kept = sum(e.by_staff for rows in outcome.analysis.assessment.statuses.values() for e in rows.values())
        outcome.notes.append(f"重新计算完成：{summary(data)}；状态列已按规则标注"
                             + (f"（保留了工作人员确认的 {kept} 处状态）" if kept else "") + "。")
        if kept:
            outcome.next.append(Next("reset_status"))
        elif reset_status:
            outcome.notes.append("工作人员确认的状态已按规则重置。")
        if outcome.analysis.previous is None and data.month:
            outcome.notes.append(f"历史库中没有上月（{previous_month(data.month)}）的数据，本次不做环比。")
        if port.draws_charts:
            port.write_overview(overview_of(outcome.analysis, past))
            outcome.notes.append("“总览”表的图表已按本月数据更新。")
        else:
            outcome.next.append(Next("refresh_charts"))
    port.set_status("重新计算", summary(data))
    return outcome


def compare_book(port: Any, month: str | None = None, history: Path | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(data, outcome, "与上月比较"):
        past = past_months(data, history_path(port.path, history), required=True)
        outcome.analysis = _analyse(port, data, past, history=history_path(port.path, history))
        port.write_computed(data)
        port.write_statuses(outcome.analysis, load_rules_file().names)
        outcome.notes.append(f"已与 {outcome.analysis.previous.month} 比较：各附件“状态”列右侧为上月值和变化。")
    port.set_status("与上月比较", summary(data))
    return outcome


def narrate_book(port: Any, month: str | None = None, history: Path | None = None, *,
                 overwrite_text: bool = False, earlier: TextSource | None = None, announce: bool = True,
                 confirmed: StatusSource | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(data, outcome, "生成问题文本"):
        outcome.analysis = _analyse(port, data, past_months(data, history_path(port.path, history), required=False),
                                    also=confirmed, history=history_path(port.path, history))
        _write_text(port, outcome, overwrite_text, earlier, announce)
    port.set_status("生成问题文本", summary(data))
    return outcome


def _write_text(port: Any, outcome: Outcome, overwrite_text: bool, earlier: TextSource | None,
                announce: bool = True) -> None:
    """The analysis's paragraphs into 问题文本, keeping the paragraphs staff edited (in an earlier result
    workbook when the caller names one, else in the book's own sheet)."""
    port.progress("正在生成问题文本……")
    outcome.text_rows = adopted_text(outcome.analysis, earlier(outcome.data) if earlier else None, port.read_text(),
                                     overwrite=overwrite_text)
    port.write_text(outcome.text_rows)
    kept = kept_note(outcome.text_rows)
    if announce:
        outcome.notes.append(f"问题文本已写入“问题文本”表（{len(outcome.text_rows)} 段"
                             + (f"，其中 {kept} 段保留了工作人员的修改，新生成的文字在旁列" if kept else "") + "）。")
        if kept:
            outcome.next.append(Next("overwrite_text"))


def run_book(port: Any, month: str | None = None, history: Path | None = None, *,
             overwrite_text: bool = False, earlier: TextSource | None = None, reset_status: bool = False) -> Outcome:
    """The whole job into the book itself: computed columns, statuses (and changes), problems, text —
    from one read and one analysis of the book."""
    outcome = recalculate_book(port, month, history, reset_status=reset_status)
    if outcome.analysis is not None:
        _write_text(port, outcome, overwrite_text, earlier)
        port.set_status("生成问题文本", summary(outcome.data))
    return outcome


def close_month_book(port: Any, month: str | None = None, history: Path | None = None) -> Outcome:
    data = _book_month(port, month)
    outcome = Outcome(data)
    if not _refuse_on_errors(data, outcome, "结转"):
        if not data.month:
            raise UsageError("无法确定月份。", next=[Next("give_month")])
        path = history_path(port.path, history)
        with open_history(path) as h:
            replaced = h.has(data.month)
            h.store(data, source=port.path.name if port.path else "")
            months = h.months()
        outcome.notes.append(f"已重新存入 {data.month}（替换先前存入的 {data.month}，其他月份不变）。" if replaced else
                             f"{data.month} 已存入历史库（现有 {len(months)} 个月：{'、'.join(months)}）。")
        outcome.report.append(f"历史库：{path}")
        outcome.extra["history"] = {"path": str(path), "months": months, "replaced": replaced}
    port.set_status("结转下月", outcome.notes[-1] if outcome.notes else summary(data))
    return outcome


# -- the same steps on files (CLI, console) ------------------------------------------------------------

def file_port(workbook: Path) -> OpenpyxlPort:
    """A workbook file to read and write a result from (its VBA is not carried into an .xlsx result)."""
    return OpenpyxlPort(Path(workbook), keep_vba=False)


def check(workbook: Path, month: str | None = None) -> Outcome:
    return check_book(file_port(workbook), month)


def _save_result(port: OpenpyxlPort, outcome: Outcome, workbook: Path, out_dir: Path | None) -> Outcome:
    """The result workbook: a new file in the out folder (an earlier one kept in out/.backup/)."""
    out = result_path(workbook, outcome.data, out_dir)
    backup_outputs([out])
    outcome.output = port.save_as(out, protect=[workbook])
    return outcome


def run(workbook: Path, out_dir: Path | None = None, month: str | None = None, *, history: Path | None = None,
        overwrite_text: bool = False, reset_status: bool = False) -> Outcome:
    """Check, recompute, compare with last month (when history holds it), rules, text: the result workbook."""
    workbook = Path(workbook)
    port = file_port(workbook)
    outcome = run_book(port, month, history, overwrite_text=overwrite_text, reset_status=reset_status,
                       earlier=lambda data: earlier_result_text(workbook, data, out_dir))
    return _save_result(port, outcome, workbook, out_dir)


def recalc(workbook: Path, out_dir: Path | None = None, month: str | None = None,
           history: Path | None = None) -> Outcome:
    """The 重新计算 step into a new result workbook (written even when there are errors: it lists them)."""
    workbook = Path(workbook)
    port = file_port(workbook)
    return _save_result(port, recalculate_book(port, month, history), workbook, out_dir)


def recalc_in_place(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """The 重新计算 button without Excel: written into the workbook itself (VBA and buttons kept) through a
    temp file and an atomic rename, after a backup in 备份/ beside it (actions.backups)."""
    from .backups import save_in_place

    port = OpenpyxlPort(Path(workbook))
    outcome = recalculate_book(port, month, history)
    backup = save_in_place(port)
    outcome.output = port.path
    outcome.notes.append(f"已写回 {port.path.name}；原文件备份为 {backup.parent.name}/{backup.name}")
    return outcome


def compare_cmd(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    return compare_book(file_port(workbook), month, history)


def narrate(workbook: Path, month: str | None = None, history: Path | None = None,
            out_dir: Path | None = None) -> Outcome:
    """The text of a month (nothing is saved: the document, mail and chart steps start from it). The 状态
    staff confirmed count wherever they set them: in the workbook, and in this month's result workbook in
    the out folder (where a run leaves them for review)."""
    workbook = Path(workbook)
    return narrate_book(file_port(workbook), month, history, announce=False,
                        confirmed=lambda data: result_statuses(workbook, data, out_dir))


def result_statuses(workbook: Path, data: MonthData, out_dir: Path | None) -> dict[str, dict[str, str]]:
    """The 状态 staff set in this month's result workbook ({} when there is none, or it is the workbook)."""
    result = result_path(workbook, data, out_dir)
    if not result.exists() or result.resolve() == Path(workbook).resolve():
        return {}
    port = file_port(result)
    shown = compute(port.read_grids(), month=data.month)
    return port.read_statuses(shown, rules_for(data.params))


def close_month(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """Store the month's validated inputs and results; refuses a month with errors."""
    return close_month_book(file_port(workbook), month, history)


def import_month(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """Back-fill a past month from an old workbook of the same layout."""
    return close_month(workbook, month, history)


def layout_options() -> dict[str, Any]:
    """What a new workbook's 参数 and 部门 sheets show of the staff files: each 参数 row with the value its
    file holds (the cell itself stays empty), and the registry's columns (the rows stay in departments.csv)."""
    rules, settings, document = load_rules_file(), load_settings(), load_document_settings()
    params = [ParamRow(p.name, "rules.yaml", p.value, p.explain) for p in rules.params.values()]
    params.append(ParamRow(RATIO_UNIT_PARAM, "settings.yaml", settings.ratio_change_unit, PARAM_NOTES[RATIO_UNIT_PARAM]))
    params += [ParamRow(k, "document.yaml", document.defaults[k], PARAM_NOTES[k]) for k in DOCUMENT_PARAM_KEYS]
    return {"params": params, "department_columns": (*REGISTRY_COLUMNS, *REGISTRY_OPTIONAL)}


def template(month: str, out: Path, history: Path | None = None) -> Outcome:
    """An empty input workbook for a month, each annex prefilled with its usual departments: those of the
    latest closed month in the history (its registry in 部门, its rows in each annex) when there is one, else
    the registry's (departments.csv)."""
    month = month_arg(month)
    if not month:
        raise UsageError("请指定月份，如 2023-07", next=[Next("give_month")])
    out = Path(out)
    path = history_path(out, history)
    stored, last = None, None
    if history and not history_exists(path):
        raise UsageError(f"历史库 {path} 不存在")
    if history_exists(path):
        with open_history(path) as h:
            stored = h.latest_registry(before=month)
            last = h.load(stored[0]) if stored else None
    outcome = Outcome(None)
    carried: list[dict[str, str]] = []
    if stored:
        office = load_registry()
        carried = carried_rows(stored[1], office)
        registry, problems = overlay(office, department_grid(carried), load_messages())
        rows, references = prefilled_rows(registry, last)
        outcome.notes.append(f"各附件的单位取自历史库中 {stored[0]} 的数据（{len(registry.departments)} 个单位）"
                             + (f"；“部门”表带上了以前各月新增或改动的 {len(carried)} 个单位。" if carried else "。"))
        outcome.notes += [f"“部门”表：{p.message}" for p in problems]
    else:
        rows, references = prefilled_rows()
    wb = lay_out(load_settings().district, rows, {"月份": month}, references=references,
                 department_rows=carried, **layout_options())
    outcome.output = save_new(wb, out)
    return outcome


def next_month_workbook(workbook: Path, month: str | None = None, history: Path | None = None) -> Outcome:
    """After 结转: next month's input workbook beside this one (通报数据-<下月>.xlsx), its 部门 and annex rows from
    the latest month the history holds; an existing file of that name is never replaced."""
    workbook = Path(workbook)
    port = file_port(workbook)
    require_bulletin(port)
    data = compute(port.read_grids(), month=month_arg(month))
    if not data.month:
        raise UsageError("无法确定月份。", next=[Next("give_month")])
    following = next_month(data.month)
    out = workbook.resolve().parent / f"通报数据-{following}.xlsx"
    if out.exists():
        raise UsageError(f"{out.name} 已存在，未覆盖；如需重新生成，请先移走或改名")
    path = history_path(workbook, history)
    if not history_exists(path):
        raise UsageError(f"历史库还没有建立，无法取得各附件的单位。", next=[Next("close_month", data.month)])
    with open_history(path) as h:
        closed = h.has(data.month)
    outcome = template(following, out, path)
    outcome.notes.insert(0, f"已生成下月（{following}）的输入工作簿 {out.name}。")
    if not closed:
        outcome.notes.append(f"注意：本月（{data.month}）尚未结转，下月工作簿的单位取自历史库中较早的月份"
                             f"（见上）；结转本月后可删除该文件再生成一次。")
        outcome.next.append(Next("close_month", data.month))
    return outcome


def month_state(workbook: Path, history: Path | None = None) -> dict[str, Any]:
    """What 结转下月 would store and what the history holds: {month, stored (this month already there),
    months, errors} — for a front end to confirm before it stores."""
    port = file_port(workbook)
    require_bulletin(port)
    data = compute(port.read_grids())
    path = history_path(workbook, history)
    months: list[str] = []
    if history_exists(path):
        with open_history(path) as h:
            months = h.months()
    return {"month": data.month, "stored": data.month in months, "months": months,
            "errors": sum(p.severity == "error" for p in data.problems)}


def prefilled_rows(registry: Registry | None = None, last: MonthData | None = None
                   ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Each annex's usual departments and its reference rows (city, district): the rows `last` (the latest
    closed month) had, in its order (annex 3 with its 证照类型), plus any the registry lists for the annex
    that month lacked; without a month, the registry's (departments.csv by default)."""
    settings = load_settings()
    registry = registry or load_registry()
    rows = {}
    for spec in ANNEXES:
        name = spec.name_column.name
        keys = [c.name for c in spec.key_columns]
        out, seen = [], set()
        for rec in (last.inputs[spec.sheet].records if last and spec.sheet in last.inputs else []):
            if rec["_kind"] != "department" or not rec.get("部门"):
                continue
            try:
                short = registry.short(rec["部门"])
            except KeyError:
                continue  # no longer in the registry
            seen.add(rec["部门"])
            section = rec.get("_section") if rec.get("_section") == "公共服务单位" else None
            out.append({name: short, **{k: rec.get(k) for k in keys}, "_section": section})
        for d in registry.in_annex(spec.number):
            if d.name not in seen:
                out.append({name: d.short, "_section": "公共服务单位" if d.category == "公共服务单位" else None})
        rows[spec.sheet] = out
    references = {spec.sheet: [{spec.name_column.name: settings.reference_name(k)} for k in spec.reference_rows]
                  for spec in ANNEXES}
    return rows, references
