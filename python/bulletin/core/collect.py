"""The collection loop, pure: who reports what, deadlines, the fill-in workbook's signed identity, the
submission states, reminders due, and how a return's rows merge into the master. Nothing here reads a file."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import ConfigError, check_keys, expect
from .numbers import clean_text, is_blank

TEMPLATE_VERSION = 1  # bump when the fill-in layout changes: an older return is refused
IDENTITY_KIND = "bulletin-collect"

# submission states, per month × department × annex
NOT_SENT, SENT, SUBMITTED, OVERDUE, RETURNED, CONFIRMED, NOTHING = (
    "未发", "已发", "已报", "逾期未报", "退回", "已确认", "无需报送")
STATES = (NOT_SENT, SENT, SUBMITTED, OVERDUE, RETURNED, CONFIRMED, NOTHING)
DONE = (SUBMITTED, CONFIRMED, NOTHING)  # nothing more is asked of the department

# the wording of what a return can be refused or sent back for (collect.yaml `messages` may reword them)
MESSAGES = {
    "not_fillin": "不是本办下发的报送工作簿（缺少报送标识），请使用下发的文件填写",
    "bad_signature": "报送标识的签名不符（文件被改动过或不是本办下发的），请使用下发的原文件填写",
    "old_version": "报送工作簿模板版本过旧（第{found}版，现为第{current}版），请使用最新下发的文件填写",
    "wrong_month": "这是 {found} 的报送工作簿，总表是 {month}，未导入",
    "other_department": "工作簿标识为“{claimed}”，但{where}填的是“{found}”：不能代替其他单位报送",
    "unknown_department": "报送单位“{claimed}”不在总表的部门名录中",
    "rows_changed": "总表中“{department}”在{sheet}的行与下发时不一致（{detail}），请重新下发报送工作簿",
    "duplicate": "与已导入的文件完全相同，未重复导入",
    "formula": "“{column}”是公式（{formula}），请直接填写数值；公式不会被导入",
    "too_big": "文件解压后过大或包含过多部件（{detail}），已拒绝",
    "unsafe_xml": "文件含有不安全的 XML 内容（实体声明等），已拒绝",
    "conflict": "总表{cell}已被手工修改为“{current}”（上次导入为“{baseline}”），本次报送为“{new}”：未覆盖，请核对后手工处理",
}
MESSAGE_FIELDS = {k: tuple(f for f in ("found", "current", "month", "claimed", "where", "department", "sheet",
                                       "detail", "column", "formula", "cell", "baseline", "new") if "{" + f + "}" in v)
                  for k, v in MESSAGES.items()}

COLLECT_KEYS = ("collected", "office", "deadline", "reminders", "contact", "secret_file", "limits", "messages", "imap")
IMAP_KEYS = ("host", "port", "security", "user", "folder", "password_env", "keyring_service", "timeout_seconds",
             "cafile", "days")
IMAP_SECURITIES = ("ssl", "starttls")
DEADLINE_KEYS = ("working_day", "holidays", "workdays", "months")
REMINDER_KEYS = ("days_before", "on_day", "daily_after")
CONTACT_KEYS = ("office", "person", "phone", "email")
LIMIT_KEYS = ("max_unpacked_mb", "max_members", "max_file_mb")


@dataclass(frozen=True)
class Limits:
    """Bounds on a return before any XML in it is parsed."""

    max_unpacked_bytes: int = 50 << 20
    max_members: int = 300
    max_file_bytes: int = 20 << 20


@dataclass(frozen=True)
class ImapSettings:
    """The office mailbox returns are read from (collect.yaml `imap`); the password as for SMTP: an environment
    variable, else the OS keyring — never a file."""

    host: str = ""
    port: int = 993
    security: str = "ssl"
    user: str = ""
    folder: str = "INBOX"
    password_env: str = "BULLETIN_IMAP_PASSWORD"
    keyring_service: str = "bulletin-imap"
    timeout_seconds: float = 30.0
    cafile: str = ""
    days: int = 45  # messages received in the last `days` days are looked at


def imap_settings_from_dict(d: Any, file: str = "collect.yaml") -> ImapSettings:
    check_keys(file, d, IMAP_KEYS, where="imap")
    text = {}
    for k in ("host", "user", "folder", "password_env", "keyring_service", "cafile", "security"):
        if k in d:
            expect(file, f"imap 的 {k}", d[k] if d[k] != "" else "-", "text")
            text[k] = str(d[k]).strip()
    security = text.get("security", "ssl")
    if security not in IMAP_SECURITIES:
        raise ConfigError(file, "imap 的 security", f"应为 ssl 或 starttls，现为“{security}”")
    port = _whole(file, "imap 的 port", d.get("port", 993 if security == "ssl" else 143), 1)
    if port > 65535:
        raise ConfigError(file, "imap 的 port", f"应为 1–65535，现为“{port}”")
    timeout = d.get("timeout_seconds", 30)
    expect(file, "imap 的 timeout_seconds", timeout, "number")
    if timeout <= 0:
        raise ConfigError(file, "imap 的 timeout_seconds", "应为正数")
    return ImapSettings(text.get("host", ""), port, security, text.get("user", ""), text.get("folder") or "INBOX",
                        text.get("password_env") or "BULLETIN_IMAP_PASSWORD",
                        text.get("keyring_service") or "bulletin-imap", float(timeout), text.get("cafile", ""),
                        _whole(file, "imap 的 days", d.get("days", 45), 1))


@dataclass(frozen=True)
class CollectSettings:
    """collect.yaml, checked: which annexes come from departments, the deadline rule, reminders, contact."""

    collected: tuple[int, ...]
    office: tuple[int, ...]
    working_day: int = 5
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()  # weekend days worked (调休)
    deadlines: Mapping[str, dt.date] = field(default_factory=dict)  # month -> its own deadline
    days_before: tuple[int, ...] = (3, 1)
    on_day: bool = True
    daily_after: bool = True
    contact: Mapping[str, str] = field(default_factory=dict)
    secret_file: str = ""
    limits: Limits = Limits()
    messages: Mapping[str, str] = field(default_factory=lambda: dict(MESSAGES))
    imap: ImapSettings = ImapSettings()

    def message(self, key: str, **values: Any) -> str:
        return self.messages[key].format(**values)


def _date(file: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(file, key, f"应为日期，如 2023-07-10，现为“{value}”") from None


def _annexes(file: str, key: str, value: Any) -> tuple[int, ...]:
    expect(file, key, value, "list")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 8:
            raise ConfigError(file, key, f"应为附件编号 1–8 的列表，如 [1, 2, 3]，现有“{v}”")
        out.append(v)
    return tuple(out)


def _whole(file: str, key: str, value: Any, low: int = 0) -> int:
    expect(file, key, value, "number")
    if value != int(value) or value < low:
        raise ConfigError(file, key, f"应为不小于 {low} 的整数，现为“{value}”")
    return int(value)


def _flag(file: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(file, key, f"应为 true 或 false，现为“{value}”")
    return value


def collect_settings_from_dict(d: Mapping[str, Any], file: str = "collect.yaml") -> CollectSettings:
    check_keys(file, d, COLLECT_KEYS, required=("collected",))
    collected = _annexes(file, "collected", d["collected"])
    office = _annexes(file, "office", d.get("office") or [])
    both = sorted(set(collected) & set(office))
    if both:
        raise ConfigError(file, "office", f"附件{both[0]} 同时列在 collected 和 office 中")
    deadline = d.get("deadline") or {}
    check_keys(file, deadline, DEADLINE_KEYS, where="deadline")
    working_day = _whole(file, "deadline 的 working_day", deadline.get("working_day", 5), 1)
    if working_day > 23:
        raise ConfigError(file, "deadline 的 working_day", "应不大于 23（一个月的工作日数）")
    days = {}
    for name in ("holidays", "workdays"):
        value = deadline.get(name) or []
        expect(file, f"deadline 的 {name}", value, "list")
        days[name] = frozenset(_date(file, f"deadline 的 {name}", v) for v in value)
    months = deadline.get("months") or {}
    expect(file, "deadline 的 months", months, "mapping")
    from .month import parse_month

    overrides = {}
    for k, v in months.items():
        month = parse_month(k)
        if not month:
            raise ConfigError(file, f"deadline 的 months 的 {k}", "应为月份，如 2023-06")
        overrides[month] = _date(file, f"deadline 的 months 的 {k}", v)
    reminders = d.get("reminders") or {}
    check_keys(file, reminders, REMINDER_KEYS, where="reminders")
    before = reminders.get("days_before", [3, 1])
    expect(file, "reminders 的 days_before", before, "list")
    before = tuple(_whole(file, "reminders 的 days_before", v, 1) for v in before)
    contact = d.get("contact") or {}
    check_keys(file, contact, CONTACT_KEYS, where="contact")
    for k, v in contact.items():
        expect(file, f"contact 的 {k}", v, "text")
    limits = d.get("limits") or {}
    check_keys(file, limits, LIMIT_KEYS, where="limits")
    mb = {k: _whole(file, f"limits 的 {k}", limits.get(k, default), 1)
          for k, default in (("max_unpacked_mb", 50), ("max_members", 300), ("max_file_mb", 20))}
    messages = dict(MESSAGES)
    given = d.get("messages") or {}
    check_keys(file, given, tuple(MESSAGES), where="messages")
    for k, v in given.items():
        expect(file, f"messages 的 {k}", v, "text")
        import string

        try:
            used = {f for _, f, _, _ in string.Formatter().parse(str(v)) if f}
        except ValueError:
            raise ConfigError(file, f"messages 的 {k}", "花括号不成对") from None
        unknown = sorted(used - set(MESSAGE_FIELDS[k]))
        if unknown:
            raise ConfigError(file, f"messages 的 {k}", f"占位符 {{{unknown[0]}}} 不认识；可用："
                                                        f"{'、'.join('{' + f + '}' for f in MESSAGE_FIELDS[k]) or '无'}")
        messages[k] = str(v)
    secret = d.get("secret_file")
    if secret is None:
        secret = ""
    expect(file, "secret_file", secret if secret != "" else "-", "text")
    return CollectSettings(
        collected, office, working_day, days["holidays"], days["workdays"], overrides, before,
        _flag(file, "reminders 的 on_day", reminders.get("on_day", True)),
        _flag(file, "reminders 的 daily_after", reminders.get("daily_after", True)),
        {k: str(v) for k, v in contact.items()}, str(secret),
        Limits(mb["max_unpacked_mb"] << 20, mb["max_members"], mb["max_file_mb"] << 20), messages,
        imap_settings_from_dict(d.get("imap") or {}, file))


# -- deadlines and reminders ------------------------------------------------------------------------------

def is_working_day(day: dt.date, s: CollectSettings) -> bool:
    if day in s.workdays:
        return True
    return day.weekday() < 5 and day not in s.holidays


def deadline_for(month: str, s: CollectSettings, override: dt.date | None = None) -> dt.date:
    """The deadline of a month's returns: the one given, else collect.yaml's for that month, else the
    n-th working day of the next month (weekends and listed holidays skipped, 调休 days counted)."""
    if override:
        return override
    if month in s.deadlines:
        return s.deadlines[month]
    y, m = map(int, month.split("-"))
    day = dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1)
    n = 0
    while True:
        if is_working_day(day, s):
            n += 1
            if n == s.working_day:
                return day
        day += dt.timedelta(days=1)


def reminder_due(today: dt.date, deadline: dt.date, s: CollectSettings) -> str | None:
    """The reminder due today under the schedule (its key: one reminder per key), or None."""
    days = (deadline - today).days
    if days > 0:
        return f"截止前{days}天" if days in s.days_before else None
    if days == 0:
        return "截止当天" if s.on_day else None
    return f"逾期{today.isoformat()}" if s.daily_after else None


def shown_state(state: str, deadline: dt.date, today: dt.date) -> str:
    """The state as shown at `today`: asked for (未发/已发) and past the deadline is 逾期未报."""
    if state in (NOT_SENT, SENT) and today > deadline:
        return OVERDUE
    return state


def days_late(deadline: dt.date, submitted: dt.date | None, today: dt.date) -> int:
    """Days past the deadline at submission, or today when nothing came (0 when on time)."""
    return max(0, ((submitted or today) - deadline).days)


# -- the identity of a fill-in workbook ---------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """What a fill-in workbook claims: month, department, template version, and the rows it carries per
    annex (each row's key values, e.g. annex 3's 证照类型名称), signed with the office's secret."""

    month: str
    department: str
    version: int
    sheets: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (sheet, row keys) in the workbook's order
    issued: str = ""

    def payload(self) -> str:
        return json.dumps({"kind": IDENTITY_KIND, "month": self.month, "department": self.department,
                           "version": self.version, "issued": self.issued,
                           "sheets": [[s, [list(k) for k in rows]] for s, rows in self.sheets]},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @staticmethod
    def from_payload(text: str) -> "Identity | None":
        """The identity a payload states, or None when it is not one of ours (any shape error)."""
        try:
            d = json.loads(text)
            if not isinstance(d, dict) or d.get("kind") != IDENTITY_KIND:
                return None
            sheets = tuple((str(s), tuple(tuple(str(x) for x in k) for k in rows)) for s, rows in d["sheets"])
            return Identity(str(d["month"]), str(d["department"]), int(d["version"]), sheets, str(d.get("issued", "")))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def sign(payload: str, secret: bytes) -> str:
    return hmac.new(secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_ok(payload: str, signature: str, secret: bytes) -> bool:
    return hmac.compare_digest(sign(payload, secret), str(signature or "").strip())


# -- merging ------------------------------------------------------------------------------------------------

def same_value(a: Any, b: Any) -> bool:
    """Two cell values mean the same (blank = blank, 12 = 12.0, text compared trimmed)."""
    if is_blank(a) or is_blank(b):
        return is_blank(a) and is_blank(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return float(a) == float(b)
    return clean_text(a) == clean_text(b)


@dataclass(frozen=True)
class CellMerge:
    """One input cell of the master a return writes: where, the new value, and what stands there now."""

    sheet: str
    row: int
    col: int
    cell: str  # A1 address in the master
    key: str  # stable name of the cell: "<row index>|<column>" within the department's rows of the sheet
    new: Any
    current: Any
    baseline: Any  # what the last import (or the send) left there; None when not known
    known: bool  # a baseline is known


@dataclass
class MergePlan:
    writes: list[CellMerge] = field(default_factory=list)
    conflicts: list[CellMerge] = field(default_factory=list)
    unchanged: int = 0


def plan_merge(cells: Iterable[CellMerge]) -> MergePlan:
    """Which cells to write: a cell the clerk changed by hand since the last import (it differs from what
    that import left, and from the new value) is a conflict, never overwritten. Without a known baseline a
    filled cell that differs is a conflict too (nobody knows who typed it)."""
    plan = MergePlan()
    for c in cells:
        if same_value(c.current, c.new):
            plan.unchanged += 1
        elif (same_value(c.current, c.baseline) if c.known else is_blank(c.current)):
            plan.writes.append(c)
        else:
            plan.conflicts.append(c)
    return plan


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()



# -- timeliness (报送及时性) in the bulletin ------------------------------------------------------------------

@dataclass(frozen=True)
class Timeliness:
    """rules.yaml `timeliness`: units late by more than `late_days` days, or missing at the bulletin's date."""

    name: str = "报送不及时"
    late_days: int = 3
    explain: str = ""
    status: str = "黄"


TIMELINESS_KEYS = ("name", "late_days", "explain", "status")


def timeliness_from_dict(d: Any, file: str = "rules.yaml") -> Timeliness:
    check_keys(file, d, TIMELINESS_KEYS, where="timeliness")
    for k in ("name", "explain", "status"):
        if k in d:
            expect(file, f"timeliness 的 {k}", d[k], "text")
    status = str(d.get("status", "黄"))
    if status not in ("红", "黄"):
        raise ConfigError(file, "timeliness 的 status", f"应为 红 或 黄，现为“{status}”")
    return Timeliness(str(d.get("name", "报送不及时")), _whole(file, "timeliness 的 late_days", d.get("late_days", 3)),
                      str(d.get("explain", "")), status)


@dataclass(frozen=True)
class Late:
    """A unit named for timeliness: days late (its latest annex), still missing at the bulletin's date, and the
    consecutive months (this one included) it has been late or missing."""

    department: str
    days: int
    missing: bool
    months: int


def _late_in(rows: Iterable[Any], deadline: dt.date, at: dt.date | None, late_days: int) -> dict[str, tuple[int, bool]]:
    """department -> (days late, missing) for the units late beyond `late_days` or missing. `rows`: ledger rows
    (department, state, submitted_at); `at`: the bulletin's date (None: as the ledger stands)."""
    by: dict[str, list[Any]] = {}
    for r in rows:
        if r.state in (NOT_SENT, NOTHING):
            continue  # never asked, or nothing to report: not late
        by.setdefault(r.department, []).append(r)
    out = {}
    for dept, items in by.items():
        missing, days = False, 0
        for r in items:
            submitted = dt.date.fromisoformat(r.submitted_at[:10]) if r.submitted_at and r.state in DONE else None
            if submitted is None or (at is not None and submitted > at):
                if at is None or at > deadline:  # before the deadline nothing is missing yet
                    missing = True
                    days = max(days, days_late(deadline, None, at or deadline))
            else:
                days = max(days, days_late(deadline, submitted, submitted))
        if missing or days > late_days:
            out[dept] = (days, missing)
    return out


def lateness(month: str, ledger: Mapping[str, Iterable[Any]], deadlines: Mapping[str, dt.date], at: dt.date,
             rule: Timeliness) -> list[Late]:
    """The units late or missing this month per the ledger (month -> its rows), with streaks over the months
    the ledger holds without a gap."""
    from .month import previous_month

    if month not in ledger or month not in deadlines:
        return []
    now = _late_in(ledger[month], deadlines[month], at, rule.late_days)
    out = []
    for dept, (days, missing) in now.items():
        n, m = 1, previous_month(month)
        while m in ledger and m in deadlines and dept in _late_in(ledger[m], deadlines[m], None, rule.late_days):
            n += 1
            m = previous_month(m)
        out.append(Late(dept, days, missing, n))
    return out
