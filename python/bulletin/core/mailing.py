"""What each department is sent: its rows, the district totals, the sentences that name it; the mail
settings; content hashes; and the checks that refuse a message before anything is sent. Pure: no files,
no network (the adapters write the extract, the message and talk to the server).
"""
from __future__ import annotations

from ..errors import UserError, expect

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..spec import AnnexSpec, Column
from .month import MonthData
from .registry import Department, Registry
from .tables import RowKind, Status, TableRow, build_tables

VISIBILITIES = {"own": "本单位数据和全区合计", "all": "全部单位数据"}
SECURITIES = ("ssl", "starttls")
SETTINGS_KEYS = {"visibility", "attachment_limit_kb", "sender", "sender_name", "cc", "smtp"}
SMTP_KEYS = {"host", "port", "security", "user", "password_env", "keyring_service", "timeout_seconds", "cafile"}
# Keys of the workbook's 参数 sheet this area reads (every other 邮件… key is refused as a typo).
PARAM_KEYS = {"邮件服务器": "host", "邮件端口": "port", "邮件用户": "user", "邮件加密": "security", "邮件抄送": "cc"}
PARAM_PREFIX = "邮件"
_ADDRESS = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SENTENCE = re.compile(r"[^。；！？]+[。；！？]?")


class MailSettingsError(UserError, ValueError):
    """A mistake in mail.yaml, the 参数 sheet or the command line (Chinese message)."""


