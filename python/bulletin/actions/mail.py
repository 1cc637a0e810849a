"""Mail actions: each department's part as a macro-free .xlsx extract, previewed as .eml drafts or sent by SMTP.

`preview` writes one draft per department into OUT/mail/<月份>/ (X-Unsent: 1) and reports a table;
`send` sends the same messages over SSL/STARTTLS, recording each in the send ledger (history file)
before and after, so a re-run sends only what has not gone yet. Refusals (no address, an address outside
the registry, an oversize attachment) are decided for every department before anything is sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2

from ..adapters.files import inside, unique_parts
from ..adapters.mail_ledger import MailLedger
from ..adapters.mail_message import build_message, message_bytes, write_bytes
from ..adapters.mail_smtp import PasswordMissing, SmtpError, SmtpSender, password_for
from ..adapters.xlsx_extract import extract_name, write_extract
from ..config import TEMPLATES_DIR, load_mail_settings, load_registry, load_rules_file, load_settings
from ..core.mailing import (NO_ADDRESS, SEND, SKIP_PENDING, VISIBILITIES, DepartmentPart, MailSettings, MailSettingsError,
                            build_parts, content_hash, decide, refusals)
from ..core.registry import Registry, UnknownDepartment
from ..errors import Next, UsageError
from ..narrative import TemplateError
from .common import Outcome, history_path, history_store, output_dir, printed_text
from .month import narrate

SUBJECT_TEMPLATE, BODY_TEMPLATE = "mail/主题.j2", "mail/正文.j2"


@dataclass
class Package:
    """One department's message, ready to be drafted or sent."""

    department: str  # registry name
    short: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    attachments: list[tuple[str, bytes]]
    hash: str
    refused: list[str] = field(default_factory=list)
    file_part: str = ""  # the short name as a safe file-name part (unique in the batch)

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.attachments)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False)


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"模板 {name} 使用了未提供的变量：{exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"模板 {name} 有错误：{exc}") from exc


def _sheet_summary(part: DepartmentPart) -> list[dict[str, Any]]:
    out = []
    for s in part.sheets:
        own = [r for r in s.rows if r.department == part.department.name]
        statuses = [r.status for r in own if r.status]
        status = "红" if "红" in statuses else "黄" if "黄" in statuses else ("绿" if statuses else "")
        out.append({"sheet": s.spec.sheet, "title": s.title, "status": status,
                    "rules": list(dict.fromkeys(x for r in own for x in r.rules))})
    return out


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


@dataclass
class _Prepared:
    """A month's mail, built and checked, ready to preview or send."""

    outcome: Outcome
    month: str
    folder: Path
    settings: MailSettings
    packages: list[Package]
    registry: Registry


def _departments(names: Any, option: str, registry: Registry | None = None) -> set[str]:
    registry, out = registry or load_registry(), set()
    for name in names or ():
        try:
            out.add(registry.resolve(name))
        except UnknownDepartment:
            raise UsageError(f"{option}：部门名录中没有“{name}”") from None
    return out


