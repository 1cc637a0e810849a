"""Accounts of the office server, written once for the CLI (`bulletin users …`) and, later, the console: add,
import a CSV of department accounts, disable, enable, reset; log in with backoff and lockout; sessions that
expire and can be revoked; a password change (required at the first login). Every change and every login or
failed login is appended to the audit log in the same transaction as the change itself."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..adapters.office_db import Account, AuditEvent, OfficeDB, now_utc, parse_stamp, stamp
from ..config import load_registry, load_roles
from ..core.registry import UnknownDepartment
from ..errors import UsageError, UserError

MIN_PASSWORD = 8
SESSION_LIFETIME = dt.timedelta(hours=8)
LOCK_AFTER = 5  # failed attempts in a row that lock the account ...
LOCK_FOR = dt.timedelta(minutes=15)  # ... for this long
BACKOFF = {3: dt.timedelta(seconds=10), 4: dt.timedelta(seconds=60)}  # waits before the lock
CSV_COLUMNS = ("用户名", "角色", "部门", "初始密码")
CSV_REQUIRED = ("用户名", "角色", "初始密码")
_TEMP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I


class LoginRefused(UserError):
    """A login that did not succeed (wrong password, locked, disabled): exit 1, the message says what to do."""

    exit_code = 1


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where (an IP address, or 本机 for the command line)."""

    name: str
    from_address: str = ""


@dataclass(frozen=True)
class LoginResult:
    token: str  # the session cookie's value; only its hash is stored
    account: Account
    must_change_password: bool
    expires_at: str


def _hasher():
    from argon2 import PasswordHasher  # only where a password is hashed or checked

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: list[str] = []


