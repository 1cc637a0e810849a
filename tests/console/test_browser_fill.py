"""填报 in a real browser (Debian's Chromium through playwright): a department account fills its rows — a formula
refused as it types —, submits; a 科员 returns one annex with a reason; the department's page shows 退回 and the
reason. The console runs in this process (werkzeug on 127.0.0.1) so that the test-only account hook of
test_fill_api can stand in for the login; results are checked in the master file and the ledger."""
from __future__ import annotations

import os
import socket
import sys
import threading

import openpyxl
import pytest
from werkzeug.serving import make_server

from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.console.app import Settings, create_app
from bulletin.console.security import Guard

from .conftest import ROOT, chromium_mark
from .test_fill_api import MASTER, as_user, signed_in_accounts, values_for

sys.path.insert(0, str(ROOT / "tests"))
from collect_fixtures import office_day, sent_office  # noqa: E402,F401

pytestmark = chromium_mark()


@pytest.fixture
def server(tmp_path, office_day):
    folder = sent_office(tmp_path / "工作台", ["交通局"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    guard = Guard(port=port)
    app = create_app(Settings(folder=folder), guard)
    signed_in_accounts(app)
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{port}/fill?token={guard.token}", "folder": folder}
    httpd.shutdown()
    thread.join(10)


def open_as(browser, url, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  extra_http_headers=user)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    return context, page


REASON = "电子监察数据与系统不符，请核对后重报"


def return_and_see_it(desk, page) -> None:
    """A clerk's page (on 交通局's forms) returns 附件6 with REASON; the department's page, reloaded, shows it."""
    desk.wait_for_selector(".fill-annex[data-sheet='附件6'] .state:has-text('已报')")
    desk.fill("input[aria-label='附件6 退回原因']", REASON)
    desk.click(".fill-annex[data-sheet='附件6'] button.danger")
    desk.wait_for_selector(".fill-annex[data-sheet='附件6'] .state:has-text('退回')")
    page.reload()
    page.wait_for_selector(".fill-annex[data-sheet='附件6'] .returned")
    assert page.inner_text(".fill-annex[data-sheet='附件6'] .returned") == f"退回原因：{REASON}"
    assert page.inner_text(".fill-annex[data-sheet='附件1'] .state") == "已报"


def test_department_fills_submits_and_sees_a_return(browser, server):
    folder = server["folder"]
    dept, page = open_as(browser, server["url"], as_user("jtj", "部门填报员", "交通局"))
    try:
        page.wait_for_selector("#fill-title:has-text('交通局')")
        assert page.is_hidden("#fill-dept-label")  # a department account has no choice of department
        assert page.locator(".fill-annex .state").first.inner_text() == "已发"
        form = page.evaluate("() => fetch('/api/fill', {headers: {'X-Bulletin-Token': document.querySelector("
                             "'meta[name=\"bulletin-token\"]').content}}).then(r => r.json())")
        values = values_for(form)
        # a formula is refused as it is typed, before anything is sent
        first = page.locator("input[aria-label='附件1 交通局 事项总数']")
        first.fill("=SUM(1,2)")
        cell = page.locator("td[data-column='事项总数'] .msg").first
        assert "公式" in cell.inner_text()
        for sheet, rows in values.items():
            for i, row in enumerate(rows):
                label = form["annexes"][[a["sheet"] for a in form["annexes"]].index(sheet)]["rows"][i]["label"]
                for column, value in row.items():
                    page.locator(f"input[aria-label='{sheet} {label} {column}']").fill("" if value is None else str(value))
        assert cell.inner_text() == ""
        # the part-vs-whole check as it is typed, and the computed ratio shown
        page.locator("input[aria-label='附件1 交通局 即办件事项数']").fill("100000")
        assert "大于" in page.locator("td[data-column='即办件事项数'] .msg").first.inner_text()
        page.locator("input[aria-label='附件1 交通局 即办件事项数']").fill(str(values["附件1"][0]["即办件事项数"]))
        assert page.locator("td.computed[data-column='即办件事项占比']").first.inner_text().startswith("100.00%")
        page.click("#fill-submit")
        page.wait_for_selector("#fill-notes li:has-text('已提交')")
        if os.environ.get("FILL_SCREENSHOT"):
            page.screenshot(path=os.environ["FILL_SCREENSHOT"], full_page=True)
        assert set(page.locator(".fill-annex .state").all_inner_texts()) == {"已报"}
        assert page.inner_text("#fill-error") == ""

        clerk, desk = open_as(browser, server["url"], as_user("li", "科员"))
        try:
            desk.wait_for_selector("#fill-dept option[value='交通局']", state="attached")
            desk.select_option("#fill-dept", "交通局")
            desk.wait_for_selector(".fill-annex .state")
            assert desk.is_hidden("#fill-submit-card")  # a clerk returns, it does not fill
            return_and_see_it(desk, page)
        finally:
            clerk.close()
        assert "退回" in page.inner_text("#fill-history")
        # submitted again after the return
        page.locator("input[aria-label='附件6 交通局 电子监察数据']").fill("160")
        page.click("#fill-submit")
        page.wait_for_selector(".fill-annex[data-sheet='附件6'] .state:has-text('已报')")
    finally:
        dept.close()
    with CollectLedger(folder / "history.sqlite") as ledger:
        assert [(e.outcome, e.who) for e in ledger.events("2023-06")] == [("已报", "jtj"), ("退回", "li"), ("已报", "jtj")]
        assert {r.state for r in ledger.rows("2023-06").values()} == {"已报"}
    wb = openpyxl.load_workbook(folder / MASTER)
    ws = wb["附件6"]
    row = next(r[0].row for r in ws.iter_rows() if any(c.value and "交通局" in str(c.value) for c in r[:2]))
    col = next(c.column for c in ws[2] if c.value == "电子监察数据")
    assert ws.cell(row, col).value == 160
