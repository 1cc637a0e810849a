"""The console as a clerk's everyday desk, in Debian's Chromium against `bulletin serve`: the paths where the
page used to show a command line, English or nothing — a lost connection, an oversized upload, a step queued
behind another, 结转 and 生成下月工作簿 asking first, a backup restored, 状态 reset to the rules, a missing mail
address filled in the 部门 view, the mail text itself — and the table at 1024 px. At every state the page
shows, its whole text (dialogs and hover titles included) has no flag, command, staff file or English."""
from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest

from .conftest import ROOT, SAMPLE, Console, chromium_mark, working_folder
from .test_wording import problems_of

pytestmark = chromium_mark()

TIMEOUT = 120_000


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    server = Console(working_folder(tmp_path_factory, "desk"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 800}, accept_downloads=True, locale="zh-CN")
    yield context
    context.close()


@pytest.fixture(scope="module")
def page(context, console):
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(console.url)
    page.set_input_files("#upload", str(SAMPLE))
    page.wait_for_selector("#current:text('当前：')")
    return page


def book(console) -> Path:
    return console.folder / SAMPLE.name


def clean(page) -> str:
    """The page's whole visible text, the open dialog and every hover title: the clerk's words only."""
    text = page.inner_text("body")
    titles = page.locator("[title]").evaluate_all("els => els.map(e => e.title)")
    for t in [text, *titles]:
        assert not problems_of(t), (problems_of(t), t[:2000])
    return text


def shot(page, name: str, tmp_path: Path) -> None:
    """A picture of the page; BULLETIN_SCREENSHOTS=1 writes the README's (docs/console-*.png)."""
    folder = ROOT / "docs" if os.environ.get("BULLETIN_SCREENSHOTS") == "1" else tmp_path
    path = folder / f"console-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000  # a page, not a blank


def step(page, name: str, done: str) -> None:
    page.click(f"#steps button[data-step='{name}']")
    page.wait_for_selector(done, timeout=TIMEOUT)
    page.wait_for_selector("#busy", state="hidden", timeout=TIMEOUT)
    assert page.inner_text("#error") == "", page.inner_text("#error")
    clean(page)


def row(page, department: str):
    return page.locator(f"#annex tbody tr[data-department='{department}']").first


def test_01_an_upload_over_the_limit_is_refused_in_the_page_and_by_the_server_in_chinese(page, console, tmp_path):
    big = tmp_path / "很大的工作簿.xlsx"
    with open(big, "wb") as f:
        f.truncate(21 * 1024 * 1024)
    page.set_input_files("#upload", str(big))
    page.wait_for_selector("#error:not([hidden])")
    assert "超过 20 MB 的上限，未上传" in page.inner_text("#error")
    assert not (console.folder / big.name).exists()
    clean(page)
    # a page that skips the check (or an old one) still gets the app's Chinese answer, not the server's English
    res = page.context.request.post(f"{console.base}/api/upload", headers={"X-Bulletin-Token": console.token},
                                    multipart={"workbook": {"name": "很大.xlsx", "mimeType": "application/octet-stream",
                                                            "buffer": b"x" * (50 * 1024 * 1024)}})
    assert res.status == 413 and "上传的文件超过 20 MB" in res.json()["error"]
    assert not problems_of(res.json()["error"])


def test_02_a_file_that_is_not_a_bulletin_workbook_is_one_message(page, console, tmp_path):
    other = tmp_path / "工资表.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "工资表"
    wb.save(other)
    page.set_input_files("#upload", str(other))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("这不是通报数据工作簿：其中没有“附件1”至“附件8”中的任何一张表（现有工作表：工资表）")
    assert not (console.folder / other.name).exists() and page.inner_text("#current") == f"当前：{SAMPLE.name}"
    clean(page)


