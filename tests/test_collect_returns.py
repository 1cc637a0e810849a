"""A corpus of bad returns, each asserting its outcome: every refusal (not a fill-in workbook, a tampered or
forged signature, an old template version, another month, another department), a renamed .xls, not a zip, an
XML entity bomb, a zip bomb, formulas and injection text, errors sent back (退回) and then corrected, a forced
submission with its explanation, a duplicate, a clerk's hand edit kept as a conflict."""
from __future__ import annotations

import email
import email.policy
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bulletin.actions import collect
from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.adapters.xlsx_fillin import IDENTITY_SHEET, INFO_SHEET, return_cell
from bulletin.core import collect as core
from bulletin.spec import annex
from collect_fixtures import SECRET, blank_master, office_env, fill
from conftest import SAMPLE

MASTER = "通报数据-2023-06.xlsx"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv(collect.SECRET_ENV, SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    with office_env("2023-07-03"):
        folder = tmp_path_factory.mktemp("returns")
        blank_master(folder / MASTER)
        collect.send(folder / MASTER, only=["交通局", "民宗局", "残联"])
    return folder


@pytest.fixture
def office(sent, tmp_path):
    folder = tmp_path / "office"
    shutil.copytree(sent, folder)
    return folder


def fillin(folder: Path, short: str = "交通局") -> Path:
    return folder / "out" / "collect" / "2023-06" / f"报送-2023-06-{short}.xlsx"


def at(spec_sheet: str, index: int, column: str) -> str:
    return return_cell(annex(spec_sheet), index, column)


def resign(wb, change) -> None:
    """Edit the identity's payload and sign it with the office secret (a genuine file of another kind)."""
    ident = core.Identity.from_payload(wb[IDENTITY_SHEET]["B1"].value)
    payload = change(ident).payload()
    wb[IDENTITY_SHEET]["B1"].value = payload
    wb[IDENTITY_SHEET]["B2"].value = core.sign(payload, SECRET.encode())


def set_text(wb, sheet, cell, text):
    wb[sheet][cell].value = text
    wb[sheet][cell].data_type = "s"


def rewrite_member(src: Path, dst: Path, member: str, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == member else data)
    return dst


def sheet_member(path: Path, sheet: str) -> str:
    """The zip member of a sheet (openpyxl names them sheetN.xml in workbook order)."""
    wb = openpyxl.load_workbook(path)
    return f"xl/worksheets/sheet{wb.sheetnames.index(sheet) + 1}.xml"


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;">]>')


def entity_bomb(filled: Path, out: Path) -> Path:
    member = sheet_member(filled, "附件1")

    def change(data: bytes) -> bytes:
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        return BOMB + body.replace(b"<v>", b"<v>&lol4;", 1)

    return rewrite_member(filled, out, member, change)


def zip_bomb(filled: Path, out: Path) -> Path:
    shutil.copy(filled, out)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/padding.bin", b"\0" * (60 << 20))  # 60 MB of zeros, some 60 KB packed
    return out


def many_members(filled: Path, out: Path) -> Path:
    shutil.copy(filled, out)
    with zipfile.ZipFile(out, "a") as z:
        for i in range(400):
            z.writestr(f"xl/media/p{i}.bin", b"x")
    return out


# name -> (how the return is made from the fill-in, expected outcome, words of the reason)
CASES = {
    "not_a_fillin": (lambda f, o, tmp: shutil.copy(SAMPLE, o) and o, "拒绝", "不是本办下发的报送工作簿"),
    "tampered_signature": (lambda f, o, tmp: fill(f, o, edit=lambda wb: wb[IDENTITY_SHEET].__setitem__(
        "B2", "0" * 64)), "拒绝", "签名不符"),
    "payload_edited_to_claim_another_department": (lambda f, o, tmp: fill(f, o, edit=lambda wb: wb[IDENTITY_SHEET]
        .__setitem__("B1", wb[IDENTITY_SHEET]["B1"].value.replace("交通局", "民宗局"))), "拒绝", "签名不符"),
    "old_template_version": (lambda f, o, tmp: fill(f, o, edit=lambda wb: resign(
        wb, lambda i: core.Identity(i.month, i.department, 0, i.sheets, i.issued))), "拒绝", "版本过旧"),
    "another_month": (lambda f, o, tmp: fill(f, o, edit=lambda wb: resign(
        wb, lambda i: core.Identity("2023-05", i.department, i.version, i.sheets, i.issued))), "拒绝",
        "2023-05 的报送工作簿"),
    "another_departments_rows": (lambda f, o, tmp: fill(f, o, edit=lambda wb: set_text(
        wb, "附件1", at("附件1", 0, "单位"), "民宗局")), "拒绝", "不能代替其他单位报送"),
    "renamed_xls": (lambda f, o, tmp: (o.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000), o)[1],
                    "拒绝", "旧版 .xls"),
    "xls_suffix": (lambda f, o, tmp: shutil.copy(f, o.with_suffix(".xls")) and o.with_suffix(".xls"), "拒绝",
                   "不是 .xlsx/.xlsm"),
    "not_a_zip": (lambda f, o, tmp: (o.write_text("这不是工作簿", encoding="utf-8"), o)[1], "拒绝", "不是 Excel 工作簿"),
    "xml_entity_bomb": (lambda f, o, tmp: entity_bomb(fill(f, tmp / "ok.xlsx"), o), "拒绝", "不安全的 XML"),
    "zip_bomb": (lambda f, o, tmp: zip_bomb(fill(f, tmp / "ok.xlsx"), o), "拒绝", "压缩炸弹"),
    "too_many_members": (lambda f, o, tmp: many_members(fill(f, tmp / "ok.xlsx"), o), "拒绝", "个部件"),
    "part_exceeds_whole": (lambda f, o, tmp: fill(f, o, edit=lambda wb: wb["附件1"].__setitem__(
        at("附件1", 0, "即办件事项数"), 10 ** 6)), "退回", "2 处错误"),
    "text_in_a_count": (lambda f, o, tmp: fill(f, o, edit=lambda wb: set_text(
        wb, "附件6", at("附件6", 0, "部门报送数据"), "很多")), "退回", "处错误"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_return(case, office, tmp_path):
    make, expected, words = CASES[case]
    path = make(fillin(office), tmp_path / "回传.xlsx", tmp_path)
    master = office / MASTER
    before = master.read_bytes()
    outcome = collect.import_returns(master, [path])
    (result,) = outcome.extra["collect"]["returns"]
    assert result["outcome"] == expected, result
    assert words in result["reason"], result
    assert outcome.failed and outcome.exit_code == 1
    if expected == "拒绝":
        assert master.read_bytes() == before  # nothing merged, the master not even rewritten
    with CollectLedger(office / "history.sqlite") as ledger:
        (event,) = ledger.events("2023-06")
        states = {r.state for (d, _), r in ledger.rows("2023-06").items() if d == "交通局"}
    assert event.outcome == expected and event.reason == result["reason"]
    assert states == ({"已发"} if expected == "拒绝" else {"退回"})
    assert (office / "returns" / "2023-06" / event.stored).is_file()  # every return kept, refused ones too


def test_formulas_and_injection_text(office, tmp_path):
    """A formula in an input cell is a problem at that cell (sent back, never copied); text that merely looks
    like a formula is accepted and written as text."""
    spec7 = "附件7"
    f = fillin(office, "残联")

    def formulas(wb):
        wb["附件1"][at("附件1", 0, "事项总数")] = "=SUM(10,2)"
        wb[spec7][at(spec7, 0, "备注")] = '=HYPERLINK("http://evil.example","点我")'

    bad = collect.import_returns(office / MASTER, [fill(f, tmp_path / "公式.xlsx", edit=formulas)])
    (r,) = bad.extra["collect"]["returns"]
    assert r["outcome"] == "退回"
    problems = {(p["sheet"], p["cell"]): p for p in r["problems"]}
    assert problems[("附件1", at("附件1", 0, "事项总数"))]["rule"] == "collect.formula"
    assert "SUM(10,2)" in problems[("附件1", at("附件1", 0, "事项总数"))]["message"]
    assert problems[(spec7, at(spec7, 0, "备注"))]["rule"] == "collect.formula"
    # the reply lists every problem at the department's own cells
    draft = next((office / "out" / "collect" / "2023-06").glob("退回-2023-06-残联-*.eml"))
    body = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default).get_body().get_content()
    assert f"附件1 {at('附件1', 0, '事项总数')}" in body and f"{spec7} {at(spec7, 0, '备注')}" in body

    def injection(wb):
        set_text(wb, spec7, at(spec7, 0, "备注"), '=HYPERLINK("http://evil.example","点我")')
        set_text(wb, "附件4", at("附件4", 0, "资源使用情况"), "+cmd|' /C calc'!A0")

    ok = collect.import_returns(office / MASTER, [fill(f, tmp_path / "文字.xlsx", edit=injection)])
    (r,) = ok.extra["collect"]["returns"]
    assert r["outcome"] == "已报", r
    wb = openpyxl.load_workbook(office / MASTER)
    texts = {c.value: c.data_type for ws in (wb[spec7], wb["附件4"]) for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(("=HYPERLINK", "+cmd"))}
    assert texts == {'=HYPERLINK("http://evil.example","点我")': "s", "+cmd|' /C calc'!A0": "s"}


def test_sent_back_then_corrected_resubmission_accepted(office, tmp_path, monkeypatch):
    f, master = fillin(office), office / MASTER
    cell = at("附件1", 0, "即办件事项数")
    wrong = fill(f, tmp_path / "第一次.xlsx", edit=lambda wb: wb["附件1"].__setitem__(cell, 10 ** 6))
    first = collect.import_returns(master, [wrong])
    (r,) = first.extra["collect"]["returns"]
    assert r["outcome"] == "退回"
    assert [(p["sheet"], p["cell"], p["rule"]) for p in r["problems"] if p["severity"] == "error"] == [
        ("附件1", cell, "check.part_exceeds_whole"), ("附件1", cell, "check.agreement_mismatch")]
    rows = {r["sheet"]: r for r in collect.status(master, write=False).extra["collect"]["rows"] if r["short"] == "交通局"}
    assert rows["附件1"]["state"] == "退回" and "2 处错误" in rows["附件1"]["reason"]
    # a department sent back is reminded (1 day before the deadline), its draft naming why
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-06")
    reminded = collect.remind(master).extra["collect"]
    assert reminded["due"] == "截止前1天" and "交通局" in {x["department"] for x in reminded["reminded"]}
    draft = office / "out" / "collect" / "2023-06" / "催报-2023-06-交通局-截止前1天.eml"
    body = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default).get_body().get_content()
    assert "附件1　" in body and "退回：2 处错误" in body
    right = fill(f, tmp_path / "第二次.xlsx")
    second = collect.import_returns(master, [right])
    (r,) = second.extra["collect"]["returns"]
    assert r["outcome"] == "已报" and r["written"] > 0
    with CollectLedger(office / "history.sqlite") as ledger:
        events = ledger.events("2023-06")
        assert [e.outcome for e in events] == ["退回", "已报"]
        assert {x.state for (d, _), x in ledger.rows("2023-06").items() if d == "交通局"} == {"已报"}
    kept = sorted((office / "returns" / "2023-06").iterdir())
    assert len(kept) == 2 and {e.stored for e in events} == {p.name for p in kept}  # both returns kept


