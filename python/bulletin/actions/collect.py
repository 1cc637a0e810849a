"""The collection loop (报送): fill-in workbooks out, returns in (checked with the engine's own validation,
merged, sent back or refused), the submission ledger, 报送情况 and 催报 — once, for the CLI, the console and
the buttons. A department's form filled in the browser (fill.py) goes through the same Importer.

Order of writes on import: the returns are copied into the returns folder beside the master, the master is
written back (backup, temp file, atomic rename), then the ledger records everything in one transaction. A
kill before the ledger's commit leaves the master new and the ledger old: the same returns imported again
find their values already there (no conflict, nothing changes) and are recorded then.
"""
from __future__ import annotations

import datetime as dt
import getpass
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..adapters.collect_ledger import CollectLedger, LedgerRow
from ..adapters.files import OutputFolderError, ensure_closed, inside, safe_part, unique_parts, write_atomically
from ..adapters.xlsx_fillin import (FillinSheet, ReturnBook, ReturnCell, ReturnRefused, check_package, fillin_columns,
                                    read_return, return_cell, write_fillin)
from ..adapters.xlsx_output import title_of
from ..config import TEMPLATES_DIR, load_collect_settings, load_mail_settings, load_registry, load_settings
from ..core import collect as core
from ..core.intake import Grid, address
from ..core.month import MonthData
from ..core.problems import Problem
from ..core.registry import Registry, UnknownDepartment
from ..engine import compute
from ..errors import Next, UsageError
from ..ports.openpyxl_port import OpenpyxlPort
from ..spec import AGREEMENTS, ANNEXES, annex
from . import backups
from .common import Outcome, history_path, history_store, month_arg, output_dir, past_months, today

SECRET_ENV = "BULLETIN_COLLECT_SECRET"
SECRET_NAME = "collect.secret"
RETURNS_FOLDER = "returns"  # every return received, kept (names made by the program)
INBOX_FOLDER = "回传"  # where the workbook's 导入回传 button takes returns from (staff save the attachments there)
STATUS_SHEET = "报送情况"
RETURN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods", ".zip")


def annex_sheet(name: str) -> str | None:
    return name if name in {a.sheet for a in ANNEXES} else None


def file_part(registry: Registry, department: str) -> str:
    """A department's short name as a file-name part, unique among the registry's (two names never share a file)."""
    return unique_parts(d.short for d in registry.departments)[registry.short(department)]


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return ""


def secret_for(history: Path) -> bytes:
    """The office's signing key, kept outside every workbook: env BULLETIN_COLLECT_SECRET, else collect.yaml's
    secret_file, else collect.secret beside the history (created once, readable by its owner only)."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value.encode("utf-8")
    configured = load_collect_settings().secret_file
    path = Path(configured).expanduser() if configured else Path(history).resolve().parent / SECRET_NAME
    if not path.is_absolute():
        path = Path(history).resolve().parent / path
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32))
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as exc:
            raise UsageError(f"无法创建报送签名密钥文件 {path}：{exc.strerror or exc}") from None
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"无法读取报送签名密钥文件 {path}：{exc}") from None
    if len(key) < 16:
        raise UsageError(f"报送签名密钥文件 {path} 内容过短（至少 16 个字符）")
    return key.encode("ascii")


# -- the master --------------------------------------------------------------------------------------------

@dataclass
class Master:
    """The month's master workbook as read: its port (for writing back), grids and data."""

    path: Path
    port: OpenpyxlPort
    grids: dict[str, Grid]
    data: MonthData
    registry: Registry

    @property
    def month(self) -> str:
        return self.data.month

    def rows_of(self, sheet: str, department: str) -> list[dict[str, Any]]:
        inp = self.data.inputs.get(sheet)
        if inp is None:
            return []
        return [r for r in inp.records if r["_kind"] == "department" and r.get("部门") == department]

    def keys_of(self, sheet: str, rows: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], ...]:
        spec = annex(sheet)
        return tuple(tuple("" if r.get(c.name) is None else str(r.get(c.name)) for c in spec.key_columns) for r in rows)

    def plan(self, settings: core.CollectSettings) -> dict[str, list[str]]:
        """department -> the collected annexes (sheets) it has rows in this month, in registry order."""
        out: dict[str, list[str]] = {}
        for number in sorted(settings.collected):
            sheet = annex(number).sheet
            inp = self.data.inputs.get(sheet)
            for r in inp.records if inp else ():
                if r["_kind"] == "department" and r.get("_known") and r.get("部门"):
                    sheets = out.setdefault(r["部门"], [])
                    if sheet not in sheets:
                        sheets.append(sheet)
        order = {d.name: d.order for d in self.registry.departments}
        return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 10 ** 6)))

    def cell_value(self, sheet: str, row: int, column: str) -> Any:
        col = self.data.inputs[sheet].columns.get(column)
        return self.grids[sheet].value(row, col) if col else None


def read_master(workbook: Path, month: str | None = None, port: Any = None) -> Master:
    """The master from its file, or from a workbook port (the live book of the buttons)."""
    workbook = Path(workbook)
    port = port if port is not None else OpenpyxlPort(workbook)
    grids = port.read_grids()
    data = compute(grids, month=month_arg(month))
    if not data.month:
        raise UsageError("无法确定总表的月份。", next=[Next("give_month")])
    return Master(workbook, port, grids, data, data.registry or load_registry())


_READ_ONLY: dict[tuple[Path, int, int, str | None], "_Read"] = {}
_READ_ONLY_KEEP = 4
_READ_ONLY_LOCK = threading.Lock()  # the console's threads share it


@dataclass
class _Read:
    done: threading.Event
    master: Master | None = None
    error: BaseException | None = None


