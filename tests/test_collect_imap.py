"""The loop over real mail servers on 127.0.0.1: fill-in workbooks sent through aiosmtpd (STARTTLS, AUTH, never
twice), the departments' replies delivered into a real dovecot IMAP mailbox, and `collect import --imap` reading
them (STARTTLS and implicit TLS with the test's own certificate) — merged, a forged one refused, nothing imported
twice."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import openpyxl
import pytest
import yaml

from bulletin.actions import collect
from bulletin.adapters.xlsx_fillin import IDENTITY_SHEET
from bulletin.errors import UserError
from collect_fixtures import SECRET, blank_master, fill, sample_data
from conftest import ROOT, SAMPLE, require_tool
from imap_server import DOVECOT, IMAP_PASSWORD, IMAP_USER, start_dovecot
from mail_server import PASSWORD, USER, Recorder, make_certificate, start

pytestmark = require_tool("dovecot", DOVECOT, "apt-get install dovecot-imapd")
DATA = ROOT / "python" / "bulletin" / "data"
THREE = {"交通局": "jtj@yindu.example", "民宗局": "mzj@yindu.example", "残联": "cl@yindu.example"}


@pytest.fixture
def servers(tmp_path, monkeypatch):
    cert, key = make_certificate(tmp_path)
    recorder = Recorder()
    smtp = start(recorder, cert, key, auth=True)
    imap = start_dovecot(cert, key)
    try:
        config = tmp_path / "office-config"
        config.mkdir()
        mail = yaml.safe_load((DATA / "mail.yaml").read_text(encoding="utf-8"))
        mail["smtp"].update(host="127.0.0.1", port=smtp.port, security="starttls", user=USER, cafile=str(cert),
                            timeout_seconds=10)
        (config / "mail.yaml").write_text(yaml.safe_dump(mail, allow_unicode=True), encoding="utf-8")
        settings = yaml.safe_load((DATA / "collect.yaml").read_text(encoding="utf-8"))
        settings["imap"].update(host="127.0.0.1", port=imap.port, security="starttls", user=IMAP_USER,
                                cafile=str(cert), timeout_seconds=10)
        (config / "collect.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(config))
        monkeypatch.setenv("BULLETIN_SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("BULLETIN_IMAP_PASSWORD", IMAP_PASSWORD)
        monkeypatch.setenv(collect.SECRET_ENV, SECRET)
        monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")
        yield recorder, imap, config
    finally:
        smtp.stop()
        imap.stop()


def reply(sender: str, subject: str, attachment: tuple[str, bytes] | None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, IMAP_USER, f"回复：{subject}"
    msg["Date"] = "Wed, 05 Jul 2023 10:00:00 +0800"
    msg.set_content("数据已填好，请查收。")
    if attachment:
        msg.add_attachment(attachment[1], maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=attachment[0])
    return bytes(msg)


def test_sent_by_smtp_returned_by_imap_and_merged(servers, tmp_path):
    recorder, imap, config = servers
    master = blank_master(tmp_path / "通报数据-2023-06.xlsx")
    sent = collect.send(master, mail=True, only=list(THREE))
    assert not sent.failed, sent.report
    assert sorted(r.rcpt_tos[0] for r in recorder.received) == sorted(THREE.values())
    again = collect.send(master, mail=True, only=list(THREE))  # never sent twice
    assert len(recorder.received) == 3 and {d["mail"] for d in again.extra["collect"]["departments"]} == {"已发送过"}
    for r in recorder.received:
        msg = email.message_from_bytes(r.data, policy=email.policy.default)
        (part,) = list(msg.iter_attachments())
        name = part.get_filename()
        blank = tmp_path / "in" / name
        blank.parent.mkdir(exist_ok=True)
        blank.write_bytes(part.get_payload(decode=True))
        filled = fill(blank, tmp_path / "in" / f"filled-{name}")
        imap.deliver(reply(r.rcpt_tos[0], str(msg["Subject"]), (name, filled.read_bytes())))
    # a forged one, a message with no workbook, and one with a text file
    forged = fill(tmp_path / "in" / "报送-2023-06-交通局.xlsx", tmp_path / "in" / "forged.xlsx",
                  edit=lambda wb: wb[IDENTITY_SHEET].__setitem__("B2", "f" * 64))
    imap.deliver(reply("someone@elsewhere.example", "数据", ("报送-2023-06-交通局.xlsx", forged.read_bytes())))
    imap.deliver(reply("mzj@yindu.example", "问一下", None))
    imap.deliver(reply("cl@yindu.example", "说明", ("说明.txt", "文字".encode())))
    outcome = collect.import_returns(master, imap=True)
    results = outcome.extra["collect"]["returns"]
    by = {(r["who"], r["outcome"]) for r in results}
    assert by == {(a, "已报") for a in THREE.values()} | {("someone@elsewhere.example", "拒绝")}, results
    # the three departments' cells equal the June sample's
    data = sample_data()
    mine, june = openpyxl.load_workbook(master), openpyxl.load_workbook(SAMPLE)
    for sheet, inp in data.inputs.items():
        for rec in inp.records:
            if rec["_kind"] == "department" and rec.get("部门") in THREE:
                for c in inp.columns.values():
                    assert mine[sheet].cell(rec["_row"], c).value == june[sheet].cell(rec["_row"], c).value
    # read again: every attachment already imported (or refused again), nothing merged twice
    second = collect.import_returns(master, imap=True)
    assert {r["outcome"] for r in second.extra["collect"]["returns"]} == {"重复", "拒绝"}
    assert sum(r["outcome"] == "重复" for r in second.extra["collect"]["returns"]) == 3
    st = collect.status(master, write=False).extra["collect"]["rows"]
    assert {r["state"] for r in st if r["department"] in THREE} == {"已报"}


def test_imap_over_implicit_tls_and_a_wrong_password(servers, tmp_path, monkeypatch):
    recorder, imap, config = servers
    settings = yaml.safe_load((config / "collect.yaml").read_text(encoding="utf-8"))
    settings["imap"].update(port=imap.ssl_port, security="ssl")
    (config / "collect.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    master = blank_master(tmp_path / "通报数据-2023-06.xlsx")
    collect.send(master, only=["交通局"])
    filled = fill(tmp_path / "out" / "collect" / "2023-06" / "报送-2023-06-交通局.xlsx", tmp_path / "交通局.xlsx")
    imap.deliver(reply("zhang.san@private.example", "数据", (filled.name, filled.read_bytes())))
    outcome = collect.import_returns(master, imap=True)
    (r,) = outcome.extra["collect"]["returns"]
    assert (r["who"], r["outcome"]) == ("zhang.san@private.example", "已报")  # the signature vouches for the file
    assert r["notes"] == ["发件人 zhang.san@private.example 不是该单位在部门名录中登记的邮箱"]
    assert any("注意：发件人 zhang.san@private.example" in line for line in outcome.report)
    monkeypatch.setenv("BULLETIN_IMAP_PASSWORD", "wrong")
    with pytest.raises(UserError) as err:
        collect.import_returns(master, imap=True)
    assert "登录失败" in str(err.value)