def _prepare(workbook: Path, month: str | None, history: Path | None, out_dir: Path | None,
             settings: MailSettings | None, overrides: dict[str, Any], only: Any) -> _Prepared | Outcome:
    """Every department's package, built and checked; the extracts are written into OUT/mail/<月份>/."""
    outcome = narrate(workbook, month, history)
    data = outcome.data
    if data.has_errors:
        outcome.failed = True
        return outcome
    if not data.month:
        raise UsageError("无法确定月份。", next=[Next("give_month")])
    try:
        settings = (settings or load_mail_settings()).with_params(data.params).with_overrides(**overrides)
    except MailSettingsError as exc:
        raise UsageError(str(exc)) from exc
    # the adopted text: paragraphs staff edited in the result workbook's 问题文本 sheet are kept
    text_rows = printed_text(outcome, workbook, out_dir)
    out_dir = output_dir(workbook, out_dir)
    registry, district = data.registry or load_registry(), load_settings().district  # the 部门 sheet if any
    parts = build_parts(data, outcome.analysis, text_rows, registry, visibility=settings.visibility,
                        rule_names=load_rules_file().names, district=district)
    chosen = _departments(only, "--only", registry)
    if chosen:
        absent = [registry.get(n).short for n in chosen if n not in {p.department.name for p in parts}]
        if absent:
            raise UsageError(f"--only：{'、'.join(absent)} 本月没有数据，无邮件可发")
        parts = [p for p in parts if p.department.name in chosen]
    documents = [(p.name, p.read_bytes()) for p in (out_dir / f"通报-{data.month}.docx", out_dir / f"通报-{data.month}.pdf")
                 if p.is_file()]
    folder = out_dir / "mail" / data.month
    env = _environment()
    year, month_no = data.month.split("-")
    packages = []
    file_parts = unique_parts(p.department.short for p in parts)  # names from staff text: one safe part each
    for part in parts:
        dept = part.department
        name = extract_name(data.month, file_parts[dept.short])
        to, cc = tuple(dept.emails), settings.cc
        context = {"district": district, "year": year, "month_no": int(month_no), "month": data.month,
                   "department": dept.short, "full": dept.full, "office": settings.sender_name,
                   "scope": VISIBILITIES[settings.visibility], "attachments": [name, *(n for n, _ in documents)],
                   "sheets": _sheet_summary(part), "sentences": part.sentences}
        subject = " ".join(_render(env, SUBJECT_TEMPLATE, context).split())
        body = _render(env, BODY_TEMPLATE, context).strip() + "\n"
        digest = content_hash(month=data.month, department=dept.name, to=to, cc=cc, subject=subject, body=body,
                              part=part.plain(), documents=documents)
        # written even for a refused department: staff can hand it over another way
        attachments = [(name, write_extract(part, district, inside(out_dir, folder / name)).read_bytes()), *documents]
        package = Package(dept.name, dept.short, to, cc, subject, body, attachments, digest,
                          file_part=file_parts[dept.short])
        package.refused = refusals(dept, to, cc, [(n, len(b)) for n, b in attachments], registry, settings)
        packages.append(package)
    # the mail's own outcome: problems and notes, not the whole narrative (printed by `narrate`)
    return _Prepared(Outcome(data, notes=outcome.notes), data.month, folder, settings, packages, registry)


def _message(prepared: _Prepared, p: Package, *, draft: bool):
    s = prepared.settings
    return build_message(sender=s.sender, sender_name=s.sender_name, to=p.to, cc=p.cc, subject=p.subject, body=p.body,
                         attachments=p.attachments, draft=draft)


def _table(prepared: _Prepared, status: dict[str, str]) -> list[str]:
    lines = ["单位 | 收件人 | 附件 | 大小 | 状态"]
    for p in prepared.packages:
        recipients = "；".join(p.to + tuple(f"抄送 {a}" for a in p.cc)) or "（无）"
        attachments = "、".join(n for n, _ in p.attachments) or "—"
        lines.append(f"{p.short} | {recipients} | {attachments} | {_kb(p.size) if p.attachments else '—'} | "
                     f"{status.get(p.department, '')}")
    return lines


def _json(prepared: _Prepared, status: dict[str, str], files: dict[str, Path]) -> dict[str, Any]:
    return {"mail": {"month": prepared.month, "folder": str(prepared.folder.resolve()), "packages": [
        {"department": p.department, "short": p.short, "to": list(p.to), "cc": list(p.cc), "subject": p.subject,
         "body": p.body, "attachments": [{"name": n, "size": len(b)} for n, b in p.attachments], "size": p.size, "hash": p.hash,
         "refused": p.refused, "status": status.get(p.department, ""),
         "file": str(files[p.department]) if p.department in files else None} for p in prepared.packages]}}


def _refused_lines(prepared: _Prepared) -> list[str]:
    return [f"拒绝：{p.short}：{'；'.join(p.refused)}" for p in prepared.packages if p.refused]


def _email_next(prepared: _Prepared) -> list[Next]:
    """A department refused for want of an address: its 邮箱 is what staff fill in next."""
    return [Next("set_email", p.short) for p in prepared.packages if NO_ADDRESS in p.refused]


