"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd), with fault injection, STARTTLS or
implicit TLS with a self-signed certificate made here (cryptography), and AUTH."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "fgb@yindu.example", "s3cret-Pa55-word"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Recorder:
    """Keeps every accepted message. Faults, each counted in accepted messages before it strikes:
    `refuse_after` answers 554 to the data; `temp_fail_after` answers 451 to the data; `drop_after` closes
    the connection after the data instead of answering (the message is NOT kept); `accept_then_drop_after`
    keeps the message and then closes before its 250 (delivered, but the client cannot know);
    `drop_at_rcpt_after` closes at RCPT TO (before any data). `refuse_rcpt`: addresses answered 550 at
    RCPT TO. `delay`: seconds before the answer to the data (a slow server). `in_data` is set while a
    message's data is being answered."""

    refuse_after: int | None = None
    drop_after: int | None = None
    temp_fail_after: int | None = None
    accept_then_drop_after: int | None = None
    drop_at_rcpt_after: int | None = None
    refuse_rcpt: tuple[str, ...] = ()
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    in_data: threading.Event = field(default_factory=threading.Event)

    @staticmethod
    def _due(limit: int | None, n: int) -> bool:
        return limit is not None and n >= limit

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self._due(self.drop_at_rcpt_after, len(self.received)):
            server.transport.close()
            return "421 4.3.0 dropped at RCPT by the test"
        if address in self.refuse_rcpt:
            return "550 5.1.1 mailbox unavailable (test)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        n = len(self.received)
        self.in_data.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._due(self.drop_after, n):
            server.transport.close()
            return "421 4.3.0 dropped by the test"
        if self._due(self.refuse_after, n):
            return "554 5.7.1 refused by the test"
        if self._due(self.temp_fail_after, n):
            return "451 4.3.0 try again later (test)"
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if self._due(self.accept_then_drop_after, n):
            server.transport.close()
            return "421 4.3.0 accepted, then dropped by the test"
        return f"250 2.0.0 OK queued as T{n + 1}"

    def count(self, address: str) -> int:
        """How many messages reached `address`."""
        return sum(address in r.rcpt_tos for r in self.received)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and \
            auth_data.password.decode() == PASSWORD
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def by_recipient(self) -> dict[str, Received]:
        return {r.rcpt_tos[0]: r for r in self.received}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(recorder: Recorder, cert: Path, key: Path, *, mode: str = "starttls", auth: bool = False) -> Controller:
    """mode: starttls (STARTTLS required) or ssl (implicit TLS from the first byte)."""
    ctx = server_context(cert, key)
    kwargs = {"authenticator": recorder.authenticate, "auth_required": True} if auth else {}
    if mode == "ssl":
        # aiosmtpd sees TLS only when it came by STARTTLS; under implicit TLS it must be told AUTH may go
        if auth:
            kwargs["auth_require_tls"] = False
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ssl_context=ctx, **kwargs)
    else:
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), tls_context=ctx,
                                require_starttls=True, **kwargs)
    controller.start()
    return controller