def read_master_to_read(workbook: Path, month: str | None = None) -> Master:
    """read_master for the calls that only read it (a department's 填报 form, the page's checks): while the file is
    unchanged (the same size and modification time) the same Master answers, so forty departments opening their
    forms read and compute the master once, not forty times — also when they ask at the same moment (the first
    reads, the others wait for it). Never for a call that writes: its port must be the file as it is when the
    step holds the workbook."""
    path = Path(workbook).resolve()
    try:
        stat = path.stat()
    except OSError:
        return read_master(workbook, month)  # the port's own Chinese message for a missing file
    key = (path, stat.st_mtime_ns, stat.st_size, month)
    with _READ_ONLY_LOCK:
        found = _READ_ONLY.get(key)
        reader = found is None
        if reader:
            for old in [k for k in _READ_ONLY if k[0] == path] + list(_READ_ONLY)[:-_READ_ONLY_KEEP]:
                _READ_ONLY.pop(old, None)
            found = _READ_ONLY[key] = _Read(threading.Event())
    if reader:
        try:
            found.master = read_master(workbook, month)
        except BaseException as exc:
            found.error = exc
            with _READ_ONLY_LOCK:
                _READ_ONLY.pop(key, None)  # a failed read is not kept: the next call tries again
        finally:
            found.done.set()
    else:
        found.done.wait()
    if found.error is not None:
        raise found.error
    assert found.master is not None
    return found.master


def deadline_of(ledger: CollectLedger, month: str, settings: core.CollectSettings,
                given: dt.date | None = None) -> dt.date:
    return given or ledger.deadline(month) or core.deadline_for(month, settings)


def _date_arg(text: str | dt.date | None, option: str) -> dt.date | None:
    if text is None or isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise UsageError(f"{option}：“{text}”不是日期，应为 2023-07-07 这样的形式") from None


def _cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# -- wording ----------------------------------------------------------------------------------------------

def _environment() -> Any:
    import jinja2  # the wording is loaded only by the steps that write mail (an import of good returns has none)

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False)


def _render(name: str, context: Mapping[str, Any]) -> str:
    import jinja2

    from ..narrative import TemplateError

    try:
        return _environment().get_template(f"collect/{name}").render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"模板 collect/{name} 使用了未提供的变量：{exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"模板 collect/{name} 有错误：{exc}") from exc


def _context(master: Master, department: str, settings: core.CollectSettings, deadline: dt.date,
             sheets: Sequence[str], **more: Any) -> dict[str, Any]:
    dept = master.registry.get(department)
    district = load_settings().district
    year, month_no = master.month.split("-")
    return {"district": district, "year": year, "month_no": int(month_no), "month": master.month,
            "department": dept.short, "full": dept.full, "deadline": _cn_date(deadline),
            "sheets": [{"sheet": s, "title": annex(s).title_for(district)} for s in sheets],
            "contact": {k: settings.contact.get(k, "") for k in core.CONTACT_KEYS}, **more}


# -- mail (drafts or SMTP, never sent twice: the mail ledger keyed per purpose) ----------------------------

@dataclass
class Letter:
    key: str  # the mail ledger's key, e.g. "报送|交通局", "催报|交通局|截止前3天"
    short: str
    to: tuple[str, ...]
    subject: str
    body: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    draft_name: str = ""


def _deliver(letters: Sequence[Letter], month: str, folder: Path, history: Path, *, send: bool,
             say: Callable[[str], None]) -> dict[str, str]:
    """Each letter as an .eml draft in `folder`, or sent (the mail ledger records it; sent once is sent).
    -> key -> what happened (Chinese)."""
    from ..adapters.mail_ledger import MailLedger
    from ..adapters.mail_message import build_message, message_bytes, write_bytes
    from ..adapters.mail_smtp import PasswordMissing, SmtpError, SmtpSender, password_for

    mail = load_mail_settings()
    status: dict[str, str] = {}
    if not send:
        for letter in letters:
            msg = build_message(sender=mail.sender, sender_name=mail.sender_name, to=letter.to, cc=(),
                                subject=letter.subject, body=letter.body, attachments=letter.attachments, draft=True)
            write_bytes(inside(folder, folder / letter.draft_name), message_bytes(msg))
            status[letter.key] = "草稿"
        return status
    try:
        password = password_for(mail.smtp)
    except PasswordMissing as exc:
        raise UsageError(str(exc)) from exc
    ledger = MailLedger(history_store(history))
    sender: SmtpSender | None = None
    try:
        entries = ledger.entries(month)
        for letter in letters:
            if not letter.to:
                status[letter.key] = "无邮箱"
                continue
            e = entries.get(letter.key)
            if e is not None and e.status in ("sent", "pending", "uncertain"):
                status[letter.key] = "已发送过" if e.status == "sent" else "中断待核实"
                continue
            msg = build_message(sender=mail.sender, sender_name=mail.sender_name, to=letter.to, cc=(),
                                subject=letter.subject, body=letter.body, attachments=letter.attachments, draft=False)
            data = message_bytes(msg)
            try:
                if sender is None:
                    sender = SmtpSender(mail.smtp, password)
                    sender.connect()
            except SmtpError as exc:
                status[letter.key] = f"未发送：{exc}"
                sender = None
                continue
            ledger.pending(month, letter.key, core.file_digest(data), "；".join(letter.to))
            try:
                answer, rejected = sender.send(mail.sender, list(letter.to), data)
            except SmtpError as exc:
                (ledger.uncertain if exc.uncertain else ledger.failed)(month, letter.key, str(exc))
                status[letter.key] = ("待核实：" if exc.uncertain else "失败：") + str(exc)
                if exc.connection:
                    sender = None
                continue
            ledger.sent(month, letter.key, answer, "；".join(rejected))
            status[letter.key] = "已发送"
            say(f"已发送 {letter.short} → {'；'.join(letter.to)}")
        if sender is not None:
            sender.close()
    finally:
        ledger.close()
    return status


# -- collect send ------------------------------------------------------------------------------------------

def previous_rows(past: Mapping[str, MonthData], month: str, sheet: str, department: str,
                  keys: Sequence[tuple[str, ...]]) -> list[dict[str, Any] | None]:
    from ..core.month import previous_month

    prev = past.get(previous_month(month))
    if prev is None or sheet not in prev.results:
        return [None] * len(keys)
    spec = annex(sheet)
    rows = [r for r in prev.results[sheet].records if r["_kind"] == "department" and r.get("部门") == department]
    by_key = {}
    for r in rows:
        by_key.setdefault(tuple("" if r.get(c.name) is None else str(r.get(c.name)) for c in spec.key_columns), r)
    return [by_key.get(k) for k in keys]


