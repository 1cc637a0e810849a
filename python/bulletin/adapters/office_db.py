"""The office database through SQLAlchemy Core: the engine, the Alembic migrations, and the stores of accounts,
sessions and the audit log. All SQL of these tables lives here.

Where it is: a URL (``sqlite:///…`` for one desk, ``postgresql+psycopg://…`` for an office server); the action
layer decides which (BULLETIN_DATABASE_URL, settings.yaml's database_url, else the history file itself).

Every write is one transaction (``engine.begin()``): a process killed half-way leaves the previous state, on
SQLite (rollback journal, BEGIN IMMEDIATE so writers queue instead of failing on upgrade from a read lock) as on
PostgreSQL (the server rolls back a transaction whose client is gone).

The layout is made by Alembic migrations (``migrations/``, batch mode: one script for both databases);
``upgrade`` applies what is missing and is idempotent; a database migrated by a newer program is refused.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import UserError

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_SECONDS = 30.0
_UPGRADE_LOCK = 0x6275_6C6C  # "bull": the advisory lock key of migrations on PostgreSQL
_WRITE_LOCK = 0x6275_6C77  # "bulw": one writer at a time on PostgreSQL, as SQLite's BEGIN IMMEDIATE gives
_STEP_LOCKS = 0x6275_6C73  # "buls": the key space (first of two int4 keys) of the step locks
_READ = "bulletin_read"  # the execution option of a read-only transaction


class DatabaseError(UserError):
    """A database problem the user must see (message in Chinese)."""


# -- the tables, as Core objects (the migrations create them; these only name them for queries) -------------
metadata = sa.MetaData()
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("department", sa.Text),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False))
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("from_address", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.Text))
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("from_address", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("month", sa.Text),
    sa.Column("department", sa.Text),
    sa.Column("target", sa.Text),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("detail", sa.Text, nullable=False))

# The history's tables (history_sqlite.py) and the mail ledger's, parents first, with the columns that order
# their rows; `bulletin db copy` moves them.
HISTORY_TABLES: dict[str, tuple[str, ...]] = {
    "months": ("month",),
    "scalars": ("month", "name"),
    "annexes": ("month", "sheet"),
    "input_rows": ("month", "sheet", "position"),
    "result_rows": ("month", "sheet", "position"),
    "registry_rows": ("month", "position"),
    "mail_ledger": ("month", "department"),
    "collect_ledger": ("month", "department", "annex"),  # the submission ledger (migration 0002)
    "collect_events": ("id",),
    "collect_cells": ("month", "department", "sheet", "position", "column_name"),
    "collect_months": ("month",),
    "collect_reminders": ("month", "department", "due"),
}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stamp(when: dt.datetime) -> str:
    """A moment as stored: UTC ISO text, which sorts as time on both databases."""
    return when.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def parse_stamp(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


# -- engine and migrations ---------------------------------------------------------------------------------
def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve().as_posix()}"


def shown(url: str | sa.URL) -> str:
    """A URL fit to print: no password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unreadable URL is shown as the user wrote it, but never with what follows an @
        return str(url).split("@")[-1]


def _sqlite_events(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite's own BEGIN handling off: ours below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # a reader (Store.read) takes no write lock, so readers never queue behind a writer's step
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ) else "BEGIN IMMEDIATE")


