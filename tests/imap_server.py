"""A real IMAP server for the tests: Debian's dovecot (dovecot-imapd), started in a temp folder with its own
configuration — listening on 127.0.0.1 on a free port, STARTTLS and implicit TLS with the certificate the
mail tests make, one user from a passwd-file, maildirs owned by a non-root user — and stopped by the test."""
from __future__ import annotations

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mail_server import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
IMAP_USER, IMAP_PASSWORD = "fgb@yindu.example", "imap-Pa55-word"

CONFIG = """
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%n
first_valid_uid = 1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    base: Path
    port: int  # STARTTLS
    ssl_port: int
    process: subprocess.Popen
    cert: Path

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.starttls(ssl.create_default_context(cafile=str(self.cert)))
        conn.login(IMAP_USER, IMAP_PASSWORD)
        return conn

    def deliver(self, message: bytes) -> None:
        conn = self.client()
        try:
            status, data = conn.append("INBOX", None, None, message)
            assert status == "OK", data
        finally:
            conn.logout()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def start_dovecot(cert: Path, key: Path) -> Dovecot:
    """Started in a new folder under the system temp folder (dovecot's unprivileged processes must reach it:
    pytest's own folders are private); `stop` removes it."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="bulletin-dovecot-"))
    if os.geteuid() == 0:  # as root: the mail belongs to an unprivileged user, as dovecot insists
        import pwd

        owner = pwd.getpwnam("nobody")
        uid, gid, user, group = owner.pw_uid, owner.pw_gid, "dovecot", "dovecot"
    else:
        import grp
        import pwd

        uid, gid = os.getuid(), os.getgid()
        user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    for sub in ("run", "state", "mail", "home"):
        (base / sub).mkdir(exist_ok=True)
    os.chmod(base, 0o711)
    for sub in ("mail", "home"):
        os.chown(base / sub, uid, gid) if os.geteuid() == 0 else None
    (base / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{uid}:{gid}::{base}/home::\n", encoding="utf-8")
    os.chmod(base / "passwd", 0o644)
    cert, key = shutil.copy(cert, base / "cert.pem"), shutil.copy(key, base / "key.pem")
    port, ssl_port = free_port(), free_port()
    conf = base / "dovecot.conf"
    conf.write_text(CONFIG.format(base=base, cert=cert, key=key, user=user, group=group, port=port,
                                  ssl_port=ssl_port), encoding="utf-8")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Dovecot(base, port, ssl_port, process, cert)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (base / "dovecot.log").read_text(errors="replace") if (base / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited: {process.stdout.read().decode(errors='replace')}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("dovecot did not start listening")
