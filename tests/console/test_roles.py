"""Role enforcement on the office server, from every role against every endpoint of the console's url_map:
the expected answer (allowed or refused) is this file's own hand-written table, not the program's
(console/endpoints.py); an endpoint the table here does not list fails the test, and so does one the program
forgets to guard. On SQLite and on the real PostgreSQL."""
from __future__ import annotations

import pytest

from .office import BASE, DEPT_A, DEPT_B, ROLE_ACCOUNTS, office_console, sign_in

ADMIN, CLERK, FILLER, LEADER, ANON = "admin", "clerk", "filler", "leader", "anonymous"
EVERY = {ADMIN, CLERK, FILLER, LEADER, ANON}
SIGNED = {ADMIN, CLERK, FILLER, LEADER}
READERS = {CLERK, LEADER}  # the whole month, read-only for 领导
BOOK = "无此工作簿.xlsx"  # an allowed call answers 404 for it quickly; a refused one never gets so far

# endpoint -> [(method, path, body, who is allowed)], written by hand from issue #23's roles
TABLE: dict[str, list[tuple[str, str, dict | None, set[str]]]] = {
    "static": [("GET", "/static/console.css", None, EVERY)],
    "signin.login": [("GET", "/login", None, EVERY)],
    "signin.api_login": [("POST", "/api/login", {"username": "无此人", "password": "x"}, EVERY)],
    "signin.me": [("GET", "/api/me", None, SIGNED)],
    "signin.password": [("GET", "/password", None, SIGNED)],
    "signin.api_password": [("POST", "/api/password", {"old": "不对的密码", "new": "新密码-123456"}, SIGNED)],
    "index": [("GET", "/", None, SIGNED)],
    "workbooks": [("GET", "/api/workbooks", None, READERS)],
    "upload": [("POST", "/api/upload", {}, {CLERK})],
    "step": [("POST", "/api/check", {"workbook": BOOK}, {CLERK}),
             ("POST", "/api/close-month", {"workbook": BOOK}, {CLERK}),
             ("POST", "/api/mail-send", {"workbook": BOOK}, {CLERK}),
             ("POST", "/api/collect-remind", {"workbook": BOOK}, {CLERK})],
    "collect_import": [("POST", "/api/collect-import", {"workbook": BOOK}, {CLERK})],
    "job": [("GET", "/api/jobs/1-1", None, READERS)],
    "tables": [("GET", f"/api/tables?workbook={BOOK}", None, READERS),
               ("GET", f"/api/tables?workbook={BOOK}&department={DEPT_A}", None, READERS | {FILLER}),
               ("GET", f"/api/tables?workbook={BOOK}&department={DEPT_B}", None, READERS)],
    "status": [("POST", "/api/status", {"workbook": BOOK, "sheet": "附件1", "department": DEPT_A, "status": "绿"},
                {CLERK})],
    "reset_status": [("POST", "/api/status/reset", {"workbook": BOOK, "sheet": "附件1", "department": DEPT_A},
                      {CLERK})],
    "text": [("GET", f"/api/text?workbook={BOOK}", None, READERS)],
    "write_text": [("POST", "/api/text", {"workbook": BOOK, "paragraph": "p", "text": "x"}, {CLERK})],
    "restore_text": [("POST", "/api/text/restore", {"workbook": BOOK, "paragraph": "p"}, {CLERK})],
    "backup_list": [("GET", f"/api/backups?workbook={BOOK}", None, READERS)],
    "restore_backup": [("POST", "/api/backups/restore", {"workbook": BOOK, "backup": "x"}, {CLERK})],
    "department_list": [("GET", f"/api/departments?workbook={BOOK}", None, READERS)],
    "set_department": [("POST", "/api/departments", {"workbook": BOOK, "department": DEPT_A, "邮箱": "a@b.cn"},
                        {CLERK})],
    "month_state": [("GET", f"/api/month?workbook={BOOK}", None, READERS)],
    "output": [("GET", "/out/通报-2023-06.docx", None, READERS)],
    "workbook_file": [("GET", f"/workbook?name={BOOK}", None, READERS)],
    "fill.page": [("GET", "/fill", None, SIGNED)],
    "fill.options": [("GET", "/api/fill/options", None, SIGNED)],
    "fill.departments": [("GET", f"/api/fill/departments?workbook={BOOK}", None, READERS)],
    "fill.form": [("GET", f"/api/fill?workbook={BOOK}&department={DEPT_A}", None, READERS | {FILLER}),
                  ("GET", f"/api/fill?workbook={BOOK}&department={DEPT_B}", None, READERS),
                  ("GET", f"/api/fill?workbook={BOOK}", None, READERS)],
    "fill.check": [("POST", "/api/fill/check", {"workbook": BOOK, "department": DEPT_A, "values": {}}, {FILLER}),
                   ("POST", "/api/fill/check", {"workbook": BOOK, "department": DEPT_B, "values": {}}, set())],
    "fill.submit": [("POST", "/api/fill/submit", {"workbook": BOOK, "department": DEPT_A, "values": {}}, {FILLER}),
                    ("POST", "/api/fill/submit", {"workbook": BOOK, "department": DEPT_B, "values": {}}, set())],
    "fill.extract": [("GET", f"/api/fill/extract?workbook={BOOK}&department={DEPT_A}", None, READERS | {FILLER}),
                     ("GET", f"/api/fill/extract?workbook={BOOK}&department={DEPT_B}", None, READERS),
                     ("GET", f"/api/fill/extract?workbook={BOOK}", None, READERS)],
    "fill.send_back": [("POST", "/api/collect/return", {"workbook": BOOK, "department": DEPT_A, "annex": "附件1",
                                                        "reason": "数据有误"}, {CLERK})],
    "admin.page": [("GET", "/admin", None, {ADMIN})],
    "admin.users": [("GET", "/api/users", None, {ADMIN})],
    "admin.add_user": [("POST", "/api/users", {"name": "", "role": "科员"}, {ADMIN})],
    "admin.import_users": [("POST", "/api/users/import", {}, {ADMIN})],
    "admin.change_user": [("POST", "/api/users/无此人/enable", {}, {ADMIN})],
    "admin.audit_page": [("GET", "/audit", None, {ADMIN, CLERK})],
    "admin.audit_log": [("GET", "/api/audit", None, {ADMIN, CLERK})],
    "admin.audit_export": [("GET", "/api/audit.xlsx", None, {ADMIN, CLERK})],
    # last: they end the session (each is signed in afresh)
    "signin.logout": [("POST", "/logout", {}, SIGNED)],
    "signin.api_logout": [("POST", "/api/logout", {}, SIGNED)],
}