def connect(url: str) -> Engine:
    """An engine for the URL; a SQLite file's folder is created. Nothing is read yet."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseError(f"数据库地址“{shown(url)}”写法不对（应如 sqlite:///D:/通报/office.sqlite 或 "
                            f"postgresql+psycopg://用户@服务器/数据库）。") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"数据库地址“{shown(url)}”：只支持 SQLite 和 PostgreSQL。")
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(parsed, pool_pre_ping=backend == "postgresql")
    except ImportError as exc:
        raise DatabaseError(f"数据库地址“{shown(url)}”需要的驱动没有安装（{exc.name}）。") from None
    if backend == "sqlite":
        _sqlite_events(engine)
    return engine


def reason(exc: BaseException) -> str:
    """A database failure in words a clerk or IT colleague can act on."""
    text = str(getattr(exc, "orig", None) or exc)
    if "locked" in text or "busy" in text:
        return "数据库正被其他程序使用，请稍后再试"
    if "not a database" in text or "malformed" in text:
        return "文件不是有效的数据库（已损坏或不是 SQLite 数据库）"
    if "Connection refused" in text or "could not connect" in text or "connection failed" in text:
        return "连不上数据库服务器（请检查地址、端口和服务器是否在运行）"
    if "password authentication failed" in text:
        return "数据库用户名或密码不对"
    if "does not exist" in text and "database" in text:
        return "数据库服务器上没有这个数据库（请先由管理员创建）"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _check_not_newer(connection: Connection, url: str) -> list[str]:
    """The revisions the database is at; refused when one of them is unknown to this program."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory(str(MIGRATIONS))
    known = {r.revision for r in script.walk_revisions()}
    unknown = [r for r in current if r not in known]
    if unknown:
        raise DatabaseError(f"数据库 {shown(url)} 的版本（{'、'.join(unknown)}）比本程序新（本程序最高为 "
                            f"{script.get_current_head()}），请升级程序后再用。")
    return list(current)


def upgrade(engine: Engine) -> tuple[list[str], str]:
    """Apply the migrations the database lacks, in one transaction (idempotent). (revisions before, head)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    url = str(engine.url)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # server processes starting at once migrate one after another
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            before = _check_not_newer(conn, url)
            if before != [head]:
                command.upgrade(_alembic_config(conn), "head")
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"数据库 {shown(url)} 无法升级：{reason(exc)}") from exc
    return before, head


def revision(engine: Engine) -> list[str]:
    """The revisions the database is at (refused when newer than the program)."""
    try:
        with engine.connect() as conn:
            return _check_not_newer(conn, str(engine.url))
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"数据库 {shown(engine.url)} 无法读取：{reason(exc)}") from exc


# -- the stores on one database: history, mail ledger, submission ledger ----------------------------------
def is_url(where: Path | str) -> bool:
    return isinstance(where, str) and "://" in where


def location_url(where: Path | str) -> str:
    """Where a store lives: a database URL as given, a path as its SQLite file (the history file of one desk)."""
    return where if is_url(where) else sqlite_url(Path(where))  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def ensure_layout(engine: Engine) -> None:
    """The database at this program's head before a store uses it: two short reads when it already is; else the
    migrations, which adopt a history file made before the office database (its tables kept, the missing ones
    added). A database holding only foreign tables, or a history newer than this program, is refused."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_READ: True})
            inspector = sa.inspect(conn)
            tables = set(inspector.get_table_names())
            if "alembic_version" in tables:
                current = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
                if current == [_head()]:
                    return
            elif "schema_version" in tables:
                found = conn.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar()
                if (found or 0) > HISTORY_SCHEMA_VERSION:
                    raise DatabaseError(f"历史库的版本（{found}）比本程序新（{HISTORY_SCHEMA_VERSION}），请升级程序。")
                if (found or 0) < HISTORY_SCHEMA_VERSION:
                    raise DatabaseError(f"历史库的版本（{found}）无法识别。")
            elif tables:
                raise DatabaseError("不是通报历史库（其中已有其他数据表）。")
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(reason(exc)) from exc
    upgrade(engine)


def open_store(where: Path | str) -> Engine:
    """An engine on the database at `where`, its layout at head."""
    engine = connect(location_url(where))
    try:
        ensure_layout(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


_SHARED: "OrderedDict[str, Engine]" = OrderedDict()
_SHARED_KEEP = 4  # databases a process keeps engines for (a server uses one)
_SHARED_LOCK = threading.Lock()


def shared_engine(where: Path | str) -> Engine | None:
    """PostgreSQL: one engine per database per process, its layout checked once — an office server's every
    request opens the stores, and a new engine each time is a new connection and the layout's queries again
    (about 10 ms each). None for a SQLite file, which stays opened and closed with its store (nothing to gain,
    and a file held open could not be replaced or removed on Windows). Never to be disposed by its users."""
    url = location_url(where)
    if not url.startswith("postgresql"):
        return None
    with _SHARED_LOCK:
        engine = _SHARED.get(url)
        if engine is not None:
            _SHARED.move_to_end(url)
    if engine is not None:
        try:  # still at this program's head (another program may have migrated it since): one pooled query
            with engine.connect() as conn:
                if list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()) == [_head()]:
                    return engine
        except sa.exc.SQLAlchemyError:
            pass
        with _SHARED_LOCK:
            if _SHARED.get(url) is engine:
                del _SHARED[url]
        engine.dispose()
    engine = open_store(where)
    with _SHARED_LOCK:
        if url in _SHARED:  # another thread made it meanwhile
            engine.dispose()
            return _SHARED[url]
        _SHARED[url] = engine
        while len(_SHARED) > _SHARED_KEEP:
            _SHARED.popitem(last=False)[1].dispose()  # a connection still checked out stays usable
    return engine