def send(workbook: Path, *, deadline: str | dt.date | None = None, out_dir: Path | None = None,
         history: Path | None = None, month: str | None = None, mail: bool = False,
         only: Sequence[str] = (), progress: Callable[[str], None] | None = None) -> Outcome:
    """One fill-in workbook per department that reports a collected annex this month (out/collect/<月份>/),
    with an .eml draft each, or sent by SMTP (`mail`); the ledger marks them 已发."""
    say = progress or (lambda line: None)
    settings = load_collect_settings()
    master = read_master(workbook, month)
    history = history_path(workbook, history)
    secret = secret_for(history)
    given = _date_arg(deadline, "--deadline")
    plan = master.plan(settings)
    chosen = set()
    for name in only or ():
        try:
            chosen.add(master.registry.resolve(name))
        except UnknownDepartment:
            raise UsageError(f"--only：部门名录中没有“{name}”") from None
    if chosen:
        plan = {d: s for d, s in plan.items() if d in chosen}
    if not plan:
        raise UsageError("总表中没有需要向各单位收集的附件行（看 collect.yaml 的 collected 和各附件的单位行）")
    past = past_months(master.data, history, required=False)
    folder = output_dir(workbook, out_dir) / "collect" / master.month
    district = load_settings().district
    parts = {master.registry.get(d).short: file_part(master.registry, d) for d in plan}
    issued = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    outcome = Outcome(None)
    letters: list[Letter] = []
    files: dict[str, Path] = {}
    with CollectLedger(history_store(history)) as ledger:
        when = deadline_of(ledger, master.month, settings, given)
        existing = ledger.rows(master.month)
        baselines: dict[str, list[tuple[str, int, str, Any]]] = {}
        for department, sheets in plan.items():
            dept = master.registry.get(department)
            fill_sheets, ident_sheets, base = [], [], []
            for sheet in sheets:
                spec = annex(sheet)
                rows = master.rows_of(sheet, department)
                keys = master.keys_of(sheet, rows)
                names = [{spec.name_column.name: dept.short, **{c.name: r.get(c.name) for c in spec.key_columns}}
                         for r in rows]
                fill_sheets.append(FillinSheet(spec, title_of(spec, district) + f"（{master.month}，{dept.short}）",
                                               names, previous_rows(past, master.month, sheet, department, keys)))
                ident_sheets.append((sheet, keys))
                for i, r in enumerate(rows):
                    for c in fillin_columns(spec):
                        if c.role == "input":
                            base.append((sheet, i, c.name, master.cell_value(sheet, r["_row"], c.name)))
            identity = core.Identity(master.month, department, core.TEMPLATE_VERSION, tuple(ident_sheets), issued)
            payload = identity.payload()
            context = _context(master, department, settings, when, sheets)
            lines = [line.strip() for line in _render("说明.j2", context).splitlines() if line.strip()]
            facts = [("单位", dept.full), ("月份", master.month), ("报送截止", _cn_date(when)),
                     ("联系人", f"{settings.contact.get('office', '')} {settings.contact.get('person', '')}".strip()),
                     ("电话", settings.contact.get("phone", "")), ("回传邮箱", settings.contact.get("email", ""))]
            name = f"报送-{master.month}-{parts[dept.short]}.xlsx"
            path = write_atomically(inside(folder, folder / name), lambda tmp, fs=fill_sheets, p=payload, f=facts,
                                    ls=lines, d=dept: write_fillin(
                                        Path(tmp), title=f"{master.month} 政务服务数据报送 — {d.short}", facts=f,
                                        lines=ls, sheets=fs, payload=p, signature=core.sign(p, secret)))
            files[department] = path
            baselines[department] = base
            context["attachment"] = name
            letters.append(Letter(f"报送|{department}", dept.short, dept.emails,
                                  " ".join(_render("下发主题.j2", context).split()),
                                  _render("下发正文.j2", context).strip() + "\n", [(name, path.read_bytes())],
                                  f"报送-{master.month}-{parts[dept.short]}.eml"))
            say(f"已生成 {dept.short} 的报送工作簿（{'、'.join(sheets)}）")
        status = _deliver(letters, master.month, folder, history, send=mail, say=say)
        with ledger.batch(stamp()) as b:
            if given or ledger.deadline(master.month) is None:
                b.set_deadline(master.month, when)
            for department, sheets in plan.items():
                b.cells(master.month, department, baselines[department], keep=True)
                delivered = status.get(f"报送|{department}", "") in ("草稿", "已发送", "已发送过")
                for sheet in sheets:
                    row = existing.get((department, sheet))
                    if row is None or row.state in (core.NOT_SENT,):
                        b.state(master.month, department, sheet, core.SENT if delivered else core.NOT_SENT,
                                who=_who(), sent=delivered, reason="" if delivered else status.get(
                                    f"报送|{department}", ""))
    outcome.report = ["单位 | 附件 | 文件 | 邮件"] + [
        f"{master.registry.short(d)} | {'、'.join(s)} | {files[d].name} | {status.get(f'报送|{d}', '')}"
        for d, s in plan.items()]
    outcome.notes.append(f"已生成 {len(plan)} 个单位的报送工作簿，截止日期 {_cn_date(when)}；文件夹：{folder}")
    outcome.output = folder
    outcome.extra["collect"] = {"month": master.month, "deadline": when.isoformat(), "folder": str(folder),
                                "departments": [{"department": d, "sheets": s, "file": str(files[d]),
                                                 "mail": status.get(f"报送|{d}", "")} for d, s in plan.items()]}
    outcome.failed = any(v.startswith(("未发送", "失败", "待核实")) for v in status.values())
    return outcome


# -- collect import ----------------------------------------------------------------------------------------

@dataclass
class ReturnResult:
    """What became of one returned file."""

    name: str
    outcome: str  # 已报 | 退回 | 拒绝 | 重复
    department: str = ""
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    written: int = 0
    explanation: str = ""
    forced: bool = False
    stored: str = ""
    digest: str = ""
    sheets: list[str] = field(default_factory=list)
    who: str = ""  # the sender (mailbox) or the user who imported the file
    notes: list[str] = field(default_factory=list)  # what the clerk should know besides the outcome

    def plain(self) -> dict[str, Any]:
        return {"file": self.name, "outcome": self.outcome, "department": self.department, "reason": self.reason,
                "problems": [p.as_dict() for p in self.problems], "conflicts": self.conflicts,
                "written": self.written, "explanation": self.explanation, "forced": self.forced,
                "stored": self.stored, "who": self.who, "notes": self.notes}