def test_03_a_status_is_saved_on_its_control_marked_as_staffs_and_reset_to_the_rules(page, console, tmp_path):
    step(page, "recalc", "#annex tbody tr")
    page.click("#annex-tabs button:text('附件2')")
    select = row(page, "统计局").locator("select")
    select.select_option("黄")
    # recoloured at once, the control shows it is saving, then the mark: 人工, the rule's proposal on hover
    assert "status-黄" in row(page, "统计局").get_attribute("class")
    badge = page.wait_for_selector("#annex tr[data-department='统计局'] .badge.manual")
    assert badge.inner_text() == "人工" and "规则建议：绿" in badge.get_attribute("title")
    clean(page)
    page.locator("#tab-tables").evaluate("e => e.scrollIntoView()")
    shot(page, "status", tmp_path)
    sheet = openpyxl.load_workbook(book(console))["附件2"]
    status_col = [c.value for c in sheet[2]].index("状态")
    assert next(r for r in sheet.iter_rows(values_only=True) if r[1] == "统计局")[status_col] == "黄"
    # 重新计算 keeps it and says the page's way to reset (no command-line flag)
    step(page, "recalc", "#annex tbody tr")
    notes = page.inner_text("#notes")
    assert "保留了工作人员确认的 1 处状态" in notes and "“按规则重置状态”" in notes and "--" not in notes
    # one unit: ↺, asked first
    page.click("#annex-tabs button:text('附件2')")
    row(page, "统计局").locator("button.reset-one").click()
    page.wait_for_selector("#confirm[open]")
    assert "将把附件2中“统计局”的状态改回规则的建议" in page.inner_text("#confirm-text")
    clean(page)
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('已按规则重置附件2“统计局”的状态：统计局（黄→绿）')")
    page.wait_for_selector("#annex tr[data-department='统计局']:not(.status-黄)")
    assert row(page, "统计局").locator(".badge.manual").count() == 0
    # the whole annex
    row(page, "统计局").locator("select").select_option("红")
    page.wait_for_selector("#annex tr[data-department='统计局'] .badge.manual")
    row(page, "医保局").locator("select").select_option("绿")
    page.wait_for_selector("#annex tr[data-department='医保局'] .badge.manual")
    page.click("#reset-annex")
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('已按规则重置附件2全部单位的状态')")
    page.wait_for_selector("#annex tr.status-黄[data-department='医保局']")
    assert page.locator("#annex .badge.manual").count() == 0
    clean(page)


def test_04_the_table_keeps_unit_and_status_in_view_at_1024_px(page, tmp_path):
    page.click("#tabs button[data-tab='tables']")
    page.click("#annex-tabs button:text('附件2')")
    step(page, "compare", "#annex th:text('上月压缩比例')")
    page.click("#annex-tabs button:text('附件2')")
    scroller = page.locator("#tab-tables .scroll")
    row(page, "公安分局").locator("td.sticky-status").wait_for(state="visible")
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    assert scroller.evaluate("e => e.scrollLeft") > 200  # the table is wider than the page: it scrolled
    # measured in one go (the rows are the page's own nodes, read at one moment)
    (nx, nw), (sx, sw) = row(page, "公安分局").evaluate(
        "r => ['td.sticky-name', 'td.sticky-status'].map(s => { const b = r.querySelector(s).getBoundingClientRect();"
        " return [b.x, b.width]; })")
    assert 0 <= nx and sx + sw <= 1024  # both in view after scrolling to the far right
    assert abs(nx + nw - sx) <= 2  # side by side, nothing showing between them
    last = page.locator("#annex thead th").last.evaluate("e => { const b = e.getBoundingClientRect(); return b.x + b.width; }")
    assert last <= 1024 + 2  # the last 变化 column reachable
    assert row(page, "公安分局").locator("td.sticky-name").inner_text() == "公安分局"
    page.screenshot(path=str(tmp_path / "1024.png"))