class Store:
    """The connection setup every store shares (history, mail ledger, submission ledger): one engine on the
    database at `where`; `read()` one snapshot, `write()` one transaction that is the only writer (SQLite:
    BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), committed when the block ends and
    rolled back when it raises, so a killed process leaves the previous state on both databases. A database
    failure is raised as `error` (the store's own UserError) with `label` (what the clerk calls the store)."""

    error: type[UserError] = DatabaseError
    label = "数据库"

    def __init__(self, where: Path | str):
        self.where = where
        self.url = location_url(where)
        self.path = None if is_url(where) else Path(where)  # the file of one desk
        self.name = self.path.name if self.path is not None else shown(self.url)
        self.engine: Engine | None = None
        self._shared = False
        try:
            self.engine = shared_engine(where)
            self._shared = self.engine is not None
            if self.engine is None:
                self.engine = open_store(where)
        except DatabaseError as exc:
            raise self.error(f"无法打开{self.label} {self.name}：{exc}") from exc
        except OSError as exc:  # its folder cannot be made
            raise self.error(f"无法打开{self.label} {where}：{exc.strerror or exc}") from exc

    def _fail(self, exc: BaseException, doing: str = "读写失败") -> UserError:
        return self.error(f"{self.label} {self.name} {doing}：{reason(exc)}")

    @contextmanager
    def _transaction(self, read: bool) -> Iterator[Connection]:
        if self.engine is None:
            raise self.error(f"{self.label}已关闭。")
        try:
            conn = self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc, "无法访问") from exc
        try:
            if read:
                conn.execution_options(**({_READ: True} if conn.dialect.name == "sqlite" else
                                           {"isolation_level": "REPEATABLE READ"}))
            try:
                tx = conn.begin()
                if not read and conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})
            except sa.exc.SQLAlchemyError as exc:
                raise self._fail(exc, "无法访问") from exc
            try:
                yield conn
                tx.commit()
            except BaseException as exc:
                if tx.is_active:
                    try:
                        tx.rollback()
                    except sa.exc.SQLAlchemyError:
                        pass  # the original error says more; the database undoes the rest
                if isinstance(exc, sa.exc.SQLAlchemyError):
                    raise self._fail(exc) from exc
                raise
        finally:
            conn.close()

    def read(self) -> Any:
        return self._transaction(read=True)

    def write(self) -> Any:
        return self._transaction(read=False)

    def close(self) -> None:
        if self.engine is not None and not self._shared:
            self.engine.dispose()
        self.engine = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- the step lock: one step at a time on a workbook, across processes ------------------------------------
def _lock_key(name: str) -> int:
    """A stable signed 32-bit key of a workbook (the second key of PostgreSQL's two-key advisory locks)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big", signed=True)


@contextmanager
def step_lock(where: Path | str, name: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Held while a step runs on the workbook `name` (its resolved path): another process asking for the same
    name waits (`on_wait` is called once first) until this one leaves the block or dies.

    PostgreSQL: a session advisory lock on a connection of its own, kept for the step; the server drops it
    when the session ends, also when the holder is killed. SQLite: an OS lock on a small file beside the
    database (flock; on Windows msvcrt), which the system drops when the holder's process ends."""
    url = location_url(where)
    key = _lock_key(name)
    if sa.make_url(url).get_backend_name() == "postgresql":
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                args = {"space": _STEP_LOCKS, "key": key}
                if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:space, :key)"), args).scalar():
                    if on_wait:
                        on_wait()
                    conn.execute(sa.text("SELECT pg_advisory_lock(:space, :key)"), args)
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:space, :key)"), args)
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"数据库 {shown(url)} 无法加步骤锁：{reason(exc)}") from exc
        finally:
            engine.dispose()
        return
    database = sa.make_url(url).database or ""
    folder = Path(database).parent if database and database != ":memory:" else Path.cwd()
    path = folder / ".bulletin-locks" / f"{key & 0xFFFFFFFF:08x}.lock"
    with ExitStack() as held:
        try:
            held.enter_context(_file_lock(path, on_wait))
        except OSError as exc:  # e.g. a read-only shared folder
            raise DatabaseError(f"无法加步骤锁 {path}：{exc.strerror or exc}") from exc
        yield