def test_forced_submission_with_explanation(office, tmp_path):
    f, master = fillin(office), office / MASTER
    spec = "附件2"

    def mismatch(wb):
        wb[spec][at(spec, 0, "一日办结事项数")] = 999  # parts no longer add up to 事项总数
        wb[INFO_SHEET]["B" + str(next(c.row for c in wb[INFO_SHEET]["A"] if c.value == "强制上报说明"))] = \
            "本月有3个事项暂停办理，经与市局核对，数据无误"

    outcome = collect.import_returns(master, [fill(f, tmp_path / "强制.xlsx", edit=mismatch)])
    (r,) = outcome.extra["collect"]["returns"]
    assert r["outcome"] == "已报" and r["forced"] and r["explanation"].startswith("本月有3个事项暂停办理")
    assert any(p["rule"] == "check.parts_sum_mismatch" for p in r["problems"])
    rows = {x["sheet"]: x for x in collect.status(master, write=False).extra["collect"]["rows"] if x["short"] == "交通局"}
    assert rows[spec]["reason"] == "强制上报：本月有3个事项暂停办理，经与市局核对，数据无误"
    assert any("强制上报" in line for line in outcome.report)
    # an explanation does not force a value error (a word in a count cell): still sent back
    bad = fill(f, tmp_path / "强制2.xlsx", edit=lambda wb: (mismatch(wb), set_text(
        wb, "附件6", at("附件6", 0, "部门报送数据"), "很多")))
    (r,) = collect.import_returns(master, [bad]).extra["collect"]["returns"]
    assert r["outcome"] == "退回"