def _return_files(sources: Iterable[Path]) -> list[tuple[Path, str]]:
    """(path, the name the user knows) of every file given or in a folder given (hidden files and Office lock
    files skipped)."""
    out = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            for p in sorted(source.iterdir()):
                if p.is_file() and not p.name.startswith((".", "~$")):
                    out.append((p, p.name))
        elif source.exists():
            out.append((source, source.name))
        else:
            raise UsageError(f"找不到文件或文件夹：{source}")
    return out


def _refusal(settings: core.CollectSettings, exc: ReturnRefused) -> str:
    if exc.key in ("not_fillin", "unsafe_xml"):
        return settings.message(exc.key)
    if exc.key == "too_big":
        return settings.message("too_big", detail=str(exc))
    return str(exc)


def _store(folder: Path, data: bytes, name: str, month: str, who: str, digest: str) -> Path:
    """A copy of the return in the returns folder, named by its department and content (a name built by us,
    never leaving the folder): a later return is another file, the same one imported again is not copied twice."""
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in RETURN_SUFFIXES else ".bin"
    target = inside(folder, folder / f"{month}-{safe_part(who, limit=30)}-{digest[:16]}{suffix}")
    if target.exists():
        return target
    return write_atomically(target, lambda tmp: Path(tmp).write_bytes(data))


@dataclass
class Filled:
    """A department's filled rows, whichever way they came — a returned workbook or a form posted in the
    console: per annex sheet the cells by (row index, column name) (a formula kept as a formula, never a
    value), the cells typed as percentages, and the department's explanation. The one input of the checks and
    the merge."""

    sheets: dict[str, dict[tuple[int, str], ReturnCell]]
    percent: dict[str, set[tuple[int, str]]]
    explanation: str

    @staticmethod
    def of(book: ReturnBook) -> "Filled":
        return Filled(book.sheets, book.percent, book.explanation)


