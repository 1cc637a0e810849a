"""检查环境 without Excel (the console's step): tools found on this PC and what the history holds."""
from __future__ import annotations

import shutil

from bulletin import actions
from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from conftest import ROOT

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"


def test_report_names_the_tools_and_the_months_in_history(sample_copy):
    outcome = actions.check_environment(sample_copy)
    env = outcome.extra["environment"]
    assert "尚未创建" in env["历史库"]
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert env["LibreOffice（生成 PDF）"] == (soffice or "未安装：只能生成 Word 文档")
    assert ("已安装" if shutil.which("pdftoppm") else "未安装") in env["poppler（页面图片）"]
    with History(sample_copy.parent / "history.sqlite") as h:
        h.store(compute(read_grids(MAY)), source=MAY.name)
    env = actions.check_environment(sample_copy).extra["environment"]
    assert env["历史库"].endswith("（已存月份：2023-05）")
    assert outcome.report[0].startswith("Python：")
