"""E-mail messages (stdlib email): built from a department's package, written as .eml drafts.

A draft carries ``X-Unsent: 1`` so Outlook, Thunderbird and Foxmail open it as an unsent message the
user can review and send. Files are written through a temp file and an atomic rename.
"""
from __future__ import annotations

import mimetypes
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Sequence

from .files import write_atomically

MIME_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              ".pdf": "application/pdf"}


def build_message(*, sender: str, sender_name: str, to: Sequence[str], cc: Sequence[str], subject: str, body: str,
                  attachments: Sequence[tuple[str, bytes]], draft: bool) -> EmailMessage:
    msg = EmailMessage()
    user, domain = sender.split("@", 1)
    msg["From"] = Address(sender_name, user, domain)
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=domain)
    if draft:
        msg["X-Unsent"] = "1"
    msg.set_content(body)
    for name, data in attachments:
        mime = MIME_TYPES.get(Path(name).suffix.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire and into a .eml file (CRLF line ends)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def write_bytes(path: Path, data: bytes) -> Path:
    return write_atomically(path, lambda tmp: Path(tmp).write_bytes(data))