class Importer:
    """One import run over the master: each return (or form post) judged against the master as merged so far."""

    def __init__(self, master: Master, settings: core.CollectSettings, ledger: CollectLedger, secret: bytes):
        self.master, self.settings, self.ledger, self.secret = master, settings, ledger, secret
        self.baselines: dict[str, dict[tuple[str, int, str], Any]] = {}
        self.seen_now: set[str] = set()

    def judge(self, path: Path, name: str) -> tuple[ReturnResult, bytes]:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            return ReturnResult(name, "拒绝", reason=f"无法读取：{exc.strerror or exc}"), b""
        result = ReturnResult(name, "拒绝", digest=core.file_digest(data))
        if result.digest in self.seen_now or self.ledger.seen(result.digest):
            result.outcome, result.reason = "重复", self.settings.message("duplicate")
            return result, data
        self.seen_now.add(result.digest)
        try:
            check_package(path, name, self.settings.limits)
            book = read_return(path, name)
        except ReturnRefused as exc:
            result.reason = _refusal(self.settings, exc)
            return result, data
        reason = self._identify(book, result)
        if reason:
            result.reason = reason
            return result, data
        self.check(Filled.of(book), result)
        return result, data

    def _identify(self, book: ReturnBook, result: ReturnResult) -> str:
        s, ident, master = self.settings, book.identity, self.master
        if not core.signature_ok(book.payload, book.signature, self.secret):
            return s.message("bad_signature")
        if ident.version < core.TEMPLATE_VERSION:
            return s.message("old_version", found=ident.version, current=core.TEMPLATE_VERSION)
        if ident.month != master.month:
            return s.message("wrong_month", found=ident.month, month=master.month)
        try:
            dept = master.registry.get(ident.department)
        except UnknownDepartment:
            return s.message("unknown_department", claimed=ident.department)
        result.department = dept.name
        for sheet, keys in ident.sheets:
            spec = annex(sheet)
            cells = book.sheets.get(sheet)
            if cells is None:
                return f"缺少工作表“{sheet}”，请使用下发的原文件填写"
            for i in range(len(keys)):
                cell = cells.get((i, spec.name_column.name))
                found = "" if cell is None or cell.value is None else str(cell.value).strip()
                try:
                    same = cell is not None and cell.formula is None and master.registry.resolve(found) == dept.name
                except UnknownDepartment:
                    same = False
                if not same:
                    where = f"{sheet} {return_cell(spec, i, spec.name_column.name)}"
                    return s.message("other_department", claimed=dept.short, where=where, found=found or "（空）")
            rows = master.rows_of(sheet, dept.name)
            now = master.keys_of(sheet, rows)
            if now != keys:
                detail = f"下发时 {len(keys)} 行，现在 {len(now)} 行" if len(now) != len(keys) else "证照类型等关键列已改"
                return s.message("rows_changed", department=dept.short, sheet=sheet, detail=detail)
            result.sheets.append(sheet)
        return ""

    def check(self, book: Filled, result: ReturnResult, *, merge: bool = True) -> None:
        """The engine's own validation on the department's rows (`result.department`, `result.sheets`): the
        master's grids with them substituted, and the problems at the department's cells mapped back to the
        return's cells; without errors (or with only check errors and an explanation: 强制上报) merged."""
        master, dept = self.master, result.department
        result.explanation = book.explanation
        # only what can name this department: its sheets and their per-department partners (附件1 ↔ 附件2),
        # with the other departments' rows left out (their problems are not this return's)
        wanted = set(result.sheets)
        for agreement in AGREEMENTS:
            terms = {t.sheet for t in (*agreement.left, *agreement.right)}
            if agreement.per_department and terms & wanted:
                wanted |= terms
        grids = {name: grid for name, grid in master.grids.items() if annex_sheet(name) is None}
        for sheet in wanted:
            if sheet in master.grids and sheet in master.data.inputs:
                grid = master.grids[sheet]
                others = {r["_row"] for r in master.data.inputs[sheet].records
                          if r["_kind"] == "department" and r.get("部门") != dept}
                grids[sheet] = Grid(grid.sheet, [[] if i + 1 in others else r for i, r in enumerate(grid.rows)],
                                    grid.percent_cells, grid.merged, grid.positional, grid.uncalculated)
        back: dict[tuple[str, str], str] = {}  # (sheet, master cell) -> return cell
        own: list[Problem] = []
        for sheet in result.sheets:
            spec, inp = annex(sheet), master.data.inputs[sheet]
            grid = grids[sheet]
            rows = [list(r) for r in grid.rows]
            percent = set(grid.percent_cells)
            for i, rec in enumerate(master.rows_of(sheet, dept)):
                r = rec["_row"]
                for col in spec.columns:
                    c = inp.columns.get(col.name)
                    if not c:
                        continue
                    back[(sheet, address(r, c))] = return_cell(spec, i, col.name) if col.printed else ""
                    while len(rows[r - 1]) < c:
                        rows[r - 1].append(None)
                    if col.role == "computed":
                        rows[r - 1][c - 1] = None  # recomputed from the return's inputs: the master's old print is moot
                    elif col.role == "input":
                        cell = book.sheets[sheet].get((i, col.name))
                        if cell is not None and cell.formula is not None:
                            own.append(Problem(sheet, return_cell(spec, i, col.name), dept, "collect.formula", "error",
                                               self.settings.message("formula", column=col.name, formula=cell.formula)))
                            value = None
                        else:
                            value = cell.value if cell is not None else None
                        rows[r - 1][c - 1] = value
                        if (i, col.name) in book.percent.get(sheet, set()):
                            percent.add((r, c))
            grids[sheet] = Grid(grid.sheet, rows, frozenset(percent), grid.merged, grid.positional, frozenset())
        data = compute(grids, month=master.month, registry=master.registry)
        formula_cells = {(p.sheet, p.cell) for p in own}
        for p in data.problems:
            if p.department != dept or p.sheet not in result.sheets:
                continue
            cell = back.get((p.sheet, p.cell), "")
            if (p.sheet, cell) in formula_cells and p.rule == "value.missing":
                continue  # said once: the formula
            own.append(Problem(p.sheet, cell or p.cell, p.department, p.rule, p.severity, p.message))
        result.problems = own
        errors = [p for p in own if p.severity == "error"]
        forcible = bool(result.explanation) and all(p.rule.startswith("check.") for p in errors)
        if errors and not forcible:
            first = errors[0]
            result.outcome = "退回"
            result.reason = f"{len(errors)} 处错误，如 {first.sheet} {first.cell}：{first.message}"
            return
        result.outcome, result.forced = "已报", bool(errors)
        if merge:
            self.merge(book, result)

    def merge(self, book: Filled, result: ReturnResult) -> None:
        """The department's input cells into the master (port and grids), where no clerk's hand edit since the
        last send or import stands in the way (those are conflicts, left as they are)."""
        master, dept = self.master, result.department
        if dept not in self.baselines:
            self.baselines[dept] = self.ledger.cells(master.month, dept)
        base = self.baselines[dept]
        cells = []
        for sheet in result.sheets:
            spec, inp = annex(sheet), master.data.inputs[sheet]
            for i, rec in enumerate(master.rows_of(sheet, dept)):
                for col in spec.columns:
                    c = inp.columns.get(col.name)
                    if col.role != "input" or not c:
                        continue
                    cell = book.sheets[sheet].get((i, col.name))
                    new = None if cell is None or cell.formula is not None else cell.value
                    key = (sheet, i, col.name)
                    cells.append(core.CellMerge(sheet, rec["_row"], c, address(rec["_row"], c), f"{i}|{col.name}",
                                                new, master.grids[sheet].value(rec["_row"], c), base.get(key),
                                                key in base))
        plan = core.plan_merge(cells)
        for m in plan.writes:
            master.port.write(m.sheet, m.row, m.col, [[m.new]])
            grid = master.grids[m.sheet]
            while len(grid.rows[m.row - 1]) < m.col:
                grid.rows[m.row - 1].append(None)
            grid.rows[m.row - 1][m.col - 1] = m.new
            base[(m.sheet, int(m.key.split("|")[0]), m.key.split("|", 1)[1])] = m.new
        for m in cells:
            if m not in plan.conflicts:
                base[(m.sheet, int(m.key.split("|")[0]), m.key.split("|", 1)[1])] = m.new
        result.written = len(plan.writes)
        result.conflicts = [self.settings.message("conflict", cell=f"{m.sheet}!{m.cell}", current=_shown(m.current),
                                                  baseline=_shown(m.baseline), new=_shown(m.new))
                            for m in plan.conflicts]

    def record(self, results: Sequence[ReturnResult], save: Callable[[], Any]) -> None:
        """After the judging: the merged master made durable with its 报送情况 sheet (`save`), then every result
        recorded in the ledger in one transaction — events, states and the cells as merged (this order: see the
        module's docstring)."""
        master, ledger, settings = self.master, self.ledger, self.settings
        if any(r.written for r in results) or any(r.outcome in ("已报", "退回") for r in results):
            deadline = deadline_of(ledger, master.month, settings)
            write_status_sheet(master, status_rows(master, settings, ledger.rows(master.month), deadline, today(),
                                                   pending=results))
            save()
        with ledger.batch(stamp()) as b:
            for r in results:
                if r.outcome == "重复":
                    continue
                b.event(master.month, r.department, who=r.who, file_hash=r.digest, file_name=r.name,
                        stored=r.stored, outcome=r.outcome, reason=r.reason, explanation=r.explanation)
                if not r.department or r.outcome == "拒绝":
                    continue
                for sheet in r.sheets:
                    reason = r.reason if r.outcome == "退回" else ("强制上报：" + r.explanation if r.forced else "")
                    b.state(master.month, r.department, sheet, core.SUBMITTED if r.outcome == "已报" else core.RETURNED,
                            who=r.who, file_hash=r.digest, reason=reason,
                            explanation=r.explanation, return_file=r.stored, submitted=True)
            for dept, base in self.baselines.items():
                b.cells(master.month, dept, [(s, i, c, v) for (s, i, c), v in base.items()])


def _shown(v: Any) -> str:
    if v is None or v == "":
        return "（空）"
    return f"{v:g}" if isinstance(v, float) else str(v)