def test_05_a_paragraph_is_restored_to_the_generated_text(page):
    step(page, "narrate", ".paragraph textarea")
    box = page.locator(".paragraph").first
    area = box.locator("textarea")
    generated = area.input_value()
    area.fill("工作人员改写的段落。")
    box.locator("button:text('保存')").click()
    page.wait_for_selector(".paragraph.edited")
    step(page, "narrate", ".paragraph.edited")
    assert "“恢复为生成文字”" in page.inner_text("#notes")
    page.locator(".paragraph.edited button.restore").click()
    page.wait_for_selector("#notes li:text('恢复为生成的文字')")
    page.wait_for_selector(".paragraph.edited", state="detached")
    assert page.locator(".paragraph").first.locator("textarea").input_value() == generated
    assert page.locator(".paragraph.edited").count() == 0
    clean(page)


def test_06_a_missing_mail_address_is_filled_in_the_departments_view_and_the_mail_text_is_shown(page, console, tmp_path):
    step(page, "mail-preview", "#mail tbody tr")
    notes = page.inner_text("#notes")
    assert "拒绝：中国人寿：部门名录中未登记邮箱" in notes and "请在“部门”页填写“中国人寿”的邮箱" in notes
    page.click("#mail tbody tr[data-department='交通局'] button.view")
    assert "殷都区交通运输局：" in page.inner_text("#mail-text") and "jtj@yindu.example" in page.inner_text("#mail-to")
    clean(page)
    page.click("#mail tbody tr[data-department='中国人寿'] button.set-email")
    unit = page.wait_for_selector("#departments tr[data-department='中国人寿']")
    assert page.locator("#departments tbody tr").count() == 1  # the view opens on that unit
    clean(page)
    page.fill("#departments tr[data-department='中国人寿'] input[name='邮箱']", "rs@yindu.example")
    page.locator("#steps-card").evaluate("e => e.scrollIntoView()")
    shot(page, "departments", tmp_path)
    page.click("#departments tr[data-department='中国人寿'] button.save-department")
    page.wait_for_selector("#notes li:text('已保存“中国人寿”：邮箱：rs@yindu.example')")
    assert unit  # the row the clerk typed in
    rows = [r[:11] for r in openpyxl.load_workbook(book(console))["部门"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert rows == [("中国人寿", None, None, None, None, None, "rs@yindu.example", None, None, None, None)]
    step(page, "mail-preview", "#mail tbody tr")
    cells = page.locator("#mail tbody tr[data-department='中国人寿'] td").all_inner_texts()
    assert cells[1] == "rs@yindu.example" and cells[4].startswith("草稿")
    assert "中国人寿" not in page.inner_text("#notes")


def test_07_next_month_warns_before_the_month_is_closed_and_close_month_asks_what_it_stores(page, console, tmp_path):
    history = console.folder / "history.sqlite"
    page.click("#steps button[data-step='next-month']")
    page.wait_for_selector("#confirm[open]")
    assert "本月（2023-06）尚未结转：下月工作簿的单位将取自历史库中的 2023-05" in page.inner_text("#confirm-text")
    clean(page)
    page.click("#confirm button[value=cancel]")
    assert not (console.folder / "通报数据-2023-07.xlsx").exists()
    before = hashlib.sha256(history.read_bytes()).hexdigest()
    page.click("#steps button[data-step='close-month']")
    page.wait_for_selector("#confirm[open]")
    assert "将把本工作簿 2023-06 的数据" in page.inner_text("#confirm-text") and "历史库现有：2023-05" in page.inner_text(
        "#confirm-text")
    page.click("#confirm button[value=cancel]")
    assert hashlib.sha256(history.read_bytes()).hexdigest() == before  # nothing stored without the confirmation
    page.click("#steps button[data-step='close-month']")
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('2023-06 已存入历史库（现有 2 个月：2023-05、2023-06）。')")
    page.wait_for_selector("#busy", state="hidden")
    page.click("#steps button[data-step='close-month']")
    page.wait_for_selector("#confirm[open]")
    assert "历史库中已有 2023-06。确认后将重新存入 2023-06：替换先前存入的 2023-06，其他月份不变" in page.inner_text("#confirm-text")
    shot(page, "close-month", tmp_path)
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('已重新存入 2023-06（替换先前存入的 2023-06，其他月份不变）。')")
    page.wait_for_selector("#busy", state="hidden")
    clean(page)
    step(page, "next-month", "#notes li:text('已生成下月（2023-07）的输入工作簿')")  # closed: no question
    assert "取自历史库中 2023-06 的数据" in page.inner_text("#notes")
    assert (console.folder / "通报数据-2023-07.xlsx").exists()


def test_08_a_backup_is_listed_and_restored_after_backing_up_the_current_file(page, console, tmp_path):
    page.click("#tabs button[data-tab='backups']")
    page.wait_for_selector("#backups tbody tr")
    listed = page.locator("#backups tbody tr")
    assert 2 <= listed.count() <= 10 + 1  # backup_keep plus today's first
    oldest = listed.last.get_attribute("data-name")
    folder = console.folder / "备份"
    assert sorted(p.name for p in folder.iterdir()) == sorted(listed.evaluate_all("rs => rs.map(r => r.dataset.name)"))
    copy, current = (folder / oldest).read_bytes(), book(console).read_bytes()
    clean(page)
    page.locator("#steps-card").evaluate("e => e.scrollIntoView()")
    shot(page, "backups", tmp_path)
    listed.last.locator("button.restore-backup").click()
    page.wait_for_selector("#confirm[open]")
    assert "当前的文件会先另存为一份备份" in page.inner_text("#confirm-text")
    first = listed.first.get_attribute("data-name")
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('恢复前的文件已另存为备份')")
    assert book(console).read_bytes() == copy
    for _ in range(100):  # the list is read again after the restore
        newest = page.locator("#backups tbody tr").first.get_attribute("data-name")
        if newest != first:
            break
        page.wait_for_timeout(100)
    assert (folder / newest).read_bytes() == current  # the file as it was, kept
    clean(page)


def test_09_a_step_queued_behind_another_says_what_it_waits_for(page, context, console):
    other = context.new_page()  # a second tab on the same workbook
    other.goto(console.base + "/")
    other.wait_for_selector(f"#books option[value='{SAMPLE.name}']", state="attached")
    other.select_option("#books", SAMPLE.name)
    page.click("#steps button[data-step='render']")
    page.wait_for_selector("#busy-title:text('正在生成通报文档')")
    other.click("#steps button[data-step='recalc']")
    other.wait_for_selector("#busy-title:text('等待“生成通报文档”完成后开始')", timeout=10_000)
    clean(other)
    page.wait_for_selector("#busy", state="hidden", timeout=TIMEOUT)
    other.wait_for_selector("#busy", state="hidden", timeout=TIMEOUT)
    assert other.inner_text("#error") == "" and "重新计算完成" in other.inner_text("#notes")
    other.close()


def test_10_a_lost_connection_is_said_in_chinese(browser, tmp_path_factory):
    server = Console(working_folder(tmp_path_factory, "lost"))
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(server.url)
        page.set_input_files("#upload", str(SAMPLE))
        page.wait_for_selector("#current:text('当前：')")
        server.stop()  # the launcher window closed
        page.click("#steps button[data-step='check']")
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error") == "校验数据未完成：无法连接工作台，请确认启动窗口没有关闭"
        page.click("#refresh")
        page.wait_for_selector("#error:text('无法连接工作台')")
        clean(page)
    finally:
        context.close()
        server.stop()


def test_11_the_launcher_window_shows_the_address_and_no_server_chatter(console):
    """Many requests at once queue in waitress, which says so: into the log file, not the clerk's window."""
    def hit(_: int) -> int:
        req = urllib.request.Request(f"{console.base}/api/check", method="POST", data=urllib.parse.urlencode(
            {"workbook": SAMPLE.name}).encode(), headers={"X-Bulletin-Token": console.token})
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.status

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(hit, range(16))) == {200}
    log = console.folder / "工作台日志.log"
    console.stop()
    out, err = console.proc.stdout.read(), console.proc.stderr.read()
    assert "Task queue depth" in log.read_text(encoding="utf-8")
    assert "Task queue depth" not in out + err and "waitress" not in (out + err).lower()
    assert "通报工作台已启动" in out and err == ""
