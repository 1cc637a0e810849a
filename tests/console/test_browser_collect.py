"""报送 in a real browser (Debian's Chromium through playwright) against `bulletin serve`: the emptied June master
uploaded, 下发报送表 clicked, two returns chosen at once in 导入回传, 报送情况 shown — results checked in files."""
from __future__ import annotations

import sys

import openpyxl
import pytest

from .conftest import ROOT, Console, chromium_mark, working_folder

sys.path.insert(0, str(ROOT / "tests"))
from collect_fixtures import SECRET, blank_master, fill  # noqa: E402

pytestmark = chromium_mark()


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    folder = working_folder(tmp_path_factory, "collect-console")
    server = Console(folder, env={"BULLETIN_COLLECT_SECRET": SECRET, "BULLETIN_TODAY": "2023-07-05"})
    yield server
    server.stop()


def test_send_import_and_status_from_the_page(browser, console, tmp_path):
    master = blank_master(tmp_path / "通报数据-2023-06.xlsx")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(console.url)
        page.set_input_files("#upload", str(master))
        page.wait_for_selector("#current:text('当前：')")
        page.click("#steps button[data-step='collect-send']")
        page.wait_for_selector("#notes li:text('已生成 32 个单位的报送工作簿')")
        made = console.folder / "out" / "collect" / "2023-06"
        returns = [fill(made / f"报送-2023-06-{d}.xlsx", tmp_path / f"{d}.xlsx") for d in ("交通局", "残联")]
        page.set_input_files("#returns", [str(p) for p in returns])
        page.wait_for_selector("#notes li:text('导入 2 个文件：已报 2')")
        assert page.inner_text("#error") == ""
        page.click("#steps button[data-step='collect-status']")
        page.wait_for_selector("#notes li:text('交通局 | 附件1 | 已报')")
        page.wait_for_selector("#busy", state="hidden")
        page.click("#returns-mailbox")  # the office mailbox of collect.yaml is not reachable from here
        page.wait_for_selector("#error:text('导入回传未完成')")
        assert "邮箱" in page.inner_text("#error")
    finally:
        context.close()
    wb = openpyxl.load_workbook(console.folder / master.name)
    rows = list(wb["报送情况"].iter_rows(values_only=True))
    assert ("残联", "附件7", "已报") in [r[:3] for r in rows]