@contextmanager
def _file_lock(path: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        if os.name == "nt":
            import msvcrt

            f.seek(0)
            waited = False
            while True:  # LK_LOCK gives up after ten seconds: poll instead
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if not waited and on_wait:
                        on_wait()
                    waited = True
                    time.sleep(0.2)
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
            return
        import fcntl

        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# -- stores ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    department: str | None
    password_hash: str
    must_change_password: bool
    disabled: bool
    failed_attempts: int
    locked_until: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    username: str
    from_address: str
    action: str
    month: str | None
    department: str | None
    target: str | None
    old_value: str | None
    new_value: str | None
    detail: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditEvent:
    """One event to append (the id and, unless given, the time are the database's)."""

    username: str
    action: str
    from_address: str = ""
    month: str | None = None
    department: str | None = None
    target: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    detail: dict[str, Any] | None = None
    at: str | None = None


class OfficeDB:
    """The office database at a URL. Each public method is one transaction; `transaction()` gives a caller
    (the action layer) one transaction for several writes, e.g. an account and its audit entry."""

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = url
        shared = shared_engine(url) if migrate else None
        self._shared = shared is not None
        if shared is not None:
            self.engine = shared
            return
        self.engine = connect(url)
        if migrate:
            upgrade(self.engine)
        else:
            revision(self.engine)

    @property
    def name(self) -> str:
        return shown(self.url)

    def close(self) -> None:
        if not self._shared:
            self.engine.dispose()

    def __enter__(self) -> "OfficeDB":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def transaction(self) -> "_Tx":
        return _Tx(self)

    def _fail(self, exc: sa.exc.SQLAlchemyError) -> DatabaseError:
        return DatabaseError(f"数据库 {self.name} 读写失败：{reason(exc)}")

    # reads, each its own short transaction
    def account(self, name: str) -> Account | None:
        with self.transaction() as tx:
            return tx.account(name)

    def accounts(self) -> list[Account]:
        with self.transaction() as tx:
            return [Account(**r._mapping) for r in tx.conn.execute(sa.select(accounts).order_by(accounts.c.name))]

    def audit(self, *, month: str | None = None, username: str | None = None, department: str | None = None,
              action: str | None = None, limit: int = 50, offset: int = 0) -> tuple[int, list[AuditEntry]]:
        """(how many match, the page of them newest first)."""
        where = _audit_where(month, username, department, action)
        with self.transaction() as tx:
            total = tx.conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where)).scalar_one()
            rows = tx.conn.execute(sa.select(audit_log).where(*where).order_by(audit_log.c.id.desc())
                                   .limit(limit).offset(offset)).all()
        return total, [_entry(r) for r in rows]

    def audit_all(self, *, month: str | None = None, username: str | None = None, department: str | None = None,
                  action: str | None = None, newest_first: bool = False) -> Iterator[AuditEntry]:
        """Every matching entry, read in one snapshot (the export)."""
        order = audit_log.c.id.desc() if newest_first else audit_log.c.id
        query = sa.select(audit_log).where(*_audit_where(month, username, department, action)).order_by(order)
        with self.transaction() as tx:
            for r in tx.conn.execution_options(yield_per=500).execute(query):
                yield _entry(r)


def _audit_where(month: str | None, username: str | None, department: str | None, action: str | None) -> list:
    return [c == v for c, v in ((audit_log.c.month, month), (audit_log.c.username, username),
                                (audit_log.c.department, department), (audit_log.c.action, action))
            if v not in (None, "")]


