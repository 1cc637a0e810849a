"""Accounts (actions/accounts.py) on SQLite and a real PostgreSQL: add, first-login password change, sessions
that expire and are revoked, backoff and lockout, disable and reset, the CSV import that checks every row
first, every event in the audit log with who and from where, and a process killed mid-import leaving
nothing; the `bulletin users` commands."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest

from bulletin.actions import accounts
from bulletin.actions.accounts import Actor, LoginRefused
from bulletin.adapters.office_db import OfficeDB, now_utc
from bulletin.errors import UsageError

from conftest import ROOT

ADMIN = Actor("管理员甲", "10.0.0.5")


@pytest.fixture
def db(db_url):
    with OfficeDB(db_url) as opened:
        yield opened


def actions_of(db) -> list[tuple]:
    """(action, user, from, target) of every audit entry, oldest first."""
    return [(e.action, e.username, e.from_address, e.target) for e in db.audit_all()]


def test_add_login_change_password_and_sessions(db):
    acc = accounts.add(db, "张三", "部门填报员", "殷都区交通运输局", "初始密码12345", ADMIN)
    assert (acc.name, acc.role, acc.department, acc.must_change_password) == ("张三", "部门填报员", "交通局", True)
    assert acc.password_hash.startswith("$argon2id$") and "初始密码12345" not in acc.password_hash

    first = accounts.login(db, "张三", "初始密码12345", "10.0.0.9")
    assert first.must_change_password and accounts.session_account(db, first.token).name == "张三"
    with pytest.raises(UsageError, match="不能与原密码相同"):
        accounts.change_password(db, "张三", "初始密码12345", "初始密码12345", "10.0.0.9")
    with pytest.raises(UsageError, match="至少 8 位"):
        accounts.change_password(db, "张三", "初始密码12345", "短", "10.0.0.9")
    with pytest.raises(LoginRefused, match="原密码不正确"):
        accounts.change_password(db, "张三", "错的", "新的密码4567", "10.0.0.9")
    accounts.change_password(db, "张三", "初始密码12345", "新的密码4567", "10.0.0.9")
    second = accounts.login(db, "张三", "新的密码4567", "10.0.0.9")
    assert not second.must_change_password and second.token != first.token

    # a session expires ...
    later = now_utc() + accounts.SESSION_LIFETIME + dt.timedelta(seconds=1)
    assert accounts.session_account(db, second.token, now=later) is None
    assert accounts.session_account(db, second.token).name == "张三"
    # ... and can be revoked (log out); a made-up token is nobody
    accounts.logout(db, second.token, "10.0.0.9")
    assert accounts.session_account(db, second.token) is None
    assert accounts.session_account(db, "made-up") is None and accounts.session_account(db, "") is None

    assert actions_of(db) == [
        ("account_add", "管理员甲", "10.0.0.5", "张三"),
        ("login", "张三", "10.0.0.9", None),
        ("password_change_failed", "张三", "10.0.0.9", None),
        ("password_change", "张三", "10.0.0.9", None),
        ("login", "张三", "10.0.0.9", None),
        ("logout", "张三", "10.0.0.9", None),
    ]
    total, page = db.audit(username="张三", action="login")
    assert total == 2 and all(e.department == "交通局" for e in page)


def test_add_refuses_in_chinese(db):
    accounts.add(db, "王五", "科员", None, "password1", ADMIN)
    for args, words in ((("王五", "科员", None, "password1"), "已存在"),
                        (("赵六", "游客", None, "password1"), "角色“游客”不存在"),
                        (("赵六", "部门填报员", None, "password1"), "需要填写部门"),
                        (("赵六", "部门填报员", "交通厅", "password1"), "不在部门名录中"),
                        (("赵六", "科员", "交通局", "password1"), "不绑定部门"),
                        (("赵六", "科员", None, "short"), "至少 8 位"),
                        (("赵 六", "科员", None, "password1"), "空格"),
                        (("", "科员", None, "password1"), "用户名为空")):
        with pytest.raises(UsageError, match=words):
            accounts.add(db, *args, ADMIN)
    assert [a.name for a in db.accounts()] == ["王五"] and len(actions_of(db)) == 1


def test_backoff_then_lockout_then_reset(db):
    accounts.add(db, "李四", "领导", None, "right-password", ADMIN)
    t0 = now_utc()
    for n in (1, 2):
        with pytest.raises(LoginRefused) as exc:
            accounts.login(db, "李四", "wrong", "10.0.0.7", now=t0)
        assert str(exc.value) == "用户名或密码不正确。"
    with pytest.raises(LoginRefused, match="连续 3 次密码错误，请 10 秒后再试"):
        accounts.login(db, "李四", "wrong", "10.0.0.7", now=t0)
    # while waiting even the right password is refused (told the time left), and not counted
    with pytest.raises(LoginRefused, match="请 5 秒后再试"):
        accounts.login(db, "李四", "right-password", "10.0.0.7", now=t0 + dt.timedelta(seconds=5))
    t1 = t0 + dt.timedelta(seconds=11)
    with pytest.raises(LoginRefused, match="连续 4 次密码错误，请 1 分钟后再试"):
        accounts.login(db, "李四", "wrong", "10.0.0.7", now=t1)
    t2 = t1 + dt.timedelta(seconds=61)
    with pytest.raises(LoginRefused, match="连续 5 次密码错误，账号已锁定，请 15 分钟后再试"):
        accounts.login(db, "李四", "wrong", "10.0.0.7", now=t2)
    with pytest.raises(LoginRefused, match="已锁定"):
        accounts.login(db, "李四", "right-password", "10.0.0.7", now=t2 + dt.timedelta(minutes=14))
    assert db.account("李四").failed_attempts == 5
    # after the lock the right password works and clears the count
    ok = accounts.login(db, "李四", "right-password", "10.0.0.7", now=t2 + dt.timedelta(minutes=15, seconds=1))
    assert ok.account.failed_attempts == 0 and ok.account.locked_until is None

    for _ in range(accounts.LOCK_AFTER):  # locked again; an administrator's reset lifts it at once
        with pytest.raises(LoginRefused):
            accounts.login(db, "李四", "wrong", "10.0.0.7", now=t2 + dt.timedelta(hours=1))
    temporary = accounts.reset(db, "李四", ADMIN)
    assert len(temporary) == 12 and db.account("李四").locked_until is None
    assert accounts.session_account(db, ok.token) is None  # the reset ended the open session
    again = accounts.login(db, "李四", temporary, "10.0.0.7")
    assert again.must_change_password
    log = [(e.action, e.detail.get("原因"), e.detail.get("连续失败")) for e in db.audit_all()]
    assert log[:8] == [("account_add", None, None), ("login_failed", "密码错误", 1), ("login_failed", "密码错误", 2),
                       ("login_failed", "密码错误", 3), ("login_locked", None, None),
                       ("login_failed", "密码错误", 4), ("login_failed", "密码错误", 5), ("login_locked", None, None)]
    assert log[-2:] == [("account_reset", None, None), ("login", None, None)]
    assert temporary not in str([e.json() for e in db.audit_all()])  # the password is never logged


def test_unknown_user_and_disabled_account(db):
    with pytest.raises(LoginRefused, match="用户名或密码不正确"):
        accounts.login(db, "nobody", "whatever1", "10.0.0.8")
    accounts.add(db, "周七", "科员", None, "password1", ADMIN)
    session = accounts.login(db, "周七", "password1", "10.0.0.8")
    assert accounts.disable(db, "周七", ADMIN) == 1
    assert accounts.session_account(db, session.token) is None
    with pytest.raises(LoginRefused, match="账号已停用"):
        accounts.login(db, "周七", "password1", "10.0.0.8")
    with pytest.raises(LoginRefused, match="用户名或密码不正确"):  # a wrong password does not tell it is disabled
        accounts.login(db, "周七", "wrong-one", "10.0.0.8")
    with pytest.raises(UsageError, match="已是停用状态"):
        accounts.disable(db, "周七", ADMIN)
    accounts.enable(db, "周七", ADMIN)
    assert accounts.login(db, "周七", "password1", "10.0.0.8").account.name == "周七"
    with pytest.raises(UsageError, match="没有用户名为“无名”的账号"):
        accounts.reset(db, "无名", ADMIN)
    assert [(a, u, f, t) for a, u, f, t in actions_of(db)] == [
        ("login_failed", "nobody", "10.0.0.8", None), ("account_add", "管理员甲", "10.0.0.5", "周七"),
        ("login", "周七", "10.0.0.8", None), ("account_disable", "管理员甲", "10.0.0.5", "周七"),
        ("login_failed", "周七", "10.0.0.8", None), ("login_failed", "周七", "10.0.0.8", None),
        ("account_enable", "管理员甲", "10.0.0.5", "周七"), ("login", "周七", "10.0.0.8", None)]


GOOD_CSV = "用户名,角色,部门,初始密码\n交通局填报,部门填报员,交通运输局,jtj-2023-06\n住建局填报,部门填报员,住建局,zjj-2023-06\n科员甲,科员,,kyj-2023-06\n"


def test_csv_import_checks_every_row_first(db, tmp_path):
    accounts.add(db, "科员乙", "科员", None, "password1", ADMIN)
    bad = tmp_path / "账号.csv"
    bad.write_text("用户名,角色,部门,初始密码\n"
                   "交通局填报,部门填报员,交通运输局,jtj-2023-06\n"   # good
                   ",科员,,password1\n"                           # 3: no name
                   "甲,部门填报员,,password1\n"                     # 4: no department
                   "乙,部门填报员,交通厅,password1\n"                # 5: not in the registry
                   "交通局填报,领导,,password1\n"                   # 6: twice in the file
                   "科员乙,科员,,password1\n"                       # 7: exists already
                   "丙,游客,,short\n"                              # 8: unknown role and short password
                   "\n"
                   "丁,科员,住建局,password1,多余\n",                # 10: department for a clerk, extra value
                   encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        accounts.import_csv(db, bad, ADMIN)
    assert str(exc.value).splitlines() == [
        "账号.csv 有 9 个问题，未导入任何账号：",
        "第3行：用户名为空",
        "第4行：角色“部门填报员”需要填写部门",
        "第5行：部门“交通厅”不在部门名录中（是否是：交通局？）",
        "第6行：用户名“交通局填报”与第2行重复",
        "第7行：用户名“科员乙”已存在",
        "第8行：密码至少 8 位",
        "第8行：角色“游客”不存在（可用的角色：管理员、科员、部门填报员、领导）",
        "第10行：本行的值比列名多",
        "第10行：角色“科员”不绑定部门，请不要填写部门（只有部门角色如部门填报员才绑定部门）",
    ]
    assert [a.name for a in db.accounts()] == ["科员乙"] and len(actions_of(db)) == 1  # nothing written

    for header, words in (("用户名,角色,密码\n", "不认识的列：密码；缺少列：初始密码"), ("", "是空文件")):
        (tmp_path / "h.csv").write_text(header, encoding="utf-8")
        with pytest.raises(UsageError, match=words):
            accounts.import_csv(db, tmp_path / "h.csv", ADMIN)

    good = tmp_path / "gbk.csv"
    good.write_bytes(GOOD_CSV.encode("gb18030"))  # as Excel on a Chinese Windows saves a CSV
    added = accounts.import_csv(db, good, ADMIN)
    assert [(a.name, a.role, a.department, a.must_change_password) for a in added] == [
        ("交通局填报", "部门填报员", "交通局", True), ("住建局填报", "部门填报员", "住建局", True), ("科员甲", "科员", None, True)]
    assert accounts.login(db, "住建局填报", "zjj-2023-06", "10.0.0.3").must_change_password
    entries = [e for e in db.audit_all() if e.action == "account_add"][1:]
    assert [(e.target, e.department, e.detail["来源"]) for e in entries] == [
        ("交通局填报", "交通局", "gbk.csv 第2行"), ("住建局填报", "住建局", "gbk.csv 第3行"), ("科员甲", None, "gbk.csv 第4行")]


# The child imports accounts like any caller; a hook on SQLAlchemy's statements (installed only here) stops it
# after the second account is inserted, inside the one transaction: the parent kills it there.
CHILD = r"""
import sys, time
import sqlalchemy as sa
from sqlalchemy.engine import Engine

