"""The whole flow in a real browser (Debian's Chromium through playwright) against `bulletin serve`:
June uploaded, May in the history, every step as a clerk clicks it, results checked in the workbook file.
BULLETIN_SCREENSHOTS=1 also writes the README's pictures (docs/console-*.png)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest

from bulletin.adapters.pdf_libreoffice import soffice

from .conftest import ROOT, SAMPLE, Console, chromium_mark, working_folder

sys.path.insert(0, str(ROOT / "tests"))
from mail_server import Recorder, make_certificate, start  # noqa: E402

pytestmark = chromium_mark()

EDITED = "即办件占比较上月有所下降，请各单位对照附件1认真整改（工作人员在网页中改写）。"
PARAGRAPH = "总体情况.即办件与时限压缩"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smtp")
    cert, key = make_certificate(folder)
    recorder = Recorder()
    controller = start(recorder, cert, key)
    yield recorder, controller, cert
    controller.stop()


@pytest.fixture(scope="module")
def june(tmp_path_factory, smtp):
    """The June sample as staff would upload it, its 参数 sheet pointing the mail at the test server."""
    _, controller, _ = smtp
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["参数"] if "参数" in wb.sheetnames else wb.create_sheet("参数")
    for row in (["邮件服务器", "127.0.0.1", None], ["邮件端口", controller.port, None], ["邮件加密", "STARTTLS", None]):
        ws.append(row)  # a later row wins over the sample's own
    path = tmp_path_factory.mktemp("upload") / SAMPLE.name
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def console(tmp_path_factory, smtp):
    _, _, cert = smtp
    folder = working_folder(tmp_path_factory)
    server = Console(folder, env={"BULLETIN_SMTP_PASSWORD": "unused", "SSL_CERT_FILE": str(cert)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(browser, console):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(console.url)
    yield page
    context.close()


def shot(page, name: str, tmp_path: Path, top: str | None = None) -> Path:
    if top:  # that element at the top of the picture (scrollIntoView runs without eval: the CSP allows it)
        page.locator(top).first.evaluate("e => e.scrollIntoView()")
    folder = ROOT / "docs" if os.environ.get("BULLETIN_SCREENSHOTS") == "1" else tmp_path
    path = folder / f"console-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000  # a page, not a blank
    return path


def step(page, name: str, done: str, timeout: float = 120_000) -> None:
    """Click a step and wait until the page shows its result and is no longer busy."""
    page.click(f"#steps button[data-step='{name}']")
    page.wait_for_selector(done, timeout=timeout)
    page.wait_for_selector("#busy", state="hidden", timeout=timeout)
    assert page.inner_text("#error") == "", page.inner_text("#error")


def loaded(page, selector: str) -> None:
    """Every picture matched has arrived and decoded (polled: the page's CSP forbids eval'd predicates)."""
    for _ in range(100):
        if page.locator(selector).evaluate_all("imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"pictures {selector} did not load")


def book(console) -> Path:
    return console.folder / SAMPLE.name


def test_01_the_page_opens_with_the_token_and_drops_it_from_the_address(page, console):
    assert page.url == f"{console.base}/"
    assert page.title() == "通报工作台"
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("bulletin_token", True, "Strict")]


def test_02_upload_then_check_lists_the_two_warnings(page, console, june, tmp_path):
    page.set_input_files("#upload", str(june))
    page.wait_for_selector("#current:text('当前：')")
    assert "已上传 通报数据-2023-06.xlsx" in page.inner_text("#notes")
    assert page.inner_text("#current") == f"当前：{SAMPLE.name}"
    step(page, "check", "#problems tbody tr")
    rows = [r.split("\t") for r in page.inner_text("#problems tbody").splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [("警告", "附件1!F25", "公安分局"), ("警告", "附件6!C34", "")]
    assert "44.76%" in rows[0][3] and "88300" in rows[1][3]
    assert "校验完成：错误 0 条、警告 2 条" in page.inner_text("#notes")
    page.fill("#filter", "附件6")  # filterable
    assert page.locator("#problems tbody tr").count() == 1
    page.fill("#filter", "")
    page.click("#problems th[data-key=where]")  # sortable: 位置 descending after ascending
    page.click("#problems th[data-key=where]")
    assert page.locator("#problems tbody tr td:nth-child(2)").all_inner_texts() == ["附件6!C34", "附件1!F25"]
    shot(page, "check", tmp_path)
    # like the button: 校验结果 in the workbook itself
    sheet = openpyxl.load_workbook(book(console))["校验结果"]
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["附件1", "附件6"]


def _annex_row(page, department: str):
    return page.locator(f"#annex tbody tr[data-department='{department}']").first


def test_03_recalculate_shows_annex2_red_and_a_status_edit_goes_into_the_workbook(page, console, tmp_path):
    step(page, "recalc", "#annex tbody tr")
    page.click("#annex-tabs button:text('附件2')")
    for department in ("税务局", "公安分局"):
        assert "status-红" in _annex_row(page, department).get_attribute("class")
    assert "status-黄" in _annex_row(page, "医保局").get_attribute("class")
    assert "status-红" not in _annex_row(page, "统计局").get_attribute("class")
    # a clerk confirms 统计局 as 黄: written into the 状态 cell, like an edit in Excel
    _annex_row(page, "统计局").locator("select").select_option("黄")
    assert "status-黄" in _annex_row(page, "统计局").get_attribute("class")  # recoloured at once, before the save ends
    page.wait_for_selector("#notes li:text('已将附件2“统计局”的状态改为黄')")
    page.wait_for_selector("#annex tr.status-黄[data-department='统计局'] .badge.manual")  # the reloaded row: 人工
    ws = openpyxl.load_workbook(book(console))["附件2"]
    head = [c.value for c in ws[2]]
    row = next(r for r in ws.iter_rows(values_only=True) if r[1] == "统计局")
    assert row[head.index("状态")] == "黄"


def test_04_compare_adds_last_month_and_change(page, console, tmp_path):
    step(page, "compare", "#annex th:text('上月压缩比例')")
    page.click("#annex-tabs button:text('附件2')")
    headers = page.locator("#annex thead th").all_inner_texts()
    cells = _annex_row(page, "公安分局").locator("td").all_inner_texts()
    row = dict(zip(headers, cells))
    assert row["压缩比例"] == "16.65%" and row["上月压缩比例"] == "63.45%" and row["压缩比例变化（百分点）"] == "-46.80"
    shot(page, "annex2", tmp_path, top="#steps-card")


def test_05_text_states_the_june_figures_and_a_clerks_edit_survives_regeneration(page, console, tmp_path):
    step(page, "narrate", f".paragraph[data-id='{PARAGRAPH}'] textarea")
    area = page.locator(f".paragraph[data-id='{PARAGRAPH}'] textarea")
    assert "较5月份降低2.51%" in area.input_value()
    area.fill(EDITED)
    page.click(f".paragraph[data-id='{PARAGRAPH}'] button:text('保存')")
    page.wait_for_selector(f".paragraph.edited[data-id='{PARAGRAPH}']")
    step(page, "narrate", f".paragraph[data-id='{PARAGRAPH}'] textarea")
    assert page.locator(f".paragraph[data-id='{PARAGRAPH}'] textarea").input_value() == EDITED
    assert "1 段保留了工作人员的修改" in page.inner_text("#notes")
    ws = openpyxl.load_workbook(book(console))["问题文本"]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == PARAGRAPH)
    assert row[3] == EDITED and "较5月份降低2.51%" in row[4]  # column D kept, the new text beside it
    shot(page, "text", tmp_path, top="#steps-card")


def test_06_the_document_downloads_and_opens(page, console, tmp_path):
    step(page, "render", "#document-files li", timeout=240_000)
    with page.expect_download() as info:
        page.click("#document-files a:text('通报-2023-06.docx')")
    saved = tmp_path / "通报.docx"
    info.value.save_as(saved)
    text = "\n".join(p.text for p in docx.Document(saved).paragraphs)
    assert EDITED in text and "政务服务能力提升" in text
    if soffice():
        assert page.locator("#document-files a:text('通报-2023-06.pdf')").count() == 1
        loaded(page, "#pages img")
        assert page.locator("#pages img").count() >= 9  # the text and eight annexes
    elif os.environ.get("CI") == "true":
        pytest.fail("CI: LibreOffice is required for the PDF and the page pictures")
    shot(page, "document", tmp_path, top="#steps-card")


def test_07_mail_preview_lists_the_drafts_and_sending_asks_first(page, console, smtp, tmp_path):
    recorder, _, _ = smtp
    step(page, "mail-preview", "#mail tbody tr")
    rows = page.locator("#mail tbody tr")
    drafts = sorted((console.folder / "out" / "mail" / "2023-06").glob("*.eml"))
    assert rows.count() >= len(drafts) > 20
    police = page.locator("#mail tbody tr[data-department='公安分局'] td").all_inner_texts()
    assert police[0] == "公安分局" and "通报数据-2023-06-公安分局.xlsx" in police[2] and police[4].startswith("草稿")
    shot(page, "mail", tmp_path, top="#steps-card")
    page.click("#send")
    assert page.locator("#confirm").is_visible() and "确认发送吗" in page.inner_text("#confirm-text")
    page.click("#confirm button[value=cancel]")
    assert recorder.received == []  # nothing goes without the confirmation
    page.click("#send")
    page.click("#confirm-ok")
    page.wait_for_selector("#mail tbody tr[data-department='公安分局'] td.mail-status:text('已发送')", timeout=120_000)
    page.wait_for_selector("#busy", state="hidden")
    sent = [t for t in page.locator("#mail td.mail-status").all_inner_texts() if t.startswith("已发送")]
    assert len(sent) == len(recorder.received) == len(drafts)
    assert any("公安分局 已发送" in line for line in page.locator("#send-progress li").all_inner_texts())


def test_08_charts_environment_and_close_month(page, console, tmp_path):
    step(page, "charts", "#chart-images img")
    loaded(page, "#chart-images img")
    assert page.locator("#chart-images img").count() >= 6
    shot(page, "charts", tmp_path, top="#steps-card")
    step(page, "environment", "#environment li")
    assert "已存月份：2023-05" in page.inner_text("#environment")
    page.click("#steps button[data-step='close-month']")  # asks first, saying what it stores
    page.wait_for_selector("#confirm[open]")
    assert "将把本工作簿 2023-06 的数据" in page.inner_text("#confirm-text")
    page.click("#confirm-ok")
    page.wait_for_selector("#notes li:text('2023-06 已存入历史库')")
    page.wait_for_selector("#busy", state="hidden")


def test_09_a_bad_file_is_refused_with_the_clis_message(page, tmp_path):
    bad = tmp_path / "坏文件.xlsx"
    bad.write_text("这不是工作簿")
    res = subprocess.run([sys.executable, "-m", "bulletin", "check", str(bad)], capture_output=True, text=True)
    page.set_input_files("#upload", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error") == res.stderr.strip().removeprefix("错误：")
    assert "Traceback" not in page.content()


def test_10_without_the_token_the_console_refuses(browser, console):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(console.base + "/")
    assert response.status == 401 and "需要令牌" in page.inner_text("#refusal")
    api = context.request.post(console.base + "/api/check", multipart={"workbook": SAMPLE.name})
    assert api.status == 401
    assert page.goto(console.base + "/?token=wrong").status == 403
    context.close()
