"""The office server end to end in a real browser (Debian's Chromium through playwright): `bulletin serve
--accounts` on a real PostgreSQL (the history, the submission ledger, the accounts and the audit log all there).
A 部门填报员 signs in on the login page, is sent to its 填报 page, fills its rows and submits; a 科员 signs in in
another browser, opens the department's forms and returns one annex with a reason; the department's page shows
退回 and the reason. The ledger and the audit log in PostgreSQL hold each step once, with who did it."""
from __future__ import annotations

import re
import sys

import openpyxl
import pytest

from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.adapters.office_db import OfficeDB

from .conftest import ROOT, Console, chromium_mark
from .office import PASSWORD, add_ready
from .test_browser_fill import return_and_see_it
from .test_fill_api import MASTER, values_for

sys.path.insert(0, str(ROOT / "tests"))
from collect_fixtures import SECRET, sent_office  # noqa: E402
from conftest import POSTGRES  # noqa: E402

pytestmark = [chromium_mark(), POSTGRES]


@pytest.fixture
def server(tmp_path, postgres_server, monkeypatch):
    url = postgres_server()
    monkeypatch.setenv("BULLETIN_DATABASE_URL", url)  # the fill-in forms' ledger goes there too
    folder = sent_office(tmp_path / "工作台", ["交通局"])
    with OfficeDB(url) as db:
        add_ready(db, "管理员", "管理员")
        add_ready(db, "王科员", "科员")
        add_ready(db, "交通局填报员", "部门填报员", "交通局")
    console = Console(folder, "--accounts", env={"BULLETIN_DATABASE_URL": url, "BULLETIN_COLLECT_SECRET": SECRET,
                                                 "BULLETIN_TODAY": "2023-07-05"})
    yield console, url
    console.stop()


def signed_in(browser, base: str, name: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(base + "/")
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    return context, page


def test_a_department_signs_in_fills_submits_and_sees_the_clerks_return(browser, server):
    console, url = server
    dept, page = signed_in(browser, console.base, "交通局填报员")
    try:
        page.wait_for_url(re.compile(r"/fill$"))  # a department's account is sent to its own page
        page.wait_for_selector("#fill-title:has-text('交通局')")
        assert page.is_hidden("#fill-dept-label")
        form = page.evaluate("() => fetch('/api/fill?' + new URLSearchParams({department: '交通局'}))"
                             ".then(r => r.json())")
        for sheet, rows in values_for(form).items():
            annex = next(a for a in form["annexes"] if a["sheet"] == sheet)
            for i, row in enumerate(rows):
                for column, value in row.items():
                    page.locator(f"input[aria-label='{sheet} {annex['rows'][i]['label']} {column}']").fill(
                        "" if value is None else str(value))
        page.click("#fill-submit")
        page.wait_for_selector("#fill-notes li:has-text('已提交')")
        assert set(page.locator(".fill-annex .state").all_inner_texts()) == {"已报"}
        other = page.evaluate("() => fetch('/api/fill?' + new URLSearchParams({department: '残联'}))"
                              ".then(r => r.status)")
        assert other == 403  # never another department's form

        clerk, desk = signed_in(browser, console.base, "王科员")
        try:
            desk.wait_for_url(re.compile(r"/$"))
            desk.goto(console.base + "/fill")
            desk.wait_for_selector("#fill-dept option[value='交通局']", state="attached")
            desk.select_option("#fill-dept", "交通局")
            return_and_see_it(desk, page)
        finally:
            clerk.close()
    finally:
        dept.close()
    with CollectLedger(url) as ledger:  # in PostgreSQL, not in a file beside the workbook
        assert [(e.outcome, e.who) for e in ledger.events("2023-06")] == [("已报", "交通局填报员"), ("退回", "王科员")]
    assert not (console.folder / "history.sqlite").exists()
    with OfficeDB(url) as db:
        log = [(e.username, e.action, e.department) for e in db.audit_all(newest_first=False)
               if e.action in ("login", "form_submit", "collect_mark")]
    assert log == [("交通局填报员", "login", "交通局"), ("交通局填报员", "form_submit", "交通局"),
                   ("王科员", "login", None), ("王科员", "collect_mark", "交通局")]
    wb = openpyxl.load_workbook(console.folder / MASTER)
    assert any(c.value == "交通局" for c in wb["附件6"]["B"])