def _unknown(where: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(map(str, set(given) - set(allowed)))  # a key YAML read as a number or yes/no too
    if unknown:
        raise MailSettingsError(f"{where} 中有无法识别的设置：{'、'.join(unknown)}（可用：{'、'.join(sorted(allowed))}）")


def split_addresses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else re.split(r"[;；,，\s]+", str(value))
    return tuple(str(a).strip() for a in items if str(a).strip())


def valid_address(address: str) -> bool:
    return bool(_ADDRESS.match(address))


def _security(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text not in SECURITIES:
        raise MailSettingsError(f"{where}：加密方式“{value}”应为 ssl 或 starttls")
    return text


def _port(value: Any, where: str) -> int:
    try:
        port = int(float(str(value).strip()))
    except ValueError:
        raise MailSettingsError(f"{where}：端口“{value}”不是数字") from None
    if not 0 < port < 65536:
        raise MailSettingsError(f"{where}：端口 {port} 超出范围")
    return port


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server: host, port, security and user."""

    host: str
    port: int
    security: str
    user: str = ""
    password_env: str = "BULLETIN_SMTP_PASSWORD"
    keyring_service: str = "bulletin-smtp"
    timeout_seconds: float = 30.0
    cafile: str = ""

    @staticmethod
    def from_dict(d: Mapping[str, Any], where: str = "mail.yaml smtp") -> "SmtpSettings":
        expect("mail.yaml", "smtp", d, "mapping")
        _unknown(where, d, SMTP_KEYS)
        if "timeout_seconds" in d:
            expect("mail.yaml", "smtp 的 timeout_seconds", d["timeout_seconds"], "number")
        for k in ("host", "port", "security"):
            if k not in d:
                raise MailSettingsError(f"{where} 缺少 {k}")
        return SmtpSettings(str(d["host"]).strip(), _port(d["port"], where), _security(d["security"], where),
                            str(d.get("user") or "").strip(), str(d.get("password_env") or "BULLETIN_SMTP_PASSWORD"),
                            str(d.get("keyring_service") or "bulletin-smtp"), float(d.get("timeout_seconds", 30)),
                            str(d.get("cafile") or "").strip())


@dataclass(frozen=True)
class MailSettings:
    """mail.yaml, checked: what each department sees, attachment limit, sender and server."""

    visibility: str
    attachment_limit_kb: int
    sender: str
    sender_name: str
    cc: tuple[str, ...]
    smtp: SmtpSettings

    @staticmethod
    def from_dict(d: Mapping[str, Any], where: str = "mail.yaml") -> "MailSettings":
        _unknown(where, d, SETTINGS_KEYS)
        visibility = str(d.get("visibility", "own"))
        if visibility not in VISIBILITIES:
            raise MailSettingsError(f"{where}：visibility 应为 {' 或 '.join(VISIBILITIES)}，而不是“{visibility}”")
        expect("mail.yaml", "attachment_limit_kb", d.get("attachment_limit_kb", 10240), "number")
        limit = int(d.get("attachment_limit_kb", 10240))
        if limit <= 0:
            raise MailSettingsError(f"{where}：attachment_limit_kb 应为正数")
        sender = str(d.get("sender", "")).strip()
        if not valid_address(sender):
            raise MailSettingsError(f"{where}：发件人 sender“{sender}”不是有效的邮箱地址")
        return MailSettings(visibility, limit, sender, str(d.get("sender_name", "")).strip(),
                            split_addresses(d.get("cc")), SmtpSettings.from_dict(d.get("smtp") or {}, f"{where} smtp"))

    def with_params(self, params: Mapping[str, Any]) -> "MailSettings":
        """The workbook's 参数 sheet overrides host/port/user/security (and 抄送)."""
        mine = {k: v for k, v in params.items() if str(k).startswith(PARAM_PREFIX)}
        _unknown("工作簿“参数”表", mine, PARAM_KEYS)
        given = {PARAM_KEYS[k]: v for k, v in mine.items() if v is not None and str(v).strip() != ""}
        return self.with_overrides(where="工作簿“参数”表", **given)

    def with_overrides(self, *, where: str = "命令行", cc: Any = None, **smtp: Any) -> "MailSettings":
        changes = {k: v for k, v in smtp.items() if v is not None}
        _unknown(where, changes, ("host", "port", "user", "security"))
        if "port" in changes:
            changes["port"] = _port(changes["port"], where)
        if "security" in changes:
            changes["security"] = _security(changes["security"], where)
        for k in ("host", "user"):
            if k in changes:
                changes[k] = str(changes[k]).strip()
        new_smtp = SmtpSettings(**{**asdict(self.smtp), **changes})
        return MailSettings(self.visibility, self.attachment_limit_kb, self.sender, self.sender_name,
                            split_addresses(cc) if cc is not None else self.cc, new_smtp)


# -- what a department sees ------------------------------------------------------------------------

@dataclass
class SheetPart:
    """The rows of one annex a department's mail shows."""

    spec: AnnexSpec
    title: str
    columns: tuple[Column, ...]  # value columns shown, in table order
    compared: tuple[Column, ...]  # columns with 上月/变化 beside the table (empty without last month)
    totals: list[TableRow]  # the district row, annex 8's subtotals, annex 5's city row, in printed order
    rows: list[TableRow]  # department rows the department may see, in printed order

    def summary(self, department: str) -> tuple[Status | None, tuple[str, ...]]:
        """The department's worst status in this annex and the rules that fired, in order."""
        own = [r for r in self.rows if r.department == department]
        return Status.worst_of(r.status for r in own), tuple(dict.fromkeys(x for r in own for x in r.rules))


@dataclass(frozen=True)
class Sentence:
    """A sentence of the text that names the department."""

    section: str
    heading: str
    text: str


@dataclass
class DepartmentPart:
    """A department's part of the bulletin: its sentences and annex rows."""

    month: str
    department: Department
    visibility: str
    sheets: list[SheetPart]
    sentences: list[Sentence]

    def plain(self) -> dict[str, Any]:
        """Everything the extract shows, as JSON-able data (the content hash is taken over it)."""
        def row(r: TableRow, compared: set[str]) -> dict[str, Any]:
            return {"label": r.standalone_label, "key": r.key, "kind": r.kind.value, "department": r.department,
                    "values": dict(r.values), "previous": {k: v for k, v in r.previous.items() if k in compared},
                    "change": {k: v for k, v in r.change.items() if k in compared},
                    "status": r.status.label if r.status else "", "rules": list(r.rules)}

        def sheet(s: SheetPart) -> dict[str, Any]:
            compared = {c.name for c in s.compared}
            return {"sheet": s.spec.sheet, "title": s.title, "columns": [c.name for c in s.columns],
                    "compared": [c.name for c in s.compared], "totals": [row(r, compared) for r in s.totals],
                    "rows": [row(r, compared) for r in s.rows]}

        return {"month": self.month, "department": self.department.name, "visibility": self.visibility,
                "sheets": [sheet(s) for s in self.sheets],
                "sentences": [asdict(s) for s in self.sentences]}


def split_sentences(text: str) -> list[str]:
    """Sentences and ；-clauses (the bulletin lists departments clause by clause: 一是……；二是……)."""
    return [s.strip() for s in _SENTENCE.findall(text.replace("\n", "")) if s.strip()]


def spellings(registry: Registry) -> list[tuple[str, str]]:
    """(spelling, department), longest first, so 市场监管殷都大队 is not read as 市场监管局's."""
    out = {}
    for d in registry.departments:
        for s in (d.short, d.name, d.full, *d.aliases):
            if s and len(s) >= 2:
                out.setdefault(s, d.name)
    return sorted(out.items(), key=lambda kv: -len(kv[0]))


def named_in(text: str, spelled: Sequence[tuple[str, str]]) -> set[str]:
    """Departments a text names: at each position the longest spelling wins."""
    found, i = set(), 0
    while i < len(text):
        for s, name in spelled:
            if text.startswith(s, i):
                found.add(name)
                i += len(s)
                break
        else:
            i += 1
    return found


def _shown_columns(spec: AnnexSpec) -> tuple[Column, ...]:
    return tuple(c for c in spec.columns if c.role != "index" and c.role != "name")


def _compared_columns(spec: AnnexSpec) -> tuple[Column, ...]:
    computed = spec.computed_columns
    return computed if computed else tuple(c for c in spec.value_columns if c.is_numeric)


def build_parts(data: MonthData, analysis: Any, text_rows: Sequence[Mapping[str, str]], registry: Registry, *,
                visibility: str, rule_names: Mapping[str, str], district: str) -> list[DepartmentPart]:
    """One part per registry department that has a row this month, in registry order: each annex's
    printed table cut to its district rows and the department's own rows (every row with visibility all)."""
    comparison = analysis.comparison if analysis is not None else None
    tables = build_tables(data, district, statuses=analysis.assessment.statuses if analysis is not None else None,
                          comparison=comparison.records if comparison is not None else (), rule_names=rule_names)
    spelled = spellings(registry)
    mentions = []
    for r in text_rows:
        for s in split_sentences(r["text"]):
            mentions.append((Sentence(r["section"], r["heading"], s), named_in(s, spelled)))

    reporting = {r.department for t in tables.values() for r in t.of_kind(RowKind.DEPARTMENT)}
    parts = []
    for dept in registry.departments:
        if dept.name not in reporting:
            continue
        sheets = []
        for table in tables.values():
            spec, departments = table.spec, table.of_kind(RowKind.DEPARTMENT)
            if not any(r.department == dept.name for r in departments):
                continue
            shown = departments if visibility == "all" else [r for r in departments if r.department == dept.name]
            sheets.append(SheetPart(spec, table.title, _shown_columns(spec),
                                    _compared_columns(spec) if comparison is not None else (),
                                    table.of_kind(RowKind.REFERENCE, RowKind.TOTAL, RowKind.SUBTOTAL), shown))
        sentences = [s for s, who in mentions if dept.name in who]
        parts.append(DepartmentPart(data.month or "", dept, visibility, sheets, sentences))
    return parts


# -- hashing and refusals --------------------------------------------------------------------------

def content_hash(*, month: str, department: str, to: Sequence[str], cc: Sequence[str], subject: str, body: str,
                 part: Mapping[str, Any], documents: Sequence[tuple[str, bytes]]) -> str:
    """sha256 of what a department receives: recipients, wording, the extract's content and the bytes of
    the attached documents (the .xlsx itself is not byte-stable, its content is)."""
    payload = {"month": month, "department": department, "to": list(to), "cc": list(cc), "subject": subject,
               "body": body, "part": part,
               "documents": [[name, hashlib.sha256(data).hexdigest()] for name, data in documents]}
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


NO_ADDRESS = "部门名录中未登记邮箱"


def refusals(department: Department, to: Sequence[str], cc: Sequence[str], attachments: Sequence[tuple[str, int]],
             registry: Registry, settings: MailSettings) -> list[str]:
    """Why a department's message must not go (Chinese reasons; empty = it may go)."""
    reasons = []
    if not to:
        reasons.append(NO_ADDRESS)
    registered = {a.lower() for d in registry.departments for a in d.emails} | {settings.sender.lower()}
    own = {a.lower() for a in department.emails}
    for a in to:
        if not valid_address(a):
            reasons.append(f"邮箱“{a}”格式不对")
        elif a.lower() not in own:
            reasons.append(f"收件人“{a}”不是部门名录中本单位登记的邮箱")
    for a in cc:
        if not valid_address(a):
            reasons.append(f"抄送地址“{a}”格式不对")
        elif a.lower() not in registered:
            reasons.append(f"抄送地址“{a}”不在部门名录中（也不是发件人）")
    limit = settings.attachment_limit_kb * 1024
    for name, size in attachments:
        if size > limit:
            reasons.append(f"附件“{name}”大小 {size / 1024:.0f} KB，超过上限 {settings.attachment_limit_kb} KB")
    return reasons


SEND, SKIP_SENT, SKIP_PENDING = "send", "skip_sent", "skip_pending"


def decide(status: str | None, sent_hash: str | None, new_hash: str, *, forced: bool) -> tuple[str, str]:
    """Whether a department's message goes out this run, given its ledger row: (action, Chinese note).
    Sent once is sent: a changed content is pointed out, not sent again, unless forced (--resend)."""
    if forced or status in (None, "failed"):
        return SEND, ""
    if status == "sent":
        note = "" if sent_hash == new_hash else "（此后内容有变化）"
        return SKIP_SENT, "已发送过" + note
    if status == "uncertain":
        return SKIP_PENDING, ("上次发送时邮件内容已交给服务器，但连接在确认前中断，无法确认对方是否已收到；"
                              "请向对方核实")
    return SKIP_PENDING, "上次发送中断，无法确认对方是否已收到；请向对方核实"
