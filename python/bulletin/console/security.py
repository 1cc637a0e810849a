"""Who may use the console, and protection against other sites.

Local (the default): bound to 127.0.0.1, a per-launch token (secrets.token_urlsafe) in the URL printed at
start. The first page load with ?token= sets an HttpOnly SameSite=Strict cookie and drops the token from
the address; every page and API request needs the token (header X-Bulletin-Token, or the cookie), 401
without, 403 with a wrong one. The Host header must be 127.0.0.1/localhost/[::1] with our port (a DNS
rebinding page cannot reach us), and a state-changing request authorised by the cookie alone must come
from our own Origin (cross-site forms or fetches are refused); state changes are POST only.

Remote (an intranet server for several clerks, only with --allow-remote): a password login instead of
the launch token; each login gets its own session token, used exactly like the launch token. The password
(env BULLETIN_CONSOLE_PASSWORD, or the OS keyring) is kept only as a scrypt hash in memory.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

HEADER = "X-Bulletin-Token"
COOKIE = "bulletin_token"
PASSWORD_ENV = "BULLETIN_CONSOLE_PASSWORD"
KEYRING_SERVICE = "bulletin-console"
SESSION_HOURS = 12
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1)


def console_password() -> str:
    """The login password of a remote console: the environment, else the OS keyring; never a file."""
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        try:
            import keyring

            password = keyring.get_password(KEYRING_SERVICE, "staff")
        except Exception:  # no keyring backend on this machine: the environment variable is the way
            password = None
    if not password:
        raise UsageError(f"对外提供服务（--allow-remote）需要登录密码：请设置环境变量 {PASSWORD_ENV}，"
                         f"或用 keyring set {KEYRING_SERVICE} staff 存入系统钥匙串")
    if len(password) < 8:
        raise UsageError("登录密码至少 8 个字符")
    return password


@dataclass
class Guard:
    """The console's access rules (one per server)."""

    port: int
    remote: bool = False
    token: str = field(default_factory=new_token, repr=False)  # local: the launch token (never in a repr/log)
    _salt: bytes = field(default=b"", repr=False)
    _hash: bytes = field(default=b"", repr=False)
    _sessions: dict[str, float] = field(default_factory=dict, repr=False)  # remote: session token -> expiry
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_password(self, password: str) -> None:
        self._salt = secrets.token_bytes(16)
        self._hash = _scrypt(password, self._salt)

    # -- checks ----------------------------------------------------------------------------------------
    def host_allowed(self, host: str) -> bool:
        """Local: only loopback names with our port (DNS rebinding). Remote: the login protects, and the
        cookie is bound to the host the clerk typed, so any name the office gives the server is fine."""
        if self.remote:
            return True
        return host in {f"{name}:{self.port}" for name in LOOPBACK}

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        if not self.remote:
            return same(token, self.token)
        with self._lock:
            now = time.time()
            for t, expiry in list(self._sessions.items()):
                if expiry < now:
                    del self._sessions[t]
            return any(same(token, t) for t in self._sessions)

    def login(self, password: str) -> str | None:
        """A new session token for the right password (remote only), else None after a pause."""
        if not self.remote or not self._hash:
            return None
        if hmac.compare_digest(_scrypt(password or "", self._salt), self._hash):
            token = new_token()
            with self._lock:
                self._sessions[token] = time.time() + SESSION_HOURS * 3600
            return token
        time.sleep(1.0)  # slows guessing down
        return None

    def logout(self, token: str | None) -> None:
        with self._lock:
            for t in list(self._sessions):
                if same(token, t):
                    del self._sessions[t]

    @staticmethod
    def origin_matches(headers: Any, scheme: str, host: str) -> bool:
        """A browser request from our own page: Origin (sent with every POST) is our own origin, and
        Sec-Fetch-Site, where sent, does not say cross-site."""
        origin = headers.get("Origin")
        if origin != f"{scheme}://{host}":
            return False
        return headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
