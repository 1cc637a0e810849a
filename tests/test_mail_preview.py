"""`bulletin mail` without --send: one .eml draft per department and its macro-free extract, read back."""
from __future__ import annotations

import email
import email.policy
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bulletin import actions
from bulletin.actions.mail import load_mail_settings
from bulletin.cli import main
from bulletin.config import load_registry
from bulletin.core.registry import UnknownDepartment
from conftest import SAMPLE

MAY = SAMPLE.parents[1] / "2023-05" / "通报数据-2023-05.xlsx"
GOLDEN = Path(__file__).parent / "golden" / "mail"
NO_ADDRESS = {"中国人寿", "文印中心", "刻章公司"}
TOTAL_LABELS = {"合计", "总计", "殷都区", "安阳市", "派驻部门小计", "公共服务单位小计"}


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preview")
    history, out = folder / "history.sqlite", folder / "out"
    actions.import_month(MAY, history=history)
    code = main(["mail", str(SAMPLE), "--month", "2023-06", "--history", str(history), "--out", str(out)])
    return code, out / "mail" / "2023-06", history


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_one_draft_per_department_with_an_address(drafted, capsys):
    code, folder, _ = drafted
    assert code == 0
    registry = load_registry()
    emls = sorted(folder.glob("*.eml"))
    expected = {d.short for d in registry.departments if d.emails}  # every one of them has rows in June
    assert {p.stem.removeprefix("2023-06-") for p in emls} == expected
    for path in emls:
        msg = read_eml(path)
        dept = registry.get(registry.resolve(path.stem.removeprefix("2023-06-")))
        assert msg["X-Unsent"] == "1" and msg["From"].addresses[0].addr_spec == "fgb@yindu.example"
        assert [a.addr_spec for a in msg["To"].addresses] == list(dept.emails)
        assert msg["Subject"] == f"殷都区2023年6月政务服务能力提升情况通报——{dept.short}数据摘录"
        [attachment] = msg.iter_attachments()
        name = f"通报数据-2023-06-{dept.short}.xlsx"
        assert attachment.get_filename() == name and attachment.get_content() == (folder / name).read_bytes()
    for short in NO_ADDRESS:
        assert not (folder / f"2023-06-{short}.eml").exists()


def test_the_preview_table_lists_departments_recipients_attachments_and_size(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["mail", str(SAMPLE), "--out", str(out), "--only", "人社局", "--only", "刻章公司"])
    text = capsys.readouterr().out
    size = (out / "mail" / "2023-06" / "通报数据-2023-06-人社局.xlsx").stat().st_size
    assert code == 0
    assert "单位 | 收件人 | 附件 | 大小 | 状态" in text
    assert (f"人社局 | rsj@yindu.example；rsj-bgs@yindu.example | 通报数据-2023-06-人社局.xlsx | "
            f"{size / 1024:.1f} KB | 草稿") in text
    assert "拒绝：刻章公司：部门名录中未登记邮箱" in text


def test_the_draft_wording_is_the_template_s(drafted):
    _, folder, _ = drafted
    msg = read_eml(folder / "2023-06-人社局.eml")
    text = f"主题：{msg['Subject']}\n\n{msg.get_body(('plain',)).get_content()}"
    assert text == (GOLDEN / "2023-06-人社局.txt").read_text(encoding="utf-8")


def _detail_labels(ws) -> list[str]:
    return [r[0] for r in ws.iter_rows(min_row=3, values_only=True) if r[0] and r[0] not in TOTAL_LABELS]


def test_an_extract_holds_no_other_department_s_rows(drafted):
    _, folder, _ = drafted
    registry = load_registry()
    for path in sorted(folder.glob("*.xlsx")):
        with zipfile.ZipFile(path) as z:  # macro-free: no VBA project, the plain workbook content type
            assert not any("vba" in n.lower() for n in z.namelist())
            assert b"macroEnabled" not in z.read("[Content_Types].xml")
        own = registry.resolve(path.stem.removeprefix("通报数据-2023-06-"))
        wb = openpyxl.load_workbook(path)
        annexes = [ws for ws in wb if ws.title.startswith("附件")]
        assert annexes and wb.sheetnames[0] == "说明" and wb.sheetnames[-1] == "问题摘录"
        for ws in annexes:
            labels = _detail_labels(ws)
            assert labels, (path.name, ws.title)
            for label in labels:
                try:
                    assert registry.resolve(label) == own, (path.name, ws.title, label)
                except UnknownDepartment:
                    pytest.fail(f"{path.name} {ws.title}: unexpected row {label}")