seen = {"n": 0}

@sa.event.listens_for(Engine, "after_cursor_execute")
def pause(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("INSERT INTO ACCOUNTS"):
        seen["n"] += 1
        if seen["n"] == 2:
            print("INSERTED", flush=True)
            time.sleep(300)

from bulletin.actions import accounts
from bulletin.adapters.office_db import OfficeDB

with OfficeDB(sys.argv[1]) as db:
    accounts.import_csv(db, sys.argv[2], accounts.Actor("child", "本机"))
"""


def test_killed_import_leaves_nothing(db, tmp_path):
    accounts.add(db, "在先", "科员", None, "password1", ADMIN)
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(GOOD_CSV, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, db.url, str(csv_file)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    guard = threading.Timer(120, child.kill)
    guard.start()
    try:
        marker = child.stdout.readline().strip()
        assert marker == "INSERTED", child.stderr.read()
        child.kill()
        child.wait()
    finally:
        guard.cancel()
    with OfficeDB(db.url) as fresh:  # a new connection: SQLite rolls back the hot journal, PostgreSQL already did
        assert [a.name for a in fresh.accounts()] == ["在先"]
        assert [e.target for e in fresh.audit_all()] == ["在先"]
        assert len(accounts.import_csv(fresh, csv_file, ADMIN)) == 3  # and the same import then goes through


def cli(*args, env=None):
    full = {**os.environ, "PYTHONPATH": str(ROOT / "python"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bulletin", *args], capture_output=True, text=True, env=full,
                          stdin=subprocess.DEVNULL)


def test_users_commands(tmp_path):
    url = {"BULLETIN_DATABASE_URL": f"sqlite:///{(tmp_path / 'office.sqlite').as_posix()}"}
    res = cli("users", "add", "管理员", "--role", "管理员", env=url)
    assert res.returncode == 2 and "BULLETIN_NEW_PASSWORD" in res.stderr
    res = cli("users", "add", "管理员", "--role", "管理员", env={**url, "BULLETIN_NEW_PASSWORD": "admin-pass1"})
    assert res.returncode == 0 and "已添加账号“管理员”：管理员，首次登录须修改密码。" in res.stdout, res.stderr
    res = cli("users", "add", "填报", "--role", "部门填报员", env={**url, "BULLETIN_NEW_PASSWORD": "admin-pass1"})
    assert res.returncode == 2 and "需要填写部门" in res.stderr
    (tmp_path / "a.csv").write_text(GOOD_CSV, encoding="utf-8")
    res = cli("users", "import", str(tmp_path / "a.csv"), env=url)
    assert res.returncode == 0 and "已导入 3 个账号" in res.stdout
    res = cli("users", "reset", "科员甲", "--json", env=url)
    assert res.returncode == 0 and len(__import__("json").loads(res.stdout)["temporary_password"]) == 12
    assert cli("users", "disable", "科员甲", env=url).returncode == 0
    res = cli("users", "list", env=url)
    assert res.returncode == 0 and "  科员甲  科员  —  停用，须修改密码" in res.stdout.splitlines()
    assert "  交通局填报  部门填报员  交通局  启用，须修改密码" in res.stdout.splitlines()
    with OfficeDB(url["BULLETIN_DATABASE_URL"]) as db:
        log = [(e.action, e.username.endswith("（命令行）"), e.from_address, e.target) for e in db.audit_all()]
    assert log == [("account_add", True, "本机", "管理员")] + [
        ("account_add", True, "本机", n) for n in ("交通局填报", "住建局填报", "科员甲")] + [
        ("account_reset", True, "本机", "科员甲"), ("account_disable", True, "本机", "科员甲")]


def test_bind_changes_role_and_department_and_ends_the_sessions(db):
    accounts.add(db, "赵六", "部门填报员", "交通局", "初始密码12345", ADMIN)
    session = accounts.login(db, "赵六", "初始密码12345", "10.0.0.7").token
    bound = accounts.bind(db, "赵六", "部门填报员", "住房和城乡建设局", ADMIN)
    assert (bound.role, bound.department) == ("部门填报员", "住建局")  # the registry's name
    assert accounts.session_account(db, session) is None  # the new rights from the next login
    with pytest.raises(UsageError, match="已是部门填报员（住建局）"):
        accounts.bind(db, "赵六", "部门填报员", "住建局", ADMIN)
    with pytest.raises(UsageError, match="不绑定部门"):
        accounts.bind(db, "赵六", "科员", "住建局", ADMIN)
    with pytest.raises(UsageError, match="没有用户名为“无此人”的账号"):
        accounts.bind(db, "无此人", "科员", None, ADMIN)
    accounts.bind(db, "赵六", "科员", None, ADMIN)
    entry = [e for e in db.audit_all() if e.action == "account_bind"]
    assert [(e.target, e.old_value, e.new_value) for e in entry] == [
        ("赵六", "部门填报员（交通局）", "部门填报员（住建局）"), ("赵六", "部门填报员（住建局）", "科员")]


def test_users_bind_command(tmp_path):
    url = {"BULLETIN_DATABASE_URL": f"sqlite:///{(tmp_path / 'office.sqlite').as_posix()}"}
    assert cli("users", "add", "钱七", "--role", "领导", env={**url, "BULLETIN_NEW_PASSWORD": "admin-pass1"}).returncode == 0
    res = cli("users", "bind", "钱七", "--role", "部门填报员", "--department", "交通局", env=url)
    assert res.returncode == 0 and "已将账号“钱七”改为部门填报员（交通局）" in res.stdout, res.stderr
    res = cli("users", "bind", "钱七", "--role", "部门填报员", env=url)
    assert res.returncode == 2 and "需要填写部门" in res.stderr
