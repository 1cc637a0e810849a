"""SMTP over SSL (implicit TLS) or STARTTLS, with login (stdlib smtplib; the password from an environment
variable or the OS keyring, never from the workbook, the repository or a log)."""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
from typing import Sequence

from ..core.mailing import SmtpSettings


class SmtpError(Exception):
    """A failure the user must see (Chinese message). `connection` is True when the link to the server is
    gone (the run stops), False when the server refused this one message (the run goes on). `uncertain`:
    the link was lost after the message's data went out and before the server answered — it may have been
    delivered, so it must never be resent automatically."""

    def __init__(self, message: str, *, connection: bool, uncertain: bool = False):
        super().__init__(message)
        self.connection = connection
        self.uncertain = uncertain


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
            raise SmtpError(f"与邮件服务器 {where} 建立加密连接失败（{_tls_reason(exc)}）", connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpError(f"无法连接邮件服务器 {where}：{_reason(exc)}", connection=True) from None
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

    def send(self, sender: str, recipients: Sequence[str], data: bytes) -> tuple[str, dict[str, str]]:
        """Send one message: (the server's answer to it, e.g. "250 OK queued as …", {refused recipient:
        the server's answer}). A recipient the server refuses does not stop the others; a message every
        recipient refused is refused before its data is sent (safe to retry)."""
        if self._smtp is None:
            self.connect()
        smtp = self._smtp
        data_sent = False  # from the DATA command on, a lost link leaves the delivery unknown
        try:
            code, resp = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise SmtpError(f"服务器拒绝发件人：{_answer(code, resp)}", connection=False)
            refused = {}
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = _answer(code, resp)
            if len(refused) == len(recipients):
                smtp.rset()
                raise SmtpError("服务器拒绝了全部收件人：" + "；".join(f"{a}（{r}）" for a, r in refused.items()),
                                connection=False)
            data_sent = True
            code, resp = smtp.data(data)
            if code != 250:
                raise SmtpError(f"服务器拒收邮件：{_answer(code, resp)}", connection=False)
            return _answer(code, resp), refused
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise self._lost("中断", data_sent) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server closes the link (421 before the data: nothing was sent)
                self._drop()
                raise self._lost(_answer(exc.smtp_code, exc.smtp_error), data_sent) from None
            raise SmtpError(f"服务器拒收邮件：{_answer(exc.smtp_code, exc.smtp_error)}", connection=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise self._lost(f"出错（{_reason(exc)}）", data_sent) from None

    @staticmethod
    def _lost(why: str, data_sent: bool) -> SmtpError:
        if data_sent:
            return SmtpError(f"邮件内容已交给服务器，但在服务器确认之前与服务器的连接{why}：无法确定是否已送达"
                             f"（不会自动重发；请向对方核实）", connection=True, uncertain=True)
        return SmtpError(f"与邮件服务器的连接{why}（邮件尚未发出）", connection=True)

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


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in Chinese (the system's English text is for the log, not the clerk)."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "连接超时：服务器没有应答，请检查服务器地址、端口和网络"
    if isinstance(exc, ConnectionRefusedError):
        return "对方拒绝连接：该端口上没有邮件服务，请检查服务器地址和端口"
    if isinstance(exc, socket.gaierror):
        return "找不到该服务器：请检查服务器地址是否写错，或网络是否连通"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "连接被对方断开"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "服务器断开了连接"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"服务器回答 {_answer(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, OSError) and exc.errno:
        return f"网络错误（系统错误号 {exc.errno}）"
    return f"通信错误（{type(exc).__name__}）"


def _tls_reason(exc: ssl.SSLError) -> str:
    """An SSL failure in Chinese (OpenSSL's own text is English)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"服务器证书无法验证，验证错误号 {exc.verify_code}：请信息科检查证书设置"
    return "加密协商失败：请检查端口和加密方式（SSL 或 STARTTLS）"