def department_extract(workbook: Path, department: str, month: str | None = None, history: Path | None = None,
                       out_dir: Path | None = None) -> Path:
    """One department's extract, the .xlsx its mail carries (OUT/mail/<月份>/), for its own download from the
    填报 page: the same text, rows and visibility as the mail."""
    prepared = _prepare(Path(workbook), month, history, out_dir, None, {}, [department])
    if isinstance(prepared, Outcome):
        raise UsageError("本月的数据尚未汇总完成（还有错误待放管服办处理），暂时不能下载通报摘录")
    name = prepared.packages[0].attachments[0][0]
    return inside(prepared.folder, prepared.folder / name)


def preview(workbook: Path, month: str | None = None, history: Path | None = None, out_dir: Path | None = None, *,
            only: list[str] | tuple[str, ...] = (), settings: MailSettings | None = None) -> Outcome:
    """One .eml draft (X-Unsent: 1) per department into OUT/mail/<月份>/, and the preview table."""
    prepared = _prepare(Path(workbook), month, history, out_dir, settings, {}, only)
    if isinstance(prepared, Outcome):
        prepared.notes.append("输入数据有错误，未生成邮件。")
        prepared.next.append(Next("fix_problems"))
        return prepared
    status, files = {}, {}
    for p in prepared.packages:
        if p.refused:
            status[p.department] = "拒绝"
            continue
        files[p.department] = write_bytes(inside(prepared.folder, prepared.folder / f"{prepared.month}-{p.file_part}.eml"),
                                          message_bytes(_message(prepared, p, draft=True)))
        status[p.department] = "草稿"
    outcome = prepared.outcome
    drafted = sum(v == "草稿" for v in status.values())
    outcome.report = [f"邮件预览（{prepared.month}）：{len(prepared.packages)} 个单位，草稿 {drafted} 封，"
                      f"拒绝 {len(prepared.packages) - drafted} 个。", *_table(prepared, status),
                      *_refused_lines(prepared), f"草稿目录：{prepared.folder}（用邮件客户端打开 .eml 即为待发送草稿）"]
    outcome.extra = _json(prepared, status, files)
    outcome.next += _email_next(prepared)
    return outcome


