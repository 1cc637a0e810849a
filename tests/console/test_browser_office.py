"""The office server in a real browser (Debian's Chromium through playwright) against `bulletin serve
--accounts`: an administrator signs in with a temporary password, must set their own first, adds a
department's account on 账号管理 (its temporary password shown once), which then signs in and is sent to the
password page; the audit page lists it all. Two clerks change the same 状态: the second is told "已被他人修改"
with the current value."""
from __future__ import annotations

import re

import pytest

from bulletin.actions import accounts
from bulletin.adapters.office_db import OfficeDB

from .conftest import SAMPLE, Console, chromium_mark, working_folder
from .office import DEPT_A, PASSWORD, SETUP, add_ready

pytestmark = chromium_mark()
TEMPORARY = "临时密码-12345"
OWN = "管理员自己的密码-2023"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = working_folder(tmp_path_factory, "office-browser")
    url = f"sqlite:///{(folder / 'office.sqlite').as_posix()}"
    with OfficeDB(url) as db:
        accounts.add(db, "李管理", "管理员", None, TEMPORARY, SETUP)
        add_ready(db, "甲科员", "科员")
        add_ready(db, "乙科员", "科员")
    console = Console(folder, "--accounts", env={"BULLETIN_DATABASE_URL": url})
    yield console, url
    console.stop()


def sign_in(page, base: str, name: str, password: str) -> None:
    page.goto(base + "/")
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def test_first_login_password_change_and_adding_a_department_account(browser, server):
    console, url = server
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, console.base, "李管理", "错误的密码-000")
    assert "用户名或密码不正确" in page.inner_text("p.error")
    page.fill("input[name=password]", TEMPORARY)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/password$"))
    assert "第一次登录" in page.inner_text("main")
    page.goto(console.base + "/admin")  # nothing else before the password is changed
    page.wait_for_url(re.compile(r"/password$"))
    page.fill("input[name=old]", TEMPORARY)
    page.fill("input[name=new]", OWN)
    page.fill("input[name=again]", OWN)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))  # the administrator's page is 账号管理
    page.wait_for_selector("#users tbody tr[data-user='李管理']")

    page.fill("#add-user input[name=name]", "交通局填报员")
    page.select_option("#add-role", "部门填报员")
    page.select_option("#add-department", DEPT_A)
    page.click("#add-user button[type=submit]")
    page.wait_for_selector("#users tbody tr[data-user='交通局填报员']")
    note = page.inner_text("#notes")
    temporary = re.search(r"临时密码：(\S+?)（", note).group(1)
    row = page.inner_text("#users tbody tr[data-user='交通局填报员']")
    assert "部门填报员" in row and DEPT_A in row and "待修改初始密码" in row
    # a role that needs a department, without one: the action's message, nothing added
    page.fill("#add-user input[name=name]", "没有部门的人")
    page.select_option("#add-role", "部门填报员")
    page.select_option("#add-department", "")
    page.click("#add-user button[type=submit]")
    page.wait_for_selector("#error:not([hidden])")
    assert "需要填写部门" in page.inner_text("#error")

    page.goto(console.base + "/audit")
    page.wait_for_selector("#audit tbody tr")
    log = page.inner_text("#audit")
    assert "添加账号" in log and "交通局填报员" in log and "修改密码" in log and "登录失败" in log
    page.click("header nav.account button")  # 退出登录
    page.wait_for_url(re.compile(r"/login$"))

    other = browser.new_context(locale="zh-CN").new_page()
    sign_in(other, console.base, "交通局填报员", temporary)
    other.wait_for_url(re.compile(r"/password$"))
    other.context.close()
    context.close()
    with OfficeDB(url) as db:
        added = db.account("交通局填报员")
        assert added.role == "部门填报员" and added.department == DEPT_A and added.must_change_password


def test_two_clerks_on_one_status_the_second_is_told_and_sees_the_current_value(browser, server):
    console, _ = server
    pages = []
    for name in ("甲科员", "乙科员"):
        page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        sign_in(page, console.base, name, PASSWORD)
        page.wait_for_selector("#steps")
        pages.append(page)
    first, second = pages
    first.set_input_files("#upload", str(SAMPLE))
    first.wait_for_selector("#current:text('当前：')")
    first.click("#steps button[data-step='recalc']")
    first.wait_for_selector("#annex tbody tr", timeout=120_000)
    first.wait_for_selector("#busy", state="hidden", timeout=120_000)
    second.reload()
    second.wait_for_selector(f"#books option[value='{SAMPLE.name}']", state="attached")
    second.select_option("#books", SAMPLE.name)
    for page in pages:
        page.click("#tabs button[data-tab='tables']")
        page.click("#annex-tabs button:text('附件2')")
        page.wait_for_selector("#annex tbody tr[data-department='统计局'] select")
    row = "#annex tbody tr[data-department='统计局']"
    first.locator(row).first.locator("select").select_option("黄")
    first.wait_for_selector(f"{row} .badge.manual")
    second.locator(row).first.locator("select").select_option("红")  # this page still shows the old status
    second.wait_for_selector("#error:not([hidden])")
    told = second.inner_text("#error")
    assert "已被他人修改" in told and "现为“黄”" in told
    second.wait_for_selector(f"{row}.status-黄")  # the page shows the workbook's status again
    assert second.locator(row).first.locator("select").input_value() == "黄"
    for page in pages:
        page.context.close()