def import_returns(workbook: Path, sources: Sequence[Path] = (), *, history: Path | None = None,
                   out_dir: Path | None = None, month: str | None = None, mail: bool = False,
                   imap: bool = False, extra: Sequence[tuple[Path, str, str]] = (),
                   progress: Callable[[str], None] | None = None) -> Outcome:
    """Check and merge returned fill-in workbooks (files or folders) into the master file (backup, temp file,
    atomic rename). `extra`: (path, name, who) of returns fetched elsewhere."""
    workbook = Path(workbook)
    ensure_closed(workbook)  # before anything is sent back or kept: the master must be writable at the end
    port = OpenpyxlPort(workbook)
    return import_book(port, sources, history=history, out_dir=out_dir, month=month, mail=mail, imap=imap,
                       extra=extra, progress=progress, save=lambda: backups.save_in_place(port))


def import_book(port: Any, sources: Sequence[Path] = (), *, history: Path | None = None,
                out_dir: Path | None = None, month: str | None = None, mail: bool = False, imap: bool = False,
                extra: Sequence[tuple[Path, str, str]] = (), progress: Callable[[str], None] | None = None,
                save: Callable[[], Any]) -> Outcome:
    """The import over a workbook port: the file's (CLI, console) or the live book's (the button). `save`
    makes the merged book durable; the ledger is recorded only after it."""
    say = progress or (lambda line: None)
    settings = load_collect_settings()
    workbook = Path(port.path)
    master = read_master(workbook, month, port)
    history = history_path(workbook, history)
    secret = secret_for(history)
    files = [(p, n, _who()) for p, n in _return_files(sources)] + list(extra)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bulletin-imap-") as fetched_folder:
        if imap:
            fetched, skipped = _fetch_mailbox(settings, Path(fetched_folder), say)
            files += fetched
            notes += skipped
        if not files:
            raise UsageError("没有要导入的回传文件。", next=[Next("give_returns")])
        outcome = _import(workbook, master, settings, history, secret, files, out_dir, mail, say, save)
    outcome.notes[:0] = notes
    return outcome


def _imap_password(imap: core.ImapSettings) -> str:
    value = os.environ.get(imap.password_env)
    if value:
        return value
    try:
        import keyring  # on demand: discovering the backends takes a while

        value = keyring.get_password(imap.keyring_service, imap.user)
    except Exception:  # no usable keyring on this machine: as not found
        value = None
    if not value:
        raise UsageError(f"未找到收取回传的邮箱 {imap.user} 的密码（密码不会写入文件）。",
                         next=[Next("set_imap_password", imap.user)])
    return value


def _fetch_mailbox(settings: core.CollectSettings, folder: Path,
                   say: Callable[[str], None]) -> tuple[list[tuple[Path, str, str]], list[str]]:
    from ..adapters.mail_imap import fetch_returns

    imap = settings.imap
    if not imap.host or not imap.user:
        raise UsageError("尚未设置收取回传的办公邮箱。", next=[Next("set_mailbox")])
    fetched, skipped = fetch_returns(imap, _imap_password(imap), folder, max_bytes=settings.limits.max_file_bytes,
                                     today=today())
    say(f"邮箱 {imap.user}：找到 {len(fetched)} 个工作簿附件")
    return [(f.path, f.name, f.sender) for f in fetched], skipped


def _import(workbook: Path, master: Master, settings: core.CollectSettings, history: Path, secret: bytes,
            files: list[tuple[Path, str, str]], out_dir: Path | None, mail: bool,
            say: Callable[[str], None], save: Callable[[], Any]) -> Outcome:
    returns = workbook.resolve().parent / RETURNS_FOLDER / master.month
    outcome = Outcome(None)
    results: list[ReturnResult] = []
    with CollectLedger(history_store(history)) as ledger:
        importer = Importer(master, settings, ledger, secret)
        for path, name, who in files:
            result, data = importer.judge(path, name)
            result.who = who
            if "@" in who and result.department and \
                    who.lower() not in {e.lower() for e in master.registry.get(result.department).emails}:
                # the signature vouches for the file, not the sender: worth a look, not a refusal
                result.notes.append(f"发件人 {who} 不是该单位在部门名录中登记的邮箱")
            if data and result.outcome != "重复":
                try:
                    result.stored = _store(returns, data, name, master.month,
                                           master.registry.short(result.department) if result.department else
                                           Path(name).stem, result.digest).name
                except OutputFolderError as exc:
                    raise UsageError(str(exc)) from exc
            results.append(result)
            say(f"{name}：{result.outcome}" + (f"（{result.reason}）" if result.reason else ""))
        written = sum(r.written for r in results)
        deadline = deadline_of(ledger, master.month, settings)
        # the return mails (退回) are drafted before anything is recorded: a draft is a file, kept either way
        letters = [_return_letter(master, settings, r, deadline) for r in results if r.outcome == "退回"]
        folder = output_dir(workbook, out_dir) / "collect" / master.month
        status = _deliver(letters, master.month, folder, history, send=mail, say=say) if letters else {}
        importer.record(results, save)
    outcome.report = _import_report(master, results, status)
    outcome.extra["collect"] = {"month": master.month, "returns": [r.plain() for r in results]}
    counts = {k: sum(r.outcome == k for r in results) for k in ("已报", "退回", "拒绝", "重复")}
    outcome.notes.append(f"导入 {len(results)} 个文件：已报 {counts['已报']}，退回 {counts['退回']}，拒绝 {counts['拒绝']}，"
                         f"重复 {counts['重复']}；写入总表 {written} 个单元格" +
                         ("（原文件备份在旁）" if written else "") + "。")
    conflicts = sum(len(r.conflicts) for r in results)
    if conflicts:
        outcome.notes.append(f"有 {conflicts} 个单元格已被手工修改过、与报送不一致，未覆盖：请核对（见上表）。")
    outcome.failed = bool(counts["退回"] or counts["拒绝"] or conflicts)
    return outcome


def _return_letter(master: Master, settings: core.CollectSettings, r: ReturnResult, deadline: dt.date) -> Letter:
    dept = master.registry.get(r.department)
    context = _context(master, r.department, settings, deadline, r.sheets, file=r.name,
                       problems=[{"sheet": p.sheet, "cell": p.cell, "message": p.message} for p in r.problems
                                 if p.severity == "error"])
    part = file_part(master.registry, r.department)
    return Letter(f"退回|{r.department}|{r.digest[:12]}", dept.short, dept.emails,
                  " ".join(_render("退回主题.j2", context).split()), _render("退回正文.j2", context).strip() + "\n",
                  [], f"退回-{master.month}-{part}-{r.digest[:8]}.eml")