def _entry(r: Any) -> AuditEntry:
    m = dict(r._mapping)
    m["detail"] = json.loads(m["detail"] or "{}")
    return AuditEntry(**m)


class _Tx:
    """One transaction on the office database: committed when the block ends, rolled back when it raises."""

    def __init__(self, db: OfficeDB):
        self.db = db
        self._ctx: Any = None
        self.conn: Connection = None  # type: ignore[assignment]

    def __enter__(self) -> "_Tx":
        try:
            self._ctx = self.db.engine.begin()
            self.conn = self._ctx.__enter__()
        except sa.exc.SQLAlchemyError as exc:
            raise self.db._fail(exc) from exc
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            self._ctx.__exit__(kind, exc, tb)
        except sa.exc.SQLAlchemyError as error:
            raise self.db._fail(error) from error
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise self.db._fail(exc) from exc

    def account(self, name: str, *, for_update: bool = False) -> Account | None:
        """The account; for_update locks its row until the transaction ends (PostgreSQL; SQLite's BEGIN
        IMMEDIATE already holds the one write lock), so two failed logins at once both count."""
        query = sa.select(accounts).where(accounts.c.name == name)
        row = self.conn.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else Account(**row._mapping)

    def names(self) -> set[str]:
        return set(self.conn.execute(sa.select(accounts.c.name)).scalars())

    def add_account(self, name: str, role: str, department: str | None, password_hash: str,
                    must_change_password: bool, when: str) -> None:
        self.conn.execute(sa.insert(accounts).values(
            name=name, role=role, department=department, password_hash=password_hash,
            must_change_password=must_change_password, disabled=False, failed_attempts=0, locked_until=None,
            created_at=when, updated_at=when))

    def update_account(self, name: str, when: str, **values: Any) -> None:
        self.conn.execute(sa.update(accounts).where(accounts.c.name == name).values(updated_at=when, **values))

    def add_session(self, id_hash: str, account_id: int, from_address: str, created: str, expires: str) -> None:
        self.conn.execute(sa.insert(sessions).values(id_hash=id_hash, account_id=account_id,
                                                     from_address=from_address, created_at=created,
                                                     expires_at=expires, revoked_at=None))

    def session(self, id_hash: str) -> tuple[dict[str, Any], Account] | None:
        row = self.conn.execute(sa.select(sessions).where(sessions.c.id_hash == id_hash)).first()
        if row is None:
            return None
        acc = self.conn.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).first()
        return dict(row._mapping), Account(**acc._mapping)

    def revoke_session(self, id_hash: str, when: str) -> int:
        return self.conn.execute(sa.update(sessions).where(sessions.c.id_hash == id_hash,
                                                           sessions.c.revoked_at.is_(None))
                                 .values(revoked_at=when)).rowcount

    def revoke_sessions_of(self, account_id: int, when: str) -> int:
        return self.conn.execute(sa.update(sessions).where(sessions.c.account_id == account_id,
                                                           sessions.c.revoked_at.is_(None))
                                 .values(revoked_at=when)).rowcount

    def audit(self, events: Iterable[AuditEvent]) -> None:
        """Append events (the only write the audit log has)."""
        default = stamp(now_utc())
        rows = [{"at": e.at or default, "username": e.username, "from_address": e.from_address or "",
                 "action": e.action, "month": e.month, "department": e.department, "target": e.target,
                 "old_value": e.old_value, "new_value": e.new_value,
                 "detail": json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True)} for e in events]
        if rows:
            self.conn.execute(sa.insert(audit_log), rows)