def test_a_hand_edit_since_the_last_import_is_a_conflict(office, tmp_path):
    f, master = fillin(office), office / MASTER
    collect.import_returns(master, [fill(f, tmp_path / "一.xlsx")])
    wb = openpyxl.load_workbook(master)
    ws = wb["附件6"]
    row = next(r[0].row for r in ws.iter_rows() if "交通局" in (r[0].value, r[1].value))
    col = next(c.column for c in ws[2] if c.value == "部门报送数据")
    original = ws.cell(row, col).value
    ws.cell(row, col).value = 12345  # the clerk's correction by hand
    wb.save(master)
    resubmitted = fill(f, tmp_path / "二.xlsx", edit=lambda wb: (
        wb["附件6"].__setitem__(at("附件6", 0, "部门报送数据"), original + 1),
        wb["附件6"].__setitem__(at("附件6", 0, "电子监察数据"), 77)))
    outcome = collect.import_returns(master, [resubmitted])
    (r,) = outcome.extra["collect"]["returns"]
    assert r["outcome"] == "已报" and r["written"] == 1 and len(r["conflicts"]) == 1
    assert "12345" in r["conflicts"][0] and str(original + 1) in r["conflicts"][0]
    assert outcome.failed  # the clerk must look
    ws = openpyxl.load_workbook(master)["附件6"]
    assert ws.cell(row, col).value == 12345  # never silently overwritten
    monitored = next(c.column for c in ws[2] if c.value == "电子监察数据")
    assert ws.cell(row, monitored).value == 77