def send(workbook: Path, month: str | None = None, history: Path | None = None, out_dir: Path | None = None, *,
         host: str | None = None, port: int | None = None, user: str | None = None, security: str | None = None,
         resend: list[str] | tuple[str, ...] = (), only: list[str] | tuple[str, ...] = (),
         settings: MailSettings | None = None, progress: Callable[[str], None] | None = None) -> Outcome:
    """Send every department's message not yet sent this month; the ledger records each one."""
    workbook = Path(workbook)
    forced = _departments(resend, "--resend")
    prepared = _prepare(workbook, month, history, out_dir, settings,
                        {"host": host, "port": port, "user": user, "security": security}, only)
    if isinstance(prepared, Outcome):
        prepared.notes.append("输入数据有错误，未发送任何邮件。")
        prepared.next.append(Next("fix_problems"))
        return prepared
    registry = prepared.registry
    by_name = {p.department: p for p in prepared.packages}
    unknown = [registry.get(n).short for n in forced if n not in by_name]
    if unknown:
        raise UsageError(f"--resend：{'、'.join(unknown)} 本月没有数据，无邮件可发")
    say = progress or (lambda line: None)
    outcome, smtp = prepared.outcome, prepared.settings.smtp
    try:
        password = password_for(smtp)
    except PasswordMissing:
        raise UsageError(f"未找到邮箱 {smtp.user} 的发信密码（密码不会写入工作簿或日志）。",
                         next=[Next("set_password", smtp.user)]) from None
    status: dict[str, str] = {}
    sent, skipped, failed, refused, unsent = [], [], [], [], []
    unconfirmed, partial = [], []  # pending or uncertain (never resent by itself); recipients refused
    for p in prepared.packages:  # every refusal is known and reported before the first message goes
        if p.refused:
            status[p.department] = "拒绝"
            refused.append(f"{p.short}：{'；'.join(p.refused)}")
            say(f"拒绝 {p.short}：{'；'.join(p.refused)}")
    ledger = MailLedger(history_store(history_path(workbook, history)))
    try:
        entries = ledger.entries(prepared.month)
        queue = []
        for p in prepared.packages:
            if p.refused:
                continue
            e = entries.get(p.department)
            action, note = decide(e.status if e else None, e.content_hash if e else None, p.hash,
                                  forced=p.department in forced)
            if action == SEND:
                queue.append(p)
            else:
                status[p.department] = "中断待核实" if action == SKIP_PENDING else "已发送过"
                skipped.append(f"{p.short}：{note}")
                if action == SKIP_PENDING:
                    unconfirmed.append(p.short)
        sender: SmtpSender | None = None
        stopped = ""
        for i, p in enumerate(queue, start=1):
            if stopped:
                status[p.department] = "未发送"
                unsent.append(p.short)
                continue
            try:
                if sender is None:
                    sender = SmtpSender(smtp, password)
                    sender.connect()
            except SmtpError as exc:
                stopped = str(exc)
                sender = None
                status[p.department] = "未发送"
                unsent.append(p.short)
                say(f"停止发送：{exc}")
                continue
            msg = _message(prepared, p, draft=False)
            recipients = [*p.to, *p.cc]
            ledger.pending(prepared.month, p.department, p.hash, "；".join(recipients))
            try:
                answer, rejected = sender.send(prepared.settings.sender, recipients, message_bytes(msg))
            except SmtpError as exc:
                if exc.uncertain:
                    ledger.uncertain(prepared.month, p.department, str(exc))
                    status[p.department] = "待核实"
                    unconfirmed.append(p.short)
                    say(f"[{i}/{len(queue)}] {p.short} 待核实：{exc}")
                else:
                    ledger.failed(prepared.month, p.department, str(exc))
                    status[p.department] = "失败"
                    failed.append(f"{p.short}：{exc}")
                    say(f"[{i}/{len(queue)}] {p.short} 失败：{exc}")
                if exc.connection:
                    stopped = str(exc)
                    sender = None
                    say("连接中断，停止发送；再次运行将只发送尚未发出的邮件。")
                continue
            lost = "；".join(f"{a}（{r}）" for a, r in rejected.items())
            ledger.sent(prepared.month, p.department, answer, lost)
            status[p.department] = "已发送" if not rejected else "已发送（部分收件人被拒）"
            sent.append(p.short)
            delivered = [a for a in recipients if a not in rejected]
            say(f"[{i}/{len(queue)}] {p.short} 已发送 → {'；'.join(delivered)}（{answer}）")
            if rejected:
                partial.append(f"{p.short}：{lost}")
                say(f"[{i}/{len(queue)}] {p.short} 被拒收的地址：{lost}")
        if sender is not None:
            sender.close()
    finally:
        ledger.close()
    outcome.report = [*_table(prepared, status),
                      f"发送结果（{prepared.month}）：已发送 {len(sent)} 封，跳过（已发送过或待核实）{len(skipped)} 个，"
                      f"失败 {len(failed)} 个，未发送 {len(unsent)} 个，拒绝 {len(refused)} 个。",
                      *(f"跳过：{x}" for x in skipped), *(f"失败：{x}" for x in failed),
                      *(f"部分收件人被拒（其余地址已收到，不会自动重发）：{x}" for x in partial),
                      *([f"待核实（未能确认送达，不会自动重发）：{'、'.join(unconfirmed)}"] if unconfirmed else []),
                      *([f"未发送（{stopped}）：{'、'.join(unsent)}"] if unsent else []),
                      *(f"拒绝：{x}" for x in refused)]
    if failed or unsent:
        outcome.notes.append("有邮件未发出：排除原因后再次发送，只会发送尚未发出的邮件。")
    if unconfirmed:
        outcome.notes.append(f"有 {len(unconfirmed)} 个单位的邮件无法确认是否送达：{'、'.join(unconfirmed)}。请向对方核实。")
    outcome.next += _email_next(prepared) + [Next("resend", name) for name in unconfirmed]
    outcome.failed = bool(failed or unsent or refused or unconfirmed or partial)
    outcome.extra = _json(prepared, status, {})
    outcome.extra["mail"]["summary"] = {"sent": sent, "skipped": skipped, "failed": failed, "unsent": unsent,
                                        "refused": refused, "unconfirmed": unconfirmed, "partial": partial}
    return outcome
