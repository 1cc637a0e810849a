"""The office mailbox over IMAP (stdlib imaplib): the workbook attachments of recent messages, saved into a
folder for the import to judge like any other return. Messages are read with BODY.PEEK (nothing is marked read
or moved: the import's ledger knows what it has seen, by content). Over SSL or STARTTLS only."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ..errors import UserError
from .files import inside, unique_parts

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")


class ImapError(UserError):
    """The mailbox cannot be read (Chinese message)."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    name: str  # the attachment's own name
    sender: str  # the From address
    subject: str


def _context(settings: Any) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.cafile or None)


def _connect(settings: Any) -> imaplib.IMAP4:
    try:
        if settings.security == "ssl":
            conn = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=_context(settings),
                                     timeout=settings.timeout_seconds)
        else:
            conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout_seconds)
            conn.starttls(_context(settings))
        return conn
    except ssl.SSLError as exc:
        raise ImapError(f"与邮件服务器 {settings.host}:{settings.port} 的加密连接失败（证书不受信任或加密方式不对：{exc.reason or exc}）；"
                        f"请检查 collect.yaml 的 imap 设置（security、cafile）") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"无法连接邮件服务器 {settings.host}:{settings.port}：{getattr(exc, 'strerror', None) or exc}") from None


def _check(answer: tuple[str, Any], what: str) -> Any:
    status, data = answer
    if status != "OK":
        raise ImapError(f"邮件服务器拒绝了{what}：{data[0].decode('utf-8', 'replace') if data and data[0] else status}")
    return data


def fetch_returns(settings: Any, password: str | None, folder: Path, *, max_bytes: int,
                  today: dt.date | None = None) -> tuple[list[Fetched], list[str]]:
    """Every workbook attached to a message of the last `settings.days` days, saved into `folder` (names made
    unique and kept inside it). -> (the files, notes on what was skipped: too large, not a workbook)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    since = (today or dt.date.today()) - dt.timedelta(days=settings.days)
    conn = _connect(settings)
    found: list[tuple[bytes, str, str, str]] = []
    skipped: list[str] = []
    try:
        try:
            conn.login(settings.user, password or "")
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"邮箱 {settings.user} 登录失败（用户名或密码不对）：{exc}") from None
        _check(conn.select(_quoted(settings.folder), readonly=True), f"打开文件夹“{settings.folder}”")
        ids = _check(conn.search(None, "SINCE", since.strftime("%d-%b-%Y")), "搜索邮件")[0].split()
        for num in ids:
            size_data = _check(conn.fetch(num, "(RFC822.SIZE)"), "读取邮件大小")
            m = re.search(rb"RFC822\.SIZE (\d+)", size_data[0] if isinstance(size_data[0], bytes) else b"")
            if m and int(m.group(1)) > max_bytes * 2:  # base64 makes an attachment a third larger
                skipped.append(f"第 {num.decode()} 封邮件过大（{int(m.group(1)) >> 20} MB），未读取")
                continue
            data = _check(conn.fetch(num, "(BODY.PEEK[])"), "读取邮件")
            raw = next((part[1] for part in data if isinstance(part, tuple)), b"")
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            sender = parseaddr(str(msg.get("From", "")))[1]
            subject = str(msg.get("Subject", ""))
            for part in msg.iter_attachments():
                name = part.get_filename() or ""
                if Path(name).suffix.lower() not in WORKBOOK_SUFFIXES:
                    continue
                payload = part.get_payload(decode=True) or b""
                if len(payload) > max_bytes:
                    skipped.append(f"{sender} 的附件 {name} 过大，未读取")
                    continue
                found.append((payload, name, sender, subject))
    except (OSError, socket.timeout) as exc:
        raise ImapError(f"读取邮箱时连接中断：{exc}") from None
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    parts = unique_parts(f"{i:03d}-{Path(name).stem}" for i, (_, name, _, _) in enumerate(found))
    out = []
    for i, (payload, name, sender, subject) in enumerate(found):
        suffix = Path(name).suffix.lower()
        path = inside(folder, folder / f"{parts[f'{i:03d}-{Path(name).stem}']}{suffix}")
        path.write_bytes(payload)
        out.append(Fetched(path, name, sender, subject))
    return out, skipped


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