# -- moving a history -------------------------------------------------------------------------------------
HISTORY_SCHEMA_VERSION = 1  # the history layout the migrations hold (history_sqlite.SCHEMA_VERSION)
_CHUNK = 500


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def intact(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


def read_only_sqlite(path: Path) -> Engine:
    """A SQLite file opened read-only (a history being copied is never written, not even locked for writing)."""
    return sa.create_engine(f"sqlite:///file:{Path(path).resolve().as_posix()}?mode=ro&uri=true")


def _columns(conn: Connection, table: str) -> list[str] | None:
    inspector = sa.inspect(conn)
    if not inspector.has_table(table):
        return None
    return [c["name"] for c in inspector.get_columns(table)]


def _rows(conn: Connection, table: str, columns: list[str]) -> Iterator[tuple]:
    t = sa.table(table, *(sa.column(c) for c in columns))
    order = [t.c[c] for c in HISTORY_TABLES[table]]
    yield from conn.execute(sa.select(*t.c).order_by(*order))


def _checksum(conn: Connection, table: str, columns: list[str]) -> tuple[int, str]:
    """(rows, SHA-256 of the rows in key order, each as a JSON list of its values in `columns` order)."""
    digest = hashlib.sha256()
    count = 0
    for row in _rows(conn, table, columns):
        digest.update(json.dumps(list(row), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def history_months(conn: Connection) -> list[str]:
    if _columns(conn, "months") is None:
        return []
    return list(conn.execute(sa.text("SELECT month FROM months ORDER BY month")).scalars())


def copy_history(source: Engine, target: Engine, *, replace: bool = False) -> list[TableCopy]:
    """Every row of the history's and the mail ledger's tables from `source` (a history_sqlite file) into
    `target` (migrated to head), in one transaction on the target; then both sides counted and checksummed.
    A target that already holds months is refused unless `replace` (then its history rows are deleted first,
    in the same transaction)."""
    src_name, dst_name = shown(source.url), shown(target.url)
    try:
        with source.connect() as src:
            version = _columns(src, "schema_version")
            if version is None or _columns(src, "months") is None:
                raise DatabaseError(f"{src_name} 不是通报历史库（没有 months 和 schema_version 表）。")
            found = src.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar()
            if found != HISTORY_SCHEMA_VERSION:
                raise DatabaseError(f"历史库 {src_name} 的版本（{found}）与本程序（{HISTORY_SCHEMA_VERSION}）不同，"
                                    f"请先用同一版本的程序打开它。")
            source_columns = {t: _columns(src, t) for t in HISTORY_TABLES}
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"历史库 {src_name} 无法读取：{reason(exc)}") from exc
    upgrade(target)
    try:
        with source.connect() as src, target.begin() as dst:
            held = history_months(dst)
            filled = [t for t in HISTORY_TABLES
                      if dst.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()]
            if filled and not replace:
                what = f" {len(held)} 个月份的历史（{'、'.join(held)}）" if held else f"历史数据（{'、'.join(filled)} 表）"
                raise DatabaseError(f"目标数据库 {dst_name} 已有{what}；如要用本历史库替换，请加 --replace。")
            for table in reversed(HISTORY_TABLES):  # children first
                dst.execute(sa.text(f"DELETE FROM {table}"))
            plan = {}
            for table, columns in source_columns.items():
                if columns is None:  # an older history file: the table is created on first use, so none yet
                    plan[table] = _columns(dst, table) or []
                    continue
                # a column a newer layout added (mail_ledger.refused) takes its default where the source has none
                plan[table] = [c for c in _columns(dst, table) or [] if c in columns]
                t = sa.table(table, *(sa.column(c) for c in plan[table]))
                batch: list[dict[str, Any]] = []
                for row in _rows(src, table, plan[table]):
                    batch.append(dict(zip(plan[table], row)))
                    if len(batch) >= _CHUNK:
                        dst.execute(sa.insert(t), batch)
                        batch = []
                if batch:
                    dst.execute(sa.insert(t), batch)
            if dst.dialect.name == "postgresql":  # ids copied as they were: the next one follows the largest
                dst.execute(sa.text("SELECT setval(pg_get_serial_sequence('collect_events', 'id'), "
                                    "COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM collect_events"))
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"复制到 {dst_name} 失败，目标数据库未作任何改动：{reason(exc)}") from exc
    out = []
    with source.connect() as src, target.connect() as dst:
        for table, columns in plan.items():
            if source_columns[table] is None:  # none in the source: none expected in the target
                n_src, c_src = 0, hashlib.sha256().hexdigest()
            else:
                n_src, c_src = _checksum(src, table, columns)
            n_dst, c_dst = _checksum(dst, table, columns)
            out.append(TableCopy(table, n_src, n_dst, c_src, c_dst))
    return out