def _row(ws, label: str) -> dict:
    header = [c.value for c in ws[2]]
    for r in ws.iter_rows(min_row=3, values_only=True):
        if r[0] == label:
            return dict(zip(header, r))
    raise KeyError(label)


def test_extract_figures_match_the_printed_bulletin(drafted):
    _, folder, _ = drafted
    wb = openpyxl.load_workbook(folder / "通报数据-2023-06-公安分局.xlsx")
    # the June text: 公安分局事项压缩比由5月份63.45%降至16.65%; 全区 92.25%, 较5月份降低1.92
    a2 = _row(wb["附件2"], "公安分局")
    assert (a2["压缩比例"], a2["上月压缩比例"], a2["压缩比例变化（百分点）"]) == (0.1665, 0.6345, -46.8)
    total = _row(wb["附件2"], "合计")
    assert (total["压缩比例"], total["压缩比例变化（百分点）"]) == (0.9225, -1.92)
    assert a2["状态"] == "红" and "压缩比例" in a2["触发规则"]
    # annex 1 as printed (reference annex1.tsv: 143 items, 64 instant), the ratio recomputed 44.76%
    a1 = _row(wb["附件1"], next(r[0] for r in wb["附件1"].iter_rows(min_row=4, values_only=True)))
    assert (a1["事项总数"], a1["即办件事项数"], a1["即办件事项占比"]) == (143, 64, 0.4476)
    sentences = [r[2] for r in wb["问题摘录"].iter_rows(min_row=2, values_only=True)]
    assert any("公安分局事项压缩比由5月份63.45%降至16.65%" in s for s in sentences)
    assert all("公安分局" in s or "公安局" in s for s in sentences)
    quiet = openpyxl.load_workbook(folder / "通报数据-2023-06-档案局.xlsx")["问题摘录"]
    assert quiet["C2"].value == "本月通报正文未点名本单位。"


def test_extract_annex5_keeps_the_printed_three_row_header(drafted):
    _, folder, _ = drafted
    ws = openpyxl.load_workbook(folder / "通报数据-2023-06-人社局.xlsx")["附件5"]
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A2:A4", "E2:P2", "E3:G3", "N3:P3"} <= merged  # 单位; 子项数 over 4 × 3; 行政检查, 其他
    assert (ws["E2"].value, ws["E3"].value, ws["E4"].value, ws["N3"].value) == ("子项数", "行政检查", "个数", "其他")
    extra = [ws.cell(2, c).value for c in range(17, ws.max_column + 1)]
    assert extra[-2:] == ["状态", "触发规则"] and all(f"{ws.cell(2, c).column_letter}2:{ws.cell(2, c).column_letter}4"
                                                     in merged for c in range(17, ws.max_column + 1))
    assert [ws.cell(r, 1).value for r in (5, 6, 7)] == ["安阳市", "殷都区", "区人社局"] and ws.freeze_panes == "B5"


def test_visibility_all_shows_every_department(tmp_path):
    import dataclasses

    settings = dataclasses.replace(load_mail_settings(), visibility="all")
    outcome = actions.mail_preview(SAMPLE, out_dir=tmp_path, only=["人社局"], settings=settings)
    assert outcome.extra["mail"]["packages"][0]["status"] == "草稿"
    wb = openpyxl.load_workbook(tmp_path / "mail" / "2023-06" / "通报数据-2023-06-人社局.xlsx")
    assert len(_detail_labels(wb["附件7"])) == 9 and wb["说明"]["B4"].value == "全部单位数据"


def test_json_and_usage_errors(tmp_path, capsys):
    import json

    assert main(["mail", str(SAMPLE), "--out", str(tmp_path), "--only", "交通局", "--json"]) == 0
    mail = json.loads(capsys.readouterr().out)["mail"]
    assert mail["packages"][0]["to"] == ["jtj@yindu.example"] and mail["packages"][0]["file"].endswith(".eml")
    assert main(["mail", str(SAMPLE), "--out", str(tmp_path), "--only", "不存在局"]) == 2
    assert "错误：--only：部门名录中没有“不存在局”" in capsys.readouterr().err
    assert main(["mail", str(SAMPLE), "--out", str(tmp_path), "--resend", "交通局"]) == 2
    assert "只能与 --send 一起使用" in capsys.readouterr().err
