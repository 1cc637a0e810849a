"""What each department is sent: its rows, the district totals, the sentences that name it; the mail
settings; content hashes; and the checks that refuse a message before anything is sent. Pure: no files,
no network (the adapters write the extract, the message and talk to the server).
"""
from __future__ import annotations

from ..errors import UserError

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..spec import AnnexSpec, Column
from .compare import DISTRICT
from .month import MonthData
from .numbers import present
from .registry import Department, Registry

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
    unknown = sorted(set(given) - set(allowed))
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
        _unknown(where, d, SMTP_KEYS)
        for k in ("host", "port", "security"):
            if k not in d:
                raise MailSettingsError(f"{where} 缺少 {k}")
        return SmtpSettings(str(d["host"]).strip(), _port(d["port"], where), _security(d["security"], where),
                            str(d.get("user") or "").strip(), str(d.get("password_env") or "BULLETIN_SMTP_PASSWORD"),
                            str(d.get("keyring_service") or "bulletin-smtp"), float(d.get("timeout_seconds", 30)),
                            str(d.get("cafile") or "").strip())


@dataclass(frozen=True)
class MailSettings:
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
class Row:
    label: str  # as the table prints it (department short name, 全区, 合计, 小计, 安阳市 …)
    key: str  # annex 3: the 证照类型名称; else ""
    values: dict[str, Any]
    previous: dict[str, Any] = field(default_factory=dict)  # column -> last month's value
    change: dict[str, Any] = field(default_factory=dict)  # column -> this month − last month
    status: str = ""
    rules: tuple[str, ...] = ()  # names of the rules that fired
    kind: str = "department"  # department | total | subtotal | reference
    department: str = ""  # registry name of a department row


@dataclass
class SheetPart:
    spec: AnnexSpec
    title: str
    columns: tuple[Column, ...]  # value columns shown, in table order
    compared: tuple[Column, ...]  # columns with 上月/变化 beside the table (empty without last month)
    totals: list[Row]  # the district row (and annex 8's subtotals, annex 5's city row)
    rows: list[Row]  # detail rows the department may see


@dataclass(frozen=True)
class Sentence:
    section: str
    heading: str
    text: str


@dataclass
class DepartmentPart:
    month: str
    department: Department
    visibility: str
    sheets: list[SheetPart]
    sentences: list[Sentence]

    def plain(self) -> dict[str, Any]:
        """Everything the extract shows, as JSON-able data (the content hash is taken over it)."""
        def row(r: Row) -> dict[str, Any]:
            return {"label": r.label, "key": r.key, "kind": r.kind, "department": r.department, "values": r.values,
                    "previous": r.previous, "change": r.change, "status": r.status, "rules": list(r.rules)}

        return {"month": self.month, "department": self.department.name, "visibility": self.visibility,
                "sheets": [{"sheet": s.spec.sheet, "title": s.title, "columns": [c.name for c in s.columns],
                            "compared": [c.name for c in s.compared], "totals": [row(r) for r in s.totals],
                            "rows": [row(r) for r in s.rows]} for s in self.sheets],
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


def _clean(v: Any) -> Any:
    if not present(v):
        return None
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def _shown_columns(spec: AnnexSpec) -> tuple[Column, ...]:
    return tuple(c for c in spec.columns if c.role != "index" and c.role != "name")


def _compared_columns(spec: AnnexSpec) -> tuple[Column, ...]:
    computed = spec.computed_columns
    return computed if computed else tuple(c for c in spec.value_columns if c.is_numeric)


def build_parts(data: MonthData, analysis: Any, text_rows: Sequence[Mapping[str, str]], registry: Registry, *,
                visibility: str, rule_names: Mapping[str, str], district: str) -> list[DepartmentPart]:
    """One part per registry department that has a row this month, in registry order."""
    comparison = analysis.comparison if analysis is not None else None
    statuses = analysis.assessment.statuses if analysis is not None else {}
    changes: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for rec in comparison.records if comparison is not None else []:
        changes[(rec["sheet"], rec["department"], rec["key"], rec["column"])] = rec

    def make_row(spec: AnnexSpec, values: Mapping[str, Any], who: str, key: str, label: str, kind: str,
                 compared: tuple[Column, ...]) -> Row:
        row = Row(label, key, {c.name: _clean(values.get(c.name)) for c in _shown_columns(spec)}, kind=kind,
                  department=who if kind == "department" else "")
        for col in compared:
            rec = changes.get((spec.sheet, who, key, col.name))
            if rec is not None:
                row.previous[col.name] = _clean(rec["previous"])
                row.change[col.name] = _clean(rec["change"])
        entry = statuses.get(spec.sheet, {}).get(who) if kind in ("department", "total") else None
        if entry:
            row.status = entry["status"]
            row.rules = tuple(rule_names.get(r, r) for r in entry["rules"])
        return row

    sheets_common: list[tuple[AnnexSpec, str, tuple[Column, ...], tuple[Column, ...], list[Row], list[dict]]] = []
    for sheet, res in data.results.items():
        spec = res.spec
        compared = _compared_columns(spec) if comparison is not None else ()
        totals: list[Row] = []
        if res.total is not None:
            label = spec.total.label.format(district=district) if spec.total else DISTRICT
            totals.append(make_row(spec, res.total, DISTRICT, "", label, "total", compared))
        for section, sub in res.subtotals.items():
            totals.append(make_row(spec, sub, "", "", f"{section}{spec.subtotal_label or '小计'}", "subtotal", ()))
        for name, ref in res.references.items():
            totals.append(make_row(spec, ref, ref["部门"], "", ref.get("_label") or name, "reference", compared))
        sheets_common.append((spec, spec.title_for(district), _shown_columns(spec), compared, totals, res.ordered))

    spelled = spellings(registry)
    mentions = []
    for r in text_rows:
        for s in split_sentences(r["text"]):
            mentions.append((Sentence(r["section"], r["heading"], s), named_in(s, spelled)))

    present = {r["部门"] for *_, ordered in sheets_common for r in ordered if r.get("_known", True)}
    parts = []
    for dept in registry.departments:
        if dept.name not in present:
            continue
        sheets = []
        for spec, title, columns, compared, totals, ordered in sheets_common:
            mine = [r for r in ordered if r["部门"] == dept.name]
            if not mine:
                continue
            shown = ordered if visibility == "all" else mine
            keys = [c.name for c in spec.key_columns]
            rows = [make_row(spec, r, r["部门"], "|".join(str(r.get(k)) for k in keys), r["_label"], "department",
                             compared) for r in shown]
            sheets.append(SheetPart(spec, title, columns, compared, totals, rows))
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


def refusals(department: Department, to: Sequence[str], cc: Sequence[str], attachments: Sequence[tuple[str, int]],
             registry: Registry, settings: MailSettings) -> list[str]:
    """Why a department's message must not go (Chinese reasons; empty = it may go)."""
    reasons = []
    if not to:
        reasons.append("部门名录中未登记邮箱（请在 departments.csv 的“邮箱”列填写）")
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
        note = "" if sent_hash == new_hash else "（此后内容有变化；如需重发请用 --resend）"
        return SKIP_SENT, "已发送过" + note
    return SKIP_PENDING, ("上次发送中断，无法确认对方是否已收到；请核实，如需重发请用 --resend")
