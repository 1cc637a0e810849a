"""Who may use the console, and protection against other sites.

Local (the default, one desk): bound to 127.0.0.1, a per-launch token (secrets.token_urlsafe) in the URL printed
at start. The first page load with ?token= sets an HttpOnly SameSite=Strict cookie and drops the token from the
address; every page and API request needs the token (header X-Bulletin-Token, or the cookie), 401 without, 403
with a wrong one. The Host header must be 127.0.0.1/localhost/[::1] with our port (a DNS rebinding page cannot
reach us), and a state-changing request authorised by the cookie alone must come from our own Origin
(cross-site forms or fetches are refused); state changes are POST only.

Accounts (an office server: --host 0.0.0.0 --allow-remote, or --accounts on 127.0.0.1): the office database's
accounts (actions/accounts.py) instead of the launch token. A login gets its own session (expiring, revocable,
only its hash stored); its token rides in the same HttpOnly SameSite=Strict cookie (Secure over https). Every
state-changing request also needs Flask-WTF's CSRF token (the page sends it as X-CSRFToken) besides the Origin
check. Optionally the office's reverse proxy (one trusted address) names the user it authenticated in the
X-Remote-User header; that user must be an active account.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters.office_db import Account, OfficeDB
from ..errors import UsageError

HEADER = "X-Bulletin-Token"
COOKIE = "bulletin_token"
REMOTE_USER_HEADER = "X-Remote-User"  # set by the trusted reverse proxy (nginx: proxy_set_header)
REAL_IP_HEADER = "X-Real-IP"  # the client's address as the trusted proxy saw it
SECRET_ENV = "BULLETIN_CONSOLE_SECRET"
SECRET_FILE = ".console-secret"  # in the working folder: every server process of one office signs alike
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def trusted_proxy_address(value: str | None) -> str | None:
    """The reverse proxy's address as given (--trusted-proxy or settings.yaml), checked; None when unset."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise UsageError(f"受信任的反向代理地址“{value}”不是 IP 地址（如 127.0.0.1）") from None


def signing_secret(folder: Path) -> bytes:
    """The key signing the CSRF session cookie: BULLETIN_CONSOLE_SECRET, else a random one kept in the working
    folder (created once, readable by its owner only) so that several server processes of one office agree."""
    given = os.environ.get(SECRET_ENV, "")
    if given:
        return given.encode()
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        secret = secrets.token_urlsafe(48).encode()
        f.write(secret)
    return secret


@dataclass
class Guard:
    """The console's access rules (one per server)."""

    port: int
    remote: bool = False  # bound to another address than loopback
    db: OfficeDB | None = None  # accounts mode: the office database's accounts and sessions
    trusted_proxy: str | None = None  # accounts mode: the reverse proxy whose X-Remote-User is believed
    token: str = field(default_factory=new_token, repr=False)  # local: the launch token (never in a repr/log)

    @property
    def accounts(self) -> bool:
        return self.db is not None

    # -- checks ----------------------------------------------------------------------------------------
    def host_allowed(self, host: str) -> bool:
        """Bound to loopback: only loopback names with our port (DNS rebinding). Remote: the login protects,
        and the cookie is bound to the host the clerk typed, so any name the office gives the server is fine."""
        if self.remote:
            return True
        return host in {f"{name}:{self.port}" for name in LOOPBACK}

    def valid(self, token: str | None) -> bool:
        """Local mode: the launch token."""
        return not self.accounts and same(token, self.token)

    def session_account(self, token: str | None) -> Account | None:
        """Accounts mode: the account of a live session."""
        from ..actions import accounts

        if not self.accounts or not token:
            return None
        return accounts.session_account(self.db, token)

    def proxy_user(self, environ: dict[str, Any], headers: Any) -> str | None:
        """The user name the trusted reverse proxy vouches for; None when the request did not come from it
        (a header from anyone else is ignored) or names nobody."""
        if not self.accounts or not self.trusted_proxy or environ.get("REMOTE_ADDR") != self.trusted_proxy:
            return None
        return (headers.get(REMOTE_USER_HEADER) or "").strip() or None

    def client_address(self, environ: dict[str, Any], headers: Any) -> str:
        """Where the request came from, for the audit log: the proxy's X-Real-IP when it is the trusted one."""
        peer = environ.get("REMOTE_ADDR") or ""
        if self.trusted_proxy and peer == self.trusted_proxy and headers.get(REAL_IP_HEADER):
            return str(headers.get(REAL_IP_HEADER))[:64]
        return peer

    @staticmethod
    def from_other_site(headers: Any, scheme: str, host: str) -> bool:
        """Accounts mode, beside the CSRF token: a request a browser says came from another site's page. The
        pages send no Referer, so a browser's own form or fetch may say Origin "null"; Sec-Fetch-Site, which
        browsers send, still tells."""
        origin = headers.get("Origin")
        if origin not in (None, "null") and origin != f"{scheme}://{host}":
            return True
        return headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")

    @staticmethod
    def origin_matches(headers: Any, scheme: str, host: str) -> bool:
        """A browser request from our own page: Origin (sent with every POST) is our own origin, and
        Sec-Fetch-Site, where sent, does not say cross-site."""
        origin = headers.get("Origin")
        if origin != f"{scheme}://{host}":
            return False
        return headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
