"""`bulletin serve`: the console on waitress (pure Python, runs on Windows and 麒麟/统信 alike; the steps are
synchronous CPU-bound code, so a WSGI server with a few threads is the natural fit)."""
from __future__ import annotations

import logging
import os
import threading
import webbrowser
from pathlib import Path

from ..config import load_roles, load_settings
from ..errors import UsageError
from .app import MAX_UPLOAD_MB, Settings, create_app
from .security import LOOPBACK, Guard, trusted_proxy_address

FOLDER_ENV = "BULLETIN_CONSOLE_FOLDER"
THREADS = 4  # requests served at once; the steps of one workbook still run one at a time
SERVER_BODY_LIMIT_MB = 1024  # waitress' own limit, far above the app's: the app's Chinese 413 answers first
LOG_NAME = "工作台日志.log"  # in the working folder: what the server logs, never in the clerk's window


def log_to_file(folder: Path) -> Path:
    """waitress' messages ("Task queue depth is N", …) and the console's own go to a log file in the working
    folder instead of the launcher window, which a clerk reads and should only show the address."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("waitress", "bulletin"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return path


def default_folder() -> Path:
    return Path(os.environ.get(FOLDER_ENV) or Path.home() / "通报工作台")


def serve(folder: Path | None = None, history: Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
          open_browser: bool = True, allow_remote: bool = False, accounts: bool = False,
          trusted_proxy: str | None = None, max_upload_mb: int = MAX_UPLOAD_MB) -> int:
    """Local (one desk, the launch token) on 127.0.0.1; with accounts (always when other computers may connect)
    the office database's accounts and roles."""
    from waitress.server import create_server

    remote = host not in ("127.0.0.1", "localhost", "::1")
    if remote and not allow_remote:
        raise UsageError(f"工作台默认只允许本机访问（127.0.0.1）。要在 {host} 上供其他电脑访问，需要同时加 "
                         f"--allow-remote（使用办公数据库中的账号登录）")
    proxy = trusted_proxy_address(trusted_proxy if trusted_proxy is not None else load_settings().trusted_proxy)
    folder = Path(folder) if folder else default_folder()
    db = office_database(history, folder) if remote or accounts else None
    if proxy and db is None:
        raise UsageError("受信任的反向代理（--trusted-proxy）只用于账号模式：请同时加 --accounts 或 --allow-remote")
    guard = Guard(port=0, remote=remote, db=db, trusted_proxy=proxy)
    settings = Settings(folder=folder, history=history,
                        max_upload_mb=max_upload_mb)
    app = create_app(settings, guard)
    log_to_file(settings.folder)
    try:
        # behind the trusted proxy, its X-Forwarded-Proto says https (the cookies' Secure flag, the Origin check)
        behind = {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-proto"},
                  "clear_untrusted_proxy_headers": True} if proxy else {}
        server = create_server(app, host=host, port=port, threads=THREADS, ident="bulletin",
                               max_request_body_size=max(SERVER_BODY_LIMIT_MB, max_upload_mb * 4) * 1024 * 1024,
                               **behind)
    except OSError as exc:
        raise UsageError(f"无法在 {host}:{port} 上启动工作台：{exc.strerror or exc}（端口可能已被占用，可用 --port 换一个）") \
            from None
    guard.port = server.effective_port
    shown = "127.0.0.1" if host in LOOPBACK or host == "::1" else host
    url = f"http://{shown}:{guard.port}/login" if guard.accounts else \
        f"http://{shown}:{guard.port}/?token={guard.token}"
    print(url, flush=True)  # the first line: scripts and tests read the address from it
    print(f"通报工作台已启动，工作文件夹：{settings.folder}。用浏览器打开上面的地址；关闭此窗口或按 Ctrl+C 即停止。",
          flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, [url]).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if db is not None:
            db.close()
    return 0


def office_database(history: Path | None, folder: Path):
    """The office database (BULLETIN_DATABASE_URL, settings.yaml's database_url, else the history file: --history,
    settings.yaml's history_file, else the working folder's history.sqlite, where its workbooks' history is),
    migrated; refused while it holds no account that could sign in to manage the others."""
    from ..actions.common import HISTORY_NAME, history_path
    from ..actions.office import open_db

    try:
        history = history_path(None, history)
    except UsageError:  # neither --history nor history_file: the folder's, as for the workbooks in it
        history = folder / HISTORY_NAME
    db = open_db(history)
    roles = load_roles()
    if not any(not a.disabled and roles.allowed(a.role, "accounts.manage") for a in db.accounts()):
        db.close()
        raise UsageError(f"办公数据库 {db.name} 中还没有可用的管理员账号。请先运行：bulletin db upgrade，"
                         f"再 bulletin users add 用户名 --role 管理员（密码取自环境变量 BULLETIN_NEW_PASSWORD 或提示输入）")
    return db
