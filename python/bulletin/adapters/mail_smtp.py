"""SMTP over SSL (implicit TLS) or STARTTLS, with login (stdlib smtplib; the password from an environment
variable or the OS keyring, never from the workbook, the repository or a log)."""
from __future__ import annotations

import os
import smtplib
import ssl
from typing import Sequence

from ..core.mailing import SmtpSettings


class SmtpError(Exception):
    """A failure the user must see (Chinese message). `connection` is True when the link to the server is
    gone (the run stops), False when the server refused this one message (the run goes on)."""

    def __init__(self, message: str, *, connection: bool):
        super().__init__(message)
        self.connection = connection


class PasswordMissing(Exception):
    """No password in the environment variable nor the keyring (Chinese message)."""


def password_for(settings: SmtpSettings) -> str | None:
    """The SMTP password: the environment variable first, then the OS keyring; None without a user."""
    if not settings.user:
        return None
    value = os.environ.get(settings.password_env)
    if value:
        return value
    try:
        import keyring  # imported on demand: discovering the backends takes a while

        value = keyring.get_password(settings.keyring_service, settings.user)
    except Exception:  # no usable keyring on this machine (headless Linux, locked store): same as not found
        value = None
    if not value:
        raise PasswordMissing(
            f"未找到邮箱 {settings.user} 的 SMTP 密码：请设置环境变量 {settings.password_env}，或用命令 "
            f"keyring set {settings.keyring_service} {settings.user} 存入系统钥匙串（密码不会写入工作簿或日志）。")
    return value


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.cafile or None)


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


class SmtpSender:
    """One connection to the server, reused for every message of a run."""

    def __init__(self, settings: SmtpSettings, password: str | None, context: ssl.SSLContext | None = None):
        self.settings = settings
        self._password = password
        self._context = context or tls_context(settings)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSender":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=self._context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise SmtpError(f"邮件服务器 {where} 不支持 STARTTLS 加密，已停止（不以明文发送）", connection=True)
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if s.user:
                self._login(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpError(f"登录邮件服务器 {where} 失败（用户 {s.user}）：{_answer(exc.smtp_code, exc.smtp_error)}",
                            connection=True) from None
        except UnicodeEncodeError:  # smtplib's AUTH encodes user and password as ASCII
            raise SmtpError("SMTP 登录用户名或密码含有中文等非 ASCII 字符，邮件服务器登录不支持", connection=True) from None
        except smtplib.SMTPNotSupportedError:
            raise SmtpError(f"邮件服务器 {where} 不支持登录（AUTH），请检查端口和加密方式", connection=True) from None
        except ssl.SSLError as exc:
            raise SmtpError(f"与邮件服务器 {where} 建立加密连接失败：{exc.reason or exc}", connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpError(f"无法连接邮件服务器 {where}：{exc}", connection=True) from None
        self._smtp = smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        """AUTH PLAIN when offered (one attempt: a wrong password is not retried with other mechanisms,
        which some servers answer by stalling), else smtplib's choice."""
        smtp.ehlo_or_helo_if_needed()
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        if "PLAIN" in offered:
            smtp.user, smtp.password = self.settings.user, self._password or ""
            smtp.auth("PLAIN", smtp.auth_plain)
        else:
            smtp.login(self.settings.user, self._password or "")

    def send(self, sender: str, recipients: Sequence[str], data: bytes) -> str:
        """Send one message; returns the server's answer to it (e.g. "250 OK queued as …")."""
        if self._smtp is None:
            self.connect()
        smtp = self._smtp
        try:
            code, resp = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise SmtpError(f"服务器拒绝发件人：{_answer(code, resp)}", connection=False)
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    smtp.rset()
                    raise SmtpError(f"服务器拒绝收件人 {rcpt}：{_answer(code, resp)}", connection=False)
            code, resp = smtp.data(data)
            if code != 250:
                raise SmtpError(f"服务器拒收邮件：{_answer(code, resp)}", connection=False)
            return _answer(code, resp)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise SmtpError("与邮件服务器的连接中断（邮件未被确认接收）", connection=True) from None
        except smtplib.SMTPResponseException as exc:
            raise SmtpError(f"服务器拒收邮件：{_answer(exc.smtp_code, exc.smtp_error)}", connection=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SmtpError(f"发送时出错：{exc}", connection=True) from None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
