"""The errors a user can cause and fix, shared by every layer and front end.

Every error a clerk or IT can act on is a `UserError` with a Chinese message; each front end shows it
its own way (the CLI prints it and exits with `exit_code`, a button shows a message box, the console a
banner or a JSON body). Anything else is a program fault: logged, never shown as a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Next:
    """What the user can do next, as data: each front end words it its own way (the CLI names its flag or
    command, the console its button or control, the workbook its button), so no message carries another
    front end's instructions. `action` is one of NEXT_ACTIONS; `subject` a department or month when it
    names one."""

    action: str
    subject: str = ""

    def json(self) -> dict[str, str]:
        return {"action": self.action, "subject": self.subject}


NEXT_ACTIONS = (
    "overwrite_text",        # staff-edited paragraphs were kept; the generated text may replace them
    "reset_status",          # staff-set 状态 were kept; the rules' proposal may replace them
    "close_previous_month",  # last month (subject) is not in the history
    "close_month",           # this month (subject) is not yet stored
    "fix_problems",          # the input has errors: see them all and correct them
    "set_email",             # a department (subject) has no registered address
    "resend",                # a department's (subject) message may be sent again after checking
    "give_month",            # the month cannot be told: fill 月份
    "refresh_charts",        # the 总览 charts were not redrawn here
    "set_password",          # the SMTP password of the user (subject) is set nowhere on this PC
    "remind",                # some units have not reported (报送): a reminder can be sent
    "give_returns",          # no returned workbook was given to import
    "set_mailbox",           # the office mailbox the returns come to is not set up
    "set_imap_password",     # the mailbox password of the user (subject) is set nowhere on this PC
)


class UserError(Exception):
    """A problem the user can fix (Chinese message). Exit code 2 for the CLI unless a subclass says else.
    `next`: what the user can do about it (worded by each front end after the message)."""

    exit_code = 2

    def __init__(self, *args: object, next: "tuple[Next, ...] | list[Next]" = ()) -> None:
        super().__init__(*args)
        self.next = tuple(next)


class UsageError(UserError):
    """Wrong arguments or a missing prerequisite (e.g. last month not in the history)."""


class ConfigError(UserError):
    """A mistake in a staff-editable file (data/*.yaml, departments.csv, templates): names file and key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key = file, key
        super().__init__(f"配置文件 {file} 中“{key}”有误：{message}" if key else f"配置文件 {file} 有误：{message}")


class WorkbookLocked(UserError):
    """The workbook is open in Excel or WPS, so it cannot be replaced."""


def check_keys(file: str, given: object, allowed: "tuple[str, ...] | list[str] | set[str]",
               required: "tuple[str, ...]" = (), where: str = "") -> None:
    """The one key check of staff files (the XlsxWriter way): every key known, every required key given.
    `where` names the part of the file (e.g. "规则 a1.instant_zero") in front of the key."""
    if not isinstance(given, dict):
        raise ConfigError(file, where, "应是“名称: 值”的列表")
    prefix = f"{where} 的 " if where else ""
    for key in given:
        if key not in allowed:
            raise ConfigError(file, f"{prefix}{key}", f"不认识的项；可用的项：{'、'.join(map(str, allowed))}")
    for key in required:
        if key not in given:
            raise ConfigError(file, f"{prefix}{key}", "缺少此项")


SHAPES = {"list": "应写成列表（每项一行，以“- ”开头）", "mapping": "应是“名称: 值”的列表",
          "number": "应为数字", "text": "应为文字"}


def expect(file: str, where: str, value: object, shape: str) -> None:
    """The shape a staff file's value must have (list, mapping, number or text), refused in Chinese naming
    file and key, so a value of the wrong kind never reaches Python as a TypeError."""
    ok = {"list": isinstance(value, list), "mapping": isinstance(value, dict),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "text": isinstance(value, (str, int, float)) and not isinstance(value, bool)}[shape]
    if not ok:
        raise ConfigError(file, where, f"{SHAPES[shape]}，现为“{value}”")