def _import_report(master: Master, results: Sequence[ReturnResult], status: Mapping[str, str]) -> list[str]:
    lines = ["文件 | 单位 | 结果 | 说明"]
    for r in results:
        short = master.registry.short(r.department) if r.department else "—"
        note = r.reason
        if r.outcome == "已报":
            note = f"写入 {r.written} 个单元格" + ("；强制上报，说明：" + r.explanation if r.forced else
                                               ("；说明：" + r.explanation if r.explanation else ""))
        lines.append(f"{r.name} | {short} | {r.outcome} | {note}")
        lines += [f"    注意：{n}" for n in r.notes]
        for p in r.problems:
            lines.append(f"    {p.sheet} {p.cell} [{'错误' if p.severity == 'error' else '警告'}] {p.message}")
        for c in r.conflicts:
            lines.append(f"    冲突：{c}")
        if r.outcome == "退回":
            lines.append(f"    退回邮件：{status.get(f'退回|{r.department}|{r.digest[:12]}', '')}")
    return lines


# -- 报送情况 ----------------------------------------------------------------------------------------------

def stamp() -> str:
    """The time a step records: now, or noon of BULLETIN_TODAY when that fixes the day."""
    if os.environ.get("BULLETIN_TODAY"):
        return f"{today().isoformat()}T12:00:00"
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")




def status_rows(master: Master, settings: core.CollectSettings, rows: Mapping[tuple[str, str], LedgerRow],
                 deadline: dt.date, today: dt.date, pending: Sequence[ReturnResult] = ()) -> list[dict[str, Any]]:
    """department × annex with state, dates and days late (the results of an import not yet recorded count)."""
    fresh = {(r.department, s): r for r in pending if r.department and r.outcome in ("已报", "退回") for s in r.sheets}
    out = []
    for department, sheets in master.plan(settings).items():
        for sheet in sheets:
            row = rows.get((department, sheet))
            state = row.state if row else core.NOT_SENT
            submitted = dt.date.fromisoformat(row.submitted_at[:10]) if row and row.submitted_at else None
            reason = row.reason if row else ""
            if (department, sheet) in fresh:
                r = fresh[(department, sheet)]
                state, submitted = (core.SUBMITTED if r.outcome == "已报" else core.RETURNED), today
                reason = r.reason if r.outcome == "退回" else ("强制上报：" + r.explanation if r.forced else "")
            shown = core.shown_state(state, deadline, today)
            late = core.days_late(deadline, submitted if state in core.DONE else None, today) \
                if state != core.NOTHING else 0
            out.append({"department": department, "short": master.registry.short(department), "sheet": sheet,
                        "state": shown, "sent_at": (row.sent_at or "")[:10] if row else "",
                        "submitted_at": submitted.isoformat() if submitted else "", "days_late": late,
                        "reason": reason})
    return out


def write_status_sheet(master: Master, rows: Sequence[Mapping[str, Any]]) -> None:
    """The 报送情况 sheet of the master (text and numbers only, never formulas), rewritten whole."""
    header = ["单位", "附件", "状态", "下发日期", "报送日期", "逾期天数", "说明"]
    master.port.write_table(STATUS_SHEET, header, [[r["short"], r["sheet"], r["state"], r["sent_at"],
                                                   r["submitted_at"], r["days_late"], r["reason"]] for r in rows])


def status(workbook: Path, *, history: Path | None = None, month: str | None = None,
           write: bool = True) -> Outcome:
    """报送情况: department × annex with states, dates and days late; also written into the master's 报送情况
    sheet (`write`; skipped with a note while the workbook is open in Excel/WPS)."""
    from ..errors import WorkbookLocked

    settings = load_collect_settings()
    master = read_master(workbook, month)
    history = history_path(workbook, history)
    with CollectLedger(history_store(history)) as ledger:
        rows = ledger.rows(master.month)
        deadline = deadline_of(ledger, master.month, settings)
        events = ledger.events(master.month)
    day = today()
    table = status_rows(master, settings, rows, deadline, day)
    outcome = Outcome(None)
    counts: dict[str, int] = {}
    for r in table:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    outcome.report = [f"报送情况（{master.month}，截止 {deadline.isoformat()}，今天 {day.isoformat()}）：" +
                      "，".join(f"{k} {v}" for k, v in counts.items()),
                      "单位 | 附件 | 状态 | 下发 | 报送 | 逾期天数 | 说明"] + [
        f"{r['short']} | {r['sheet']} | {r['state']} | {r['sent_at'] or '—'} | {r['submitted_at'] or '—'} | "
        f"{r['days_late']} | {r['reason']}" for r in table]
    missing = sorted({r["short"] for r in table if r["state"] in (core.OVERDUE, core.RETURNED, core.SENT, core.NOT_SENT)})
    if missing:
        outcome.notes.append(f"尚未报齐：{'、'.join(missing)}。")
        outcome.next.append(Next("remind"))
    outcome.extra["collect"] = {"month": master.month, "deadline": deadline.isoformat(), "today": day.isoformat(),
                                "rows": table, "events": [e.__dict__ for e in events]}
    if write:
        try:
            write_status_sheet(master, table)
            backups.save_in_place(master.port)
            outcome.notes.append(f"已写入总表的“{STATUS_SHEET}”表。")
        except WorkbookLocked as exc:
            outcome.notes.append(f"未写入“{STATUS_SHEET}”表：{exc}")
    return outcome


# -- 催报 --------------------------------------------------------------------------------------------------