def _dummy_verify(password: str) -> None:
    """The same work for an unknown name as for a wrong password: the answer time does not tell names apart."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
    _verify(_DUMMY_HASH[0], password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(12))


# -- checks ------------------------------------------------------------------------------------------------
def _name_problem(name: str) -> str | None:
    if not name:
        return "用户名为空"
    if len(name) > 64:
        return f"用户名“{name[:20]}…”太长（最多 64 个字）"
    if any(unicodedata.category(c).startswith(("C", "Z")) for c in name):
        return f"用户名“{name}”含空格或不可见字符"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if any(unicodedata.category(c).startswith("C") for c in password):
        return "密码含不可见字符"
    return None


def _role_department(role: str, department: str | None) -> tuple[str | None, str | None]:
    """(the department as the registry names it, None) or (None, the problem in Chinese)."""
    roles = load_roles()
    if role not in roles.names():
        return None, f"角色“{role}”不存在（可用的角色：{'、'.join(roles.names())}）"
    department = (department or "").strip()
    if not roles.bound(role):
        if department:
            return None, f"角色“{role}”不绑定部门，请不要填写部门（只有部门角色如部门填报员才绑定部门）"
        return None, None
    if not department:
        return None, f"角色“{role}”需要填写部门"
    registry = load_registry()
    try:
        return registry.resolve(department), None
    except UnknownDepartment:
        near = registry.nearest(department)
        hint = f"（是否是：{'、'.join(near)}？）" if near else ""
        return None, f"部门“{department}”不在部门名录中{hint}"


# -- account changes ---------------------------------------------------------------------------------------
def add(db: OfficeDB, name: str, role: str, department: str | None, password: str, actor: Actor) -> Account:
    """A new account; it must change its password at the first login."""
    name = name.strip()
    problems = [p for p in (_name_problem(name), password_problem(password)) if p]
    canonical, problem = _role_department(role, department)
    problems += [problem] if problem else []
    if problems:
        raise UsageError("；".join(problems))
    hashed = hash_password(password)
    when = stamp(now_utc())
    with db.transaction() as tx:
        if tx.account(name, for_update=True) is not None:
            raise UsageError(f"用户名“{name}”已存在")
        tx.add_account(name, role, canonical, hashed, True, when)
        tx.audit([AuditEvent(actor.name, "account_add", actor.from_address, department=canonical, target=name,
                             new_value=role, detail={"角色": role, "部门": canonical or ""}, at=when)])
        return tx.account(name)


def _read_csv(path: Path) -> list[list[str]]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"无法读取 {Path(path).name}：{exc.strerror or exc}") from None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on a Chinese Windows saves "CSV" as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UsageError(f"{Path(path).name} 不是 UTF-8 或 GBK 编码的 CSV，请在 Excel 中“另存为 CSV UTF-8”")
    return [row for row in csv.reader(io.StringIO(text, newline=""))]


def import_csv(db: OfficeDB, path: Path, actor: Actor) -> list[Account]:
    """Accounts from a CSV (用户名,角色,部门,初始密码): every row checked first, every problem listed with its
    row; nothing written unless all rows are good; then all of them in one transaction."""
    name = Path(path).name
    rows = _read_csv(path)
    if not rows:
        raise UsageError(f"{name} 是空文件（第一行应为列名：{','.join(CSV_COLUMNS)}）")
    header = [h.strip() for h in rows[0]]
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if unknown or missing:
        parts = ([f"不认识的列：{'、'.join(unknown)}"] if unknown else []) + (
            [f"缺少列：{'、'.join(missing)}"] if missing else [])
        raise UsageError(f"{name} 第1行（列名）：{'；'.join(parts)}（可用的列：{','.join(CSV_COLUMNS)}）")
    problems: list[str] = []
    good: list[tuple[int, str, str, str | None, str]] = []
    seen: dict[str, int] = {}
    existing = _names(db)
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        rec = dict(zip(header, [c.strip() for c in cells] + [""] * (len(header) - len(cells))))
        user, role, password = rec.get("用户名", ""), rec.get("角色", ""), rec.get("初始密码", "")
        here = [p for p in (_name_problem(user), password_problem(password)) if p]
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            here.append("本行的值比列名多")
        canonical, problem = _role_department(role, rec.get("部门"))
        here += [problem] if problem else []
        if user and user in seen:
            here.append(f"用户名“{user}”与第{seen[user]}行重复")
        elif user in existing:
            here.append(f"用户名“{user}”已存在")
        seen.setdefault(user, number)
        if here:
            problems += [f"第{number}行：{p}" for p in here]
        else:
            good.append((number, user, role, canonical, password))
    if problems:
        raise UsageError(f"{name} 有 {len(problems)} 个问题，未导入任何账号：\n" + "\n".join(problems))
    if not good:
        raise UsageError(f"{name} 中没有账号（第一行是列名，每行一个账号）")
    hashed = [(n, u, r, d, hash_password(p)) for n, u, r, d, p in good]  # slow: before the transaction
    when = stamp(now_utc())
    with db.transaction() as tx:
        taken = tx.names() & {u for _, u, _, _, _ in hashed}
        if taken:  # added meanwhile by someone else
            raise UsageError(f"用户名已存在：{'、'.join(sorted(taken))}；未导入任何账号")
        for number, user, role, department, password_hash in hashed:
            tx.add_account(user, role, department, password_hash, True, when)
        tx.audit([AuditEvent(actor.name, "account_add", actor.from_address, department=d, target=u, new_value=r,
                             detail={"角色": r, "部门": d or "", "来源": f"{name} 第{n}行"}, at=when)
                  for n, u, r, d, _ in hashed])
        return [tx.account(u) for _, u, _, _, _ in hashed]


def _names(db: OfficeDB) -> set[str]:
    with db.transaction() as tx:
        return tx.names()


def _existing(tx, name: str) -> Account:
    found = tx.account(name, for_update=True)
    if found is None:
        raise UsageError(f"没有用户名为“{name}”的账号")
    return found


def disable(db: OfficeDB, name: str, actor: Actor) -> int:
    """The account can no longer log in; its open sessions end now. Returns how many sessions ended."""
    when = stamp(now_utc())
    with db.transaction() as tx:
        acc = _existing(tx, name)
        if acc.disabled:
            raise UsageError(f"账号“{name}”已是停用状态")
        tx.update_account(name, when, disabled=True)
        ended = tx.revoke_sessions_of(acc.id, when)
        tx.audit([AuditEvent(actor.name, "account_disable", actor.from_address, department=acc.department,
                             target=name, old_value="启用", new_value="停用", detail={"结束会话": ended}, at=when)])
        return ended


def enable(db: OfficeDB, name: str, actor: Actor) -> None:
    when = stamp(now_utc())
    with db.transaction() as tx:
        acc = _existing(tx, name)
        if not acc.disabled:
            raise UsageError(f"账号“{name}”已是启用状态")
        tx.update_account(name, when, disabled=False, failed_attempts=0, locked_until=None)
        tx.audit([AuditEvent(actor.name, "account_enable", actor.from_address, department=acc.department,
                             target=name, old_value="停用", new_value="启用", at=when)])


def reset(db: OfficeDB, name: str, actor: Actor) -> str:
    """A new temporary password (returned once, never stored or logged in clear), to be changed at the next
    login; the lock is lifted and open sessions end."""
    password = temporary_password()
    hashed = hash_password(password)
    when = stamp(now_utc())
    with db.transaction() as tx:
        acc = _existing(tx, name)
        tx.update_account(name, when, password_hash=hashed, must_change_password=True, failed_attempts=0,
                          locked_until=None)
        ended = tx.revoke_sessions_of(acc.id, when)
        tx.audit([AuditEvent(actor.name, "account_reset", actor.from_address, department=acc.department,
                             target=name, detail={"结束会话": ended, "解除锁定": bool(acc.locked_until)}, at=when)])
    return password


def bind(db: OfficeDB, name: str, role: str, department: str | None, actor: Actor) -> Account:
    """Another role and/or department for an account (a department role needs its department, the others
    none); its open sessions end, so the new rights apply from its next login."""
    canonical, problem = _role_department(role, department)
    if problem:
        raise UsageError(problem)
    when = stamp(now_utc())
    with db.transaction() as tx:
        acc = _existing(tx, name)
        if (acc.role, acc.department) == (role, canonical):
            raise UsageError(f"账号“{name}”已是{role}{f'（{canonical}）' if canonical else ''}")
        tx.update_account(name, when, role=role, department=canonical)
        ended = tx.revoke_sessions_of(acc.id, when)
        shown = lambda r, d: f"{r}（{d}）" if d else r  # noqa: E731
        tx.audit([AuditEvent(actor.name, "account_bind", actor.from_address, department=canonical or acc.department,
                             target=name, old_value=shown(acc.role, acc.department), new_value=shown(role, canonical),
                             detail={"结束会话": ended}, at=when)])
        return tx.account(name)


def list_accounts(db: OfficeDB) -> list[Account]:
    return db.accounts()


# -- logging in --------------------------------------------------------------------------------------------
def login(db: OfficeDB, name: str, password: str, from_address: str, *, now: dt.datetime | None = None) -> LoginResult:
    """A session for a right password. A wrong one counts: the 3rd and 4th in a row make the next try wait
    (BACKOFF), the 5th locks the account for LOCK_FOR. Every attempt is in the audit log."""
    now = now or now_utc()
    when = stamp(now)
    name = (name or "").strip()
    with db.transaction() as tx:
        acc = tx.account(name, for_update=True) if name else None
        if acc is None:
            _dummy_verify(password)
            tx.audit([AuditEvent(name or "（空）", "login_failed", from_address, detail={"原因": "无此用户"},
                                 at=when)])
            outcome: Exception = LoginRefused("用户名或密码不正确。")
        elif acc.locked_until and parse_stamp(acc.locked_until) > now:
            until = parse_stamp(acc.locked_until)
            tx.audit([AuditEvent(name, "login_locked", from_address, department=acc.department,
                                 detail={"锁定至": acc.locked_until}, at=when)])
            outcome = LoginRefused(_wait_message(until - now, acc.failed_attempts))
        elif not _verify(acc.password_hash, password):
            failed = acc.failed_attempts + 1
            wait = LOCK_FOR if failed >= LOCK_AFTER else BACKOFF.get(failed)
            locked = stamp(now + wait) if wait else None
            tx.update_account(name, when, failed_attempts=failed, locked_until=locked)
            tx.audit([AuditEvent(name, "login_failed", from_address, department=acc.department,
                                 detail={"原因": "密码错误", "连续失败": failed, **({"锁定至": locked} if locked else {})},
                                 at=when)])
            message = "用户名或密码不正确。"
            if wait:
                message += _wait_message(wait, failed)
            outcome = LoginRefused(message)
        elif acc.disabled:
            tx.audit([AuditEvent(name, "login_failed", from_address, department=acc.department,
                                 detail={"原因": "账号已停用"}, at=when)])
            outcome = LoginRefused("账号已停用，请联系管理员。")
        else:
            token = secrets.token_urlsafe(32)
            expires = stamp(now + SESSION_LIFETIME)
            values = {"failed_attempts": 0, "locked_until": None}
            if _hasher().check_needs_rehash(acc.password_hash):
                values["password_hash"] = hash_password(password)
            tx.update_account(name, when, **values)
            tx.add_session(_token_hash(token), acc.id, from_address, when, expires)
            tx.audit([AuditEvent(name, "login", from_address, department=acc.department,
                                 detail={"需修改密码": acc.must_change_password}, at=when)])
            return LoginResult(token, tx.account(name), acc.must_change_password, expires)
    raise outcome  # after the commit: the failed attempt and its audit entry stay


def _wait_message(wait: dt.timedelta, failed: int) -> str:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    span = f"{(seconds + 59) // 60} 分钟" if seconds >= 60 else f"{seconds} 秒"
    if failed >= LOCK_AFTER:
        return f"连续 {failed} 次密码错误，账号已锁定，请 {span}后再试，或请管理员重置密码。"
    return f"连续 {failed} 次密码错误，请 {span}后再试。"


def session_account(db: OfficeDB, token: str, *, now: dt.datetime | None = None) -> Account | None:
    """The account of a live session (not expired, not revoked, account not disabled); None otherwise."""
    if not token:
        return None
    now = now or now_utc()
    with db.transaction() as tx:
        found = tx.session(_token_hash(token))
    if found is None:
        return None
    session, acc = found
    if session["revoked_at"] or parse_stamp(session["expires_at"]) <= now or acc.disabled:
        return None
    return acc


def logout(db: OfficeDB, token: str, from_address: str) -> None:
    when = stamp(now_utc())
    with db.transaction() as tx:
        found = tx.session(_token_hash(token))
        if found is None:
            return
        if tx.revoke_session(_token_hash(token), when):
            tx.audit([AuditEvent(found[1].name, "logout", from_address, department=found[1].department, at=when)])


def change_password(db: OfficeDB, name: str, old: str, new: str, from_address: str) -> None:
    """The account's own change (required after add, import or reset): the old password proves who asks."""
    problem = password_problem(new)
    if problem:
        raise UsageError(problem)
    if new == old:
        raise UsageError("新密码不能与原密码相同")
    hashed = hash_password(new)
    when = stamp(now_utc())
    with db.transaction() as tx:
        acc = tx.account(name, for_update=True)
        if acc is None or acc.disabled or not _verify(acc.password_hash, old):
            tx.audit([AuditEvent(name, "password_change_failed", from_address, at=when)])
            refused = LoginRefused("原密码不正确。")
        else:
            tx.update_account(name, when, password_hash=hashed, must_change_password=False)
            tx.audit([AuditEvent(name, "password_change", from_address, department=acc.department, at=when)])
            return
    raise refused