def refused(res) -> bool:
    """Refused for who is asking: 403 naming what the role may not do, or not signed in (401 on the API, the
    login page for a page). Any other answer (200, 302 elsewhere, 400, 404 for a missing workbook) got past."""
    text = res.get_data().decode("utf-8", "replace")  # a download is bytes
    if res.status_code == 403:
        return "无权" in text or "尚未登记权限" in text
    if res.status_code == 401:
        return "请先登录" in text
    return res.status_code == 302 and "/login?next=" in res.headers["Location"]


@pytest.fixture
def office(db_url, tmp_path):
    console = office_console(db_url, tmp_path / "工作台")
    yield console
    console.db.close()


def test_every_endpoint_is_in_the_table(office):
    endpoints = {rule.endpoint for rule in office.app.url_map.iter_rules()}
    assert endpoints == set(TABLE), "an endpoint without an expected answer per role (or a row for a removed one)"


@pytest.mark.parametrize("who", [ADMIN, CLERK, FILLER, LEADER, ANON])
def test_every_role_against_every_endpoint(office, who):
    assert ROLE_ACCOUNTS[FILLER] == ("部门填报员", DEPT_A)
    wrong = []
    client = office.app.test_client()
    headers = sign_in(client, who) if who != ANON else {}
    for endpoint, calls in TABLE.items():
        for method, path, body, allowed in calls:
            if endpoint.startswith("signin.") and endpoint.endswith("logout") and who != ANON:
                headers = sign_in(client, who)  # the one before ended the session
            if method == "GET":
                res = client.get(path, base_url=BASE, headers=headers)
            else:
                res = client.post(path, base_url=BASE, headers=headers, json=body)
            if refused(res) == (who in allowed):
                wrong.append(f"{endpoint} {method} {path}: {'refused' if refused(res) else 'allowed'} "
                             f"({res.status_code} {res.get_data()[:120].decode('utf-8', 'replace')!r})")
    assert not wrong, f"{who}:\n" + "\n".join(wrong)


def test_a_department_filler_gets_only_its_own_rows_and_no_one_elses(office):
    client = office.app.test_client()
    sign_in(client, FILLER)
    own = client.get(f"/api/tables?workbook={BOOK}&department={DEPT_A}", base_url=BASE)
    other = client.get(f"/api/tables?workbook={BOOK}&department={DEPT_B}", base_url=BASE)
    every = client.get(f"/api/tables?workbook={BOOK}", base_url=BASE)
    assert own.status_code == 404  # past the role check: only the workbook is missing
    assert other.status_code == 403 and other.get_json()["error"] == f"您的账号（部门填报员）无权查看部门的数据行（{DEPT_B}）"
    assert every.status_code == 403 and "无权查看表格" in every.get_json()["error"]
