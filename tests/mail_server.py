"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd), with fault injection, STARTTLS or
implicit TLS with a self-signed certificate made here (cryptography), and AUTH."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
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
    """Keeps every accepted message. After `refuse_after` accepted messages it answers 554; after
    `drop_after` it closes the connection instead of answering (the client never gets a 250)."""

    refuse_after: int | None = None
    drop_after: int | None = None
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        n = len(self.received)
        if self.drop_after is not None and n >= self.drop_after:
            server.transport.close()
            return "421 4.3.0 dropped by the test"
        if self.refuse_after is not None and n >= self.refuse_after:
            return "554 5.7.1 refused by the test"
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return f"250 2.0.0 OK queued as T{n + 1}"

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