def remind(workbook: Path, *, history: Path | None = None, out_dir: Path | None = None, month: str | None = None,
           mail: bool = False, progress: Callable[[str], None] | None = None) -> Outcome:
    """Mail the departments still missing or sent back, per the schedule: one reminder per due date."""
    say = progress or (lambda line: None)
    settings = load_collect_settings()
    master = read_master(workbook, month)
    history = history_path(workbook, history)
    day = today()
    with CollectLedger(history_store(history)) as ledger:
        rows = ledger.rows(master.month)
        deadline = deadline_of(ledger, master.month, settings)
        done = ledger.reminded(master.month)
        due = core.reminder_due(day, deadline, settings)
        outcome = Outcome(None)
        if due is None:
            outcome.notes.append(f"今天（{day.isoformat()}）不在催报时间表上（截止 {deadline.isoformat()}），未发催报。")
            outcome.extra["collect"] = {"month": master.month, "due": None, "reminded": []}
            return outcome
        table = status_rows(master, settings, rows, deadline, day)
        missing: dict[str, list[dict[str, Any]]] = {}
        for r in table:
            if r["state"] in (core.SENT, core.OVERDUE, core.RETURNED, core.NOT_SENT):
                missing.setdefault(r["department"], []).append(r)
        letters, skipped = [], []
        overdue = max(0, (day - deadline).days)
        for department, items in missing.items():
            if (department, due) in done:
                skipped.append(master.registry.short(department))
                continue
            district = load_settings().district
            context = _context(master, department, settings, deadline, [i["sheet"] for i in items], overdue=overdue,
                               missing=[{"sheet": i["sheet"], "title": annex(i["sheet"]).title_for(district),
                                         "state": i["state"], "reason": i["reason"]} for i in items])
            dept = master.registry.get(department)
            letters.append(Letter(f"催报|{department}|{due}", dept.short, dept.emails,
                                  " ".join(_render("催报主题.j2", context).split()),
                                  _render("催报正文.j2", context).strip() + "\n", [],
                                  f"催报-{master.month}-{file_part(master.registry, department)}-{safe_part(due)}.eml"))
        folder = output_dir(workbook, out_dir) / "collect" / master.month
        status_ = _deliver(letters, master.month, folder, history, send=mail, say=say) if letters else {}
        with ledger.batch(stamp()) as b:
            for letter in letters:
                if status_.get(letter.key) in ("草稿", "已发送", "已发送过"):
                    b.reminded(master.month, letter.key.split("|")[1], due)
    outcome.report = ["单位 | 尚缺 | 催报"] + [
        f"{master.registry.short(d)} | {'、'.join(i['sheet'] + '（' + i['state'] + '）' for i in items)} | "
        f"{status_.get(f'催报|{d}|{due}', '本期已催过')}" for d, items in missing.items()]
    outcome.notes.append(f"催报（{due}）：{len(letters)} 个单位" + (f"；已催过未重复：{'、'.join(skipped)}" if skipped else "")
                         + ("" if mail else f"；草稿在 {folder}"))
    outcome.extra["collect"] = {"month": master.month, "due": due,
                                "reminded": [{"department": lt.key.split("|")[1], "mail": status_.get(lt.key, "")}
                                             for lt in letters], "skipped": skipped}
    outcome.failed = any(v.startswith(("未发送", "失败", "待核实")) for v in status_.values())
    return outcome





# -- the clerk's marks: 已确认 (a submission checked), 无需报送 (nothing to report, not missing) and 退回 (a
# submission sent back with the reason: the department sees it on its page and is reminded) --------------------

MARKS = (core.CONFIRMED, core.NOTHING, core.RETURNED)


def mark(workbook: Path, department: str, state: str, *, annexes: Sequence[str] = (), reason: str = "",
         history: Path | None = None, month: str | None = None, actor: Any = None) -> Outcome:
    """Set a department's annexes to 已确认 or 退回 (only what was 已报/已确认; 退回 needs the reason) or 无需报送
    (only what was not 已报/已确认); recorded in the ledger and the audit log as done by `actor` (the user of
    this computer unless given: anything with name and from_address)."""
    from . import audit

    if state not in MARKS:
        raise UsageError(f"--state 应为 {'、'.join(MARKS)}")
    reason = str(reason or "").strip()
    if state == core.RETURNED and not reason:
        raise UsageError("退回须写明原因（部门会在填报页面和催报邮件中看到）")
    if len(reason) > 2000:
        raise UsageError(f"原因过长（{len(reason)} 个字符，上限 2000）")
    who = getattr(actor, "name", "") if actor is not None else _who()
    settings = load_collect_settings()
    master = read_master(workbook, month)
    try:
        dept = master.registry.resolve(department)
    except UnknownDepartment:
        raise UsageError(f"部门名录中没有“{department}”") from None
    planned = master.plan(settings).get(dept, [])
    wanted = [f"附件{a}" if str(a).isdigit() else str(a) for a in annexes] or planned
    unknown = [a for a in wanted if a not in planned]
    if unknown:
        raise UsageError(f"{master.registry.short(dept)} 本月不报送 {'、'.join(unknown)}（本月报送：{'、'.join(planned) or '无'}）")
    history = history_path(workbook, history)
    with CollectLedger(history_store(history)) as ledger:
        rows = ledger.rows(master.month)
        refused, before = [], {}
        for sheet in wanted:
            now = rows[(dept, sheet)].state if (dept, sheet) in rows else core.NOT_SENT
            before[sheet] = now
            if (state in (core.CONFIRMED, core.RETURNED)) != (now in (core.SUBMITTED, core.CONFIRMED)):
                refused.append(f"{sheet}（现为{now}）")
        if refused:
            need = "未报" if state == core.NOTHING else "已报"
            raise UsageError(f"只能把{need}的附件标为{state}：{master.registry.short(dept)} {'、'.join(refused)}")
        with ledger.batch(stamp()) as b:
            for sheet in wanted:
                b.state(master.month, dept, sheet, state, who=who, reason=reason,
                        explanation=rows[(dept, sheet)].explanation if (dept, sheet) in rows else "")
            if state == core.RETURNED:
                b.event(master.month, dept, who=who, file_hash="", file_name="、".join(wanted), stored="",
                        outcome=core.RETURNED, reason=reason)
    outcome = Outcome(None)
    outcome.notes.append(f"{master.registry.short(dept)} {'、'.join(wanted)} 已标为{state}" + (f"（{reason}）" if reason else "") + "。")
    note = audit.append(history, [audit.event(actor if actor is not None else _Local(who), "collect_mark",
                                              month=master.month, department=dept, target=sheet,
                                              old_value=before[sheet], new_value=state,
                                              detail={"原因": reason} if reason else None) for sheet in wanted])
    if note:
        outcome.notes.append(note)
    outcome.extra["collect"] = {"month": master.month, "department": dept, "annexes": wanted, "state": state}
    return outcome


@dataclass(frozen=True)
class _Local:
    """The user of this computer as an actor (the CLI, the buttons)."""

    name: str
    from_address: str = ""
