"""The console as an office server (accounts mode), on SQLite and the real PostgreSQL: login through the API and
the page, the session cookie, lockout, the first password change, sessions ended by logout and by disabling,
CSRF, the trusted proxy's X-Remote-User, the admin API, the audit log of edits and steps, 409 on a stale edit;
and `bulletin serve --accounts` over real HTTP."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

import openpyxl
import pytest

from bulletin.actions import accounts
from bulletin.console.security import COOKIE

from .conftest import SAMPLE, Console, working_folder
from .office import BASE, DEPT_A, DEPT_B, PASSWORD, SETUP, add_ready, office_console, sign_in

PROXY = "10.0.0.1"


@pytest.fixture
def office(db_url, tmp_path):
    console = office_console(db_url, tmp_path / "工作台", trusted_proxy=PROXY)
    yield console
    console.db.close()


def login(client, name, password=PASSWORD, base=BASE):
    return client.post("/api/login", json={"username": name, "password": password}, base_url=base)


# -- signing in -----------------------------------------------------------------------------------------------

def test_login_sets_a_strict_httponly_session_cookie_secure_over_https(office):
    client = office.app.test_client()
    assert client.get("/api/workbooks", base_url=BASE).status_code == 401
    assert client.get("/", base_url=BASE).headers["Location"] == "/login?next=/"
    res = login(client, "clerk")
    assert res.status_code == 200 and res.get_json()["role"] == "科员"
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http (loopback or a test): a Secure cookie would never come back
    assert client.get("/api/workbooks", base_url=BASE).status_code == 200
    secure = login(office.app.test_client(), "clerk", base="https://bulletin.intranet")
    assert "Secure" in secure.headers["Set-Cookie"]
    # only JSON: a cross-site form cannot log anyone in
    form = office.app.test_client().post("/api/login", data={"username": "clerk", "password": PASSWORD},
                                         base_url=BASE)
    assert form.status_code == 400


def test_the_login_page_logs_in_and_goes_back_where_the_clerk_was(office):
    client = office.app.test_client()
    page = client.get("/login?next=/audit", base_url=BASE)
    assert page.status_code == 200 and "用户名" in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    no_token = client.post("/login?next=/audit", base_url=BASE, data={"username": "clerk", "password": PASSWORD})
    assert no_token.status_code == 403 and "安全令牌" in no_token.get_data(as_text=True)
    wrong = client.post("/login", base_url=BASE, data={"username": "clerk", "password": "不对", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.get_data(as_text=True)
    ok = client.post("/login?next=/audit", base_url=BASE,
                     data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/audit"
    off_site = client.post("/login?next=//evil.example/", base_url=BASE,
                           data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert off_site.headers["Location"] == "/"


def test_wrong_passwords_make_the_next_try_wait(office):
    client = office.app.test_client()
    answers = [login(client, "leader", "猜的密码-000") for _ in range(3)]
    assert all(a.status_code == 401 for a in answers)
    assert "连续 3 次密码错误，请 10 秒后再试" in answers[2].get_json()["error"]
    waiting = login(client, "leader")  # the right password does not help before the wait is over
    assert waiting.status_code == 401 and "秒后再试" in waiting.get_json()["error"]
    assert [e.action for e in office.db.audit_all(username="leader")][-4:] == ["login_failed"] * 3 + ["login_locked"]


def test_a_first_login_reaches_only_the_password_change(office):
    accounts.add(office.db, "新科员", "科员", None, "临时密码-12345", SETUP)
    client = office.app.test_client()
    res = login(client, "新科员", "临时密码-12345")
    assert res.get_json()["must_change_password"] is True
    csrf = {"X-CSRFToken": client.get("/api/me", base_url=BASE).get_json()["csrf_token"]}
    refused = client.get("/api/workbooks", base_url=BASE)
    assert refused.status_code == 403 and refused.get_json() == {"error": "请先修改初始密码", "must_change_password": True}
    assert client.get("/", base_url=BASE).headers["Location"] == "/password"
    assert "第一次登录" in client.get("/password", base_url=BASE).get_data(as_text=True)
    short = client.post("/api/password", json={"old": "临时密码-12345", "new": "短"}, base_url=BASE, headers=csrf)
    assert short.status_code == 400 and "至少 8 位" in short.get_json()["error"]
    ok = client.post("/api/password", json={"old": "临时密码-12345", "new": "自己的密码-2023"}, base_url=BASE,
                     headers=csrf)
    assert ok.status_code == 200
    assert client.get("/api/workbooks", base_url=BASE).status_code == 200


def test_logout_and_disabling_end_the_session(office):
    clerk, admin = office.app.test_client(), office.app.test_client()
    csrf = sign_in(clerk, "clerk")
    assert clerk.post("/api/logout", base_url=BASE, headers=csrf).status_code == 200
    assert clerk.get("/api/workbooks", base_url=BASE).status_code == 401
    sign_in(clerk, "clerk")
    admin_csrf = sign_in(admin, "admin")
    assert admin.post("/api/users/clerk/disable", base_url=BASE, headers=admin_csrf).get_json() == {"sessions_ended": 1}
    assert clerk.get("/api/workbooks", base_url=BASE).status_code == 401
    assert login(office.app.test_client(), "clerk").status_code == 401


# -- CSRF and other sites -----------------------------------------------------------------------------------------

def test_a_state_change_without_the_csrf_token_is_refused(office):
    client = office.app.test_client()
    csrf = sign_in(client, "clerk")
    body = {"workbook": "无此工作簿.xlsx", "sheet": "附件1", "department": DEPT_A, "status": "绿"}
    missing = client.post("/api/status", json=body, base_url=BASE)
    assert missing.status_code == 403 and "安全令牌" in missing.get_json()["error"]
    forged = client.post("/api/status", json=body, base_url=BASE, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403
    other_site = client.post("/api/status", json=body, base_url=BASE, headers={**csrf, "Origin": "http://evil.example"})
    assert other_site.status_code == 403 and "其他网站" in other_site.get_json()["error"]
    # a browser's own page sends no Referer, so its Origin may be "null"; Sec-Fetch-Site still names another site
    cross = client.post("/api/status", json=body, base_url=BASE,
                        headers={**csrf, "Origin": "null", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403 and "其他网站" in cross.get_json()["error"]
    assert client.post("/api/status", json=body, base_url=BASE,
                       headers={**csrf, "Origin": "null", "Sec-Fetch-Site": "same-origin"}).status_code == 404
    ok = client.post("/api/status", json=body, base_url=BASE, headers={**csrf, "Origin": BASE})
    assert ok.status_code == 404  # past every check: only the workbook is missing
    # the token belongs to this browser's session: another's does not fit
    other = office.app.test_client()
    sign_in(other, "clerk")
    assert other.post("/api/status", json=body, base_url=BASE, headers=csrf).status_code == 403


# -- single sign-on through the trusted reverse proxy --------------------------------------------------------

def test_the_trusted_proxys_remote_user_is_believed_and_no_one_elses(office):
    client = office.app.test_client()
    trusted = client.get("/api/me", base_url=BASE, headers={"X-Remote-User": "clerk", "X-Real-IP": "10.1.2.3"},
                         environ_base={"REMOTE_ADDR": PROXY})
    assert trusted.status_code == 200 and trusted.get_json()["role"] == "科员"
    untrusted = client.get("/api/me", base_url=BASE, headers={"X-Remote-User": "clerk"},
                           environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert untrusted.status_code == 401
    unknown = client.get("/api/me", base_url=BASE, headers={"X-Remote-User": "陌生人"}, environ_base={"REMOTE_ADDR": PROXY})
    assert unknown.status_code == 403 and "没有可用的账号" in unknown.get_json()["error"]
    accounts.disable(office.db, "leader", SETUP)
    disabled = client.get("/api/me", base_url=BASE, headers={"X-Remote-User": "leader"}, environ_base={"REMOTE_ADDR": PROXY})
    assert disabled.status_code == 403
    # the proxy's user still needs the CSRF token for a change, and is audited from the client's address
    csrf = trusted.get_json()["csrf_token"]
    sso = {"X-Remote-User": "admin", "X-Real-IP": "10.1.2.3", "X-CSRFToken": csrf}
    added = client.post("/api/users", json={"name": "单点用户", "role": "领导"}, base_url=BASE, headers=sso,
                        environ_base={"REMOTE_ADDR": PROXY})
    assert added.status_code == 200
    entry = next(office.db.audit_all(action="account_add", newest_first=True))
    assert (entry.username, entry.from_address, entry.target) == ("admin", "10.1.2.3", "单点用户")


# -- the admin API -------------------------------------------------------------------------------------------------

def test_the_admin_adds_imports_binds_resets_and_disables_accounts(office, tmp_path):
    admin = office.app.test_client()
    csrf = sign_in(admin, "admin")
    listed = admin.get("/api/users", base_url=BASE).get_json()
    assert {u["name"] for u in listed["users"]} == {"admin", "clerk", "filler", "leader"}
    assert {"name": "部门填报员", "department": True} in listed["roles"] and DEPT_B in listed["departments"]
    added = admin.post("/api/users", json={"name": "王五", "role": "部门填报员", "department": DEPT_B}, base_url=BASE,
                       headers=csrf).get_json()
    temporary = added["password"]  # shown this once
    assert added["user"]["department"] == DEPT_B and added["user"]["must_change_password"]
    assert login(office.app.test_client(), "王五", temporary).get_json()["must_change_password"] is True
    missing_department = admin.post("/api/users", json={"name": "赵六", "role": "部门填报员"}, base_url=BASE,
                                    headers=csrf)
    assert missing_department.status_code == 400 and "需要填写部门" in missing_department.get_json()["error"]
    csv = "用户名,角色,部门,初始密码\n甲,部门填报员,交通局,初始密码-0001\n乙,部门填报员,住建局,初始密码-0002\n"
    imported = admin.post("/api/users/import", base_url=BASE, headers=csrf,
                          data={"accounts": (io.BytesIO(csv.encode("utf-8")), "部门账号.csv")})
    assert [u["name"] for u in imported.get_json()["users"]] == ["甲", "乙"]
    bad = admin.post("/api/users/import", base_url=BASE, headers=csrf,
                     data={"accounts": (io.BytesIO("用户名,角色,部门,初始密码\n丙,不存在的角色,,初始密码-0003\n".encode()), "x.csv")})
    assert bad.status_code == 400 and "第2行" in bad.get_json()["error"]
    bound = admin.post("/api/users/乙/bind", json={"role": "部门填报员", "department": DEPT_A}, base_url=BASE,
                       headers=csrf).get_json()
    assert bound["user"]["department"] == DEPT_A
    reset = admin.post("/api/users/王五/reset", base_url=BASE, headers=csrf).get_json()["password"]
    assert reset != temporary and login(office.app.test_client(), "王五", reset).status_code == 200
    assert admin.post("/api/users/王五/disable", base_url=BASE, headers=csrf).status_code == 200
    assert admin.post("/api/users/王五/disable", base_url=BASE, headers=csrf).status_code == 400
    assert admin.post("/api/users/王五/enable", base_url=BASE, headers=csrf).status_code == 200
    page = admin.get("/admin", base_url=BASE).get_data(as_text=True)
    assert "添加账号" in page and "批量导入部门账号" in page and "--" not in page.split("<main>", 1)[1]
    actions = [(e.action, e.username, e.target) for e in office.db.audit_all(username="admin")]
    assert ("account_bind", "admin", "乙") in actions and ("account_reset", "admin", "王五") in actions


# -- the audit log of what clerks do, and two clerks on one value -----------------------------------------------

def _book(office) -> str:
    office.folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, office.folder / "通报数据-2023-06.xlsx")
    return "通报数据-2023-06.xlsx"


def test_edits_and_steps_are_audited_and_a_stale_edit_is_refused(office):
    book = _book(office)
    clerk, other = office.app.test_client(), office.app.test_client()
    csrf, other_csrf = sign_in(clerk, "clerk"), sign_in(other, "leader")
    recalc = clerk.post("/api/recalc", json={"workbook": book}, base_url=BASE, headers=csrf)
    assert recalc.status_code == 200, recalc.get_json()
    table = next(t for t in clerk.get(f"/api/tables?workbook={book}", base_url=BASE).get_json()["tables"]
                 if t["sheet"] == "附件2")
    shown = next(r for r in table["rows"] if r["department"] == "医保局")["status"] or ""
    new = "黄" if shown != "黄" else "红"
    edit = {"workbook": book, "sheet": "附件2", "department": "医保局", "status": new, "expected": shown}
    assert clerk.post("/api/status", json=edit, base_url=BASE, headers=csrf).status_code == 200
    # 领导 reads but never writes
    assert other.post("/api/status", json=edit, base_url=BASE, headers=other_csrf).status_code == 403
    # a second clerk whose page still shows the old status
    second = office.app.test_client()
    second_csrf = sign_in(second, "clerk")
    stale = second.post("/api/status", json={**edit, "status": "绿"}, base_url=BASE, headers=second_csrf)
    assert stale.status_code == 409
    assert stale.get_json()["current"] == new and "已被他人修改" in stale.get_json()["error"]
    wb = openpyxl.load_workbook(office.folder / book)
    assert new in [c.value for row in wb["附件2"].iter_rows() for c in row]  # not overwritten
    log = clerk.get("/api/audit?month=2023-06&user=clerk", base_url=BASE).get_json()
    kinds = [(e["action"], e["target"], e["old_value"], e["new_value"]) for e in log["entries"]]
    assert ("status_edit", "附件2", shown, new) in kinds
    assert ("month_step", "重新计算", None, "完成") in kinds
    status_entry = next(e for e in log["entries"] if e["action"] == "status_edit")
    assert status_entry["department"] == "医保局" and status_entry["username"] == "clerk"
    assert all(e["action"] != "status_edit" or e["new_value"] != "绿" for e in log["entries"])
    # the export: the same filter as an .xlsx
    export = clerk.get("/api/audit.xlsx?month=2023-06", base_url=BASE)
    assert export.status_code == 200 and export.headers["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(export.get_data()))["审计日志"]
    assert ("修改状态", "附件2", shown or None, new) in [(r[4], r[7], r[8], r[9]) for r in sheet.iter_rows(values_only=True)]
    # a department's filler reads its own rows of the recalculated tables, and only those
    filler = office.app.test_client()
    sign_in(filler, "filler")
    own = filler.get(f"/api/tables?workbook={book}&department={DEPT_A}", base_url=BASE).get_json()["tables"]
    assert own and {r["department"] for t in own for r in t["rows"]} == {DEPT_A}


def test_a_refused_step_is_audited_with_its_reason(office):
    client = office.app.test_client()
    csrf = sign_in(client, "clerk")
    office.folder.mkdir(parents=True, exist_ok=True)
    (office.folder / "坏的.xlsx").write_bytes(b"not a workbook")
    res = client.post("/api/check", json={"workbook": "坏的.xlsx"}, base_url=BASE, headers=csrf)
    assert res.status_code == 400
    entry = next(office.db.audit_all(action="month_step", newest_first=True))
    assert entry.target == "校验数据" and entry.new_value.startswith("未完成：") and entry.username == "clerk"


# -- a real server: `bulletin serve --accounts` -------------------------------------------------------------------

def test_bulletin_serve_with_accounts_over_http(db_url, tmp_path_factory):
    from bulletin.adapters.office_db import OfficeDB

    with OfficeDB(db_url) as db:
        add_ready(db, "clerk", "科员")
    folder = working_folder(tmp_path_factory, "office")
    refused = subprocess.run([sys.executable, "-m", "bulletin", "serve", "--accounts", "--no-browser", "--folder",
                              str(folder)], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "BULLETIN_DATABASE_URL": db_url})
    assert refused.returncode == 2 and "还没有可用的管理员账号" in refused.stderr
    with OfficeDB(db_url) as db:
        add_ready(db, "admin", "管理员")
    server = Console(folder, "--accounts", env={"BULLETIN_DATABASE_URL": db_url})
    try:
        assert server.url.endswith("/login") and server.token is None
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def call(path, body=None, headers=None):
            data = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(server.base + path, data=data, method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
            try:
                with opener.open(req, timeout=30) as res:
                    return res.status, dict(res.headers), json.loads(res.read() or b"null")
            except urllib.error.HTTPError as err:
                return err.code, dict(err.headers), json.loads(err.read() or b"null")

        assert call("/api/workbooks")[0] == 401
        assert call("/api/login", {"username": "clerk", "password": "错"})[0] == 401
        status, headers, body = call("/api/login", {"username": "clerk", "password": PASSWORD})
        assert status == 200 and body["role"] == "科员"
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        assert call("/api/workbooks")[0] == 200
        me = call("/api/me")[2]
        assert call("/api/upload", {})[0] == 403  # no CSRF token
        assert call("/api/logout", {}, {"X-CSRFToken": me["csrf_token"]})[0] == 200
        assert call("/api/workbooks")[0] == 401
    finally:
        server.stop()
    with OfficeDB(db_url) as db:
        assert [e.action for e in db.audit_all(username="clerk")][-3:] == ["login_failed", "login", "logout"]


@pytest.mark.parametrize("proxy, believed", [("127.0.0.1", True), ("127.0.0.2", False)])
def test_bulletin_serve_behind_a_trusted_proxy_over_http(tmp_path_factory, tmp_path, proxy, believed):
    """waitress takes https from the trusted proxy's X-Forwarded-Proto (the cookie is Secure) and the console
    its X-Remote-User; from any other address both are ignored."""
    from bulletin.adapters.office_db import OfficeDB

    url = f"sqlite:///{(tmp_path / 'office.sqlite').as_posix()}"
    with OfficeDB(url) as db:
        add_ready(db, "admin", "管理员")
        add_ready(db, "clerk", "科员")
    server = Console(working_folder(tmp_path_factory, "proxy"), "--accounts", "--trusted-proxy", proxy,
                     env={"BULLETIN_DATABASE_URL": url})
    try:
        sso = urllib.request.Request(server.base + "/api/me", headers={"X-Remote-User": "clerk"})
        try:
            with urllib.request.urlopen(sso, timeout=30) as res:
                status, body = res.status, json.loads(res.read())
        except urllib.error.HTTPError as err:
            status, body = err.code, json.loads(err.read())
        assert (status, body.get("username")) == ((200, "clerk") if believed else (401, None))
        login = urllib.request.Request(server.base + "/api/login", method="POST",
                                       data=json.dumps({"username": "clerk", "password": PASSWORD}).encode(),
                                       headers={"Content-Type": "application/json", "X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(login, timeout=30) as res:
            assert ("Secure" in res.headers["Set-Cookie"]) == believed
    finally:
        server.stop()
