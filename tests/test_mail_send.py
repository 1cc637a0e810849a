"""Sending against a real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS and implicit TLS with a certificate
made by the test, AUTH, fault injection (refused / dropped after N messages), the send ledger, refusals."""
from __future__ import annotations

import dataclasses
import shutil
import sqlite3

import docx
import openpyxl
import pytest

from bulletin import actions
from bulletin.actions.mail import load_mail_settings
from bulletin.adapters.mail_ledger import MailLedger
from bulletin.cli import main
from bulletin.config import load_registry
from conftest import SAMPLE
from mail_server import PASSWORD, USER, Recorder, make_certificate, start

MAY = SAMPLE.parents[1] / "2023-05" / "通报数据-2023-05.xlsx"
FOUR = ["人社局", "公安分局", "交通局", "税务局"]  # 人社局 has two addresses


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mail")
    actions.import_month(MAY, history=folder / "history.sqlite")
    cert, key = make_certificate(folder)
    return folder, cert, key


@pytest.fixture
def env(prepared, tmp_path, monkeypatch):
    folder, cert, key = prepared
    history = tmp_path / "history.sqlite"
    shutil.copy(folder / "history.sqlite", history)
    monkeypatch.setenv("BULLETIN_SMTP_PASSWORD", PASSWORD)
    return {"history": history, "out": tmp_path / "out", "cert": cert, "key": key, "tmp": tmp_path}


@pytest.fixture
def server(env):
    servers = []

    def make(recorder: Recorder | None = None, **kw):
        recorder = recorder or Recorder()
        controller = start(recorder, env["cert"], env["key"], **kw)
        servers.append(controller)
        return recorder, controller
    yield make
    for c in servers:
        c.stop()


def settings_for(env, controller, *, security="starttls", user=USER, **changes):
    s = load_mail_settings().with_overrides(host="127.0.0.1", port=controller.port, security=security, user=user)
    s = dataclasses.replace(s, smtp=dataclasses.replace(s.smtp, cafile=str(env["cert"]), timeout_seconds=10))
    return dataclasses.replace(s, **changes)


def send(env, settings, **kw):
    lines = []
    kw.setdefault("only", FOUR)
    outcome = actions.mail_send(SAMPLE, history=env["history"], out_dir=env["out"], settings=settings,
                                progress=lines.append, **kw)
    return outcome, lines


def ledger(env) -> dict[str, tuple]:
    with sqlite3.connect(env["history"]) as conn:
        rows = conn.execute("SELECT department, status, attempts, answer FROM mail_ledger WHERE month = '2023-06'"
                            " ORDER BY department").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_each_department_gets_its_own_part_over_starttls_with_auth(env, server):
    document = docx.Document()
    document.add_paragraph("殷都区2023年6月政务服务能力提升情况通报")
    env["out"].mkdir()
    document.save(env["out"] / "通报-2023-06.docx")  # the 通报 issue's output, attached when present
    recorder, controller = server(auth=True)
    outcome, lines = send(env, settings_for(env, controller))
    assert not outcome.failed, outcome.report
    assert recorder.logins == [USER] and len(recorder.received) == 4
    registry, by_rcpt = load_registry(), recorder.by_recipient()
    folder = env["out"] / "mail" / "2023-06"
    for short in FOUR:
        dept = registry.get(short)
        got = by_rcpt[dept.emails[0]]
        assert got.rcpt_tos == list(dept.emails) and got.mail_from == "fgb@yindu.example"
        msg = got.message
        assert msg["Subject"] == f"殷都区2023年6月政务服务能力提升情况通报——{short}数据摘录"
        assert msg["X-Unsent"] is None and msg["To"] == ", ".join(dept.emails)
        body = msg.get_body(("plain",)).get_content()
        assert body.startswith(f"{dept.full}：") and "通报数据-2023-06-" + short + ".xlsx" in body
        files = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
        assert files == {f"通报数据-2023-06-{short}.xlsx": (folder / f"通报数据-2023-06-{short}.xlsx").read_bytes(),
                         "通报-2023-06.docx": (env["out"] / "通报-2023-06.docx").read_bytes()}
    assert by_rcpt["rsj@yindu.example"].rcpt_tos == ["rsj@yindu.example", "rsj-bgs@yindu.example"]
    assert [line.split()[0] for line in lines] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert "已发送 4 封" in "\n".join(outcome.report)
    assert {d: s[:2] for d, s in ledger(env).items()} == {d: ("sent", 1) for d in ["人社局", "公安分局", "交通局", "税务局"]}
    assert all(s[2].startswith("250 2.0.0 OK queued as T") for s in ledger(env).values())
    # the password is nowhere: not in the history file, not in any output
    for path in [env["history"], *env["out"].rglob("*")]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_second_run_sends_nothing_and_resend_forces_one(env, server):
    recorder, controller = server()
    s = settings_for(env, controller, user="")  # no login: a relay inside the network
    assert not send(env, s)[0].failed
    outcome, _ = send(env, s)
    assert len(recorder.received) == 4 and "跳过（已发送过或待核实）4 个" in "\n".join(outcome.report)
    outcome, lines = send(env, s, resend=["殷都区人力资源和社会保障局"])
    assert len(recorder.received) == 5 and recorder.received[-1].rcpt_tos[0] == "rsj@yindu.example"
    assert ledger(env)["人社局"][:2] == ("sent", 2) and ledger(env)["交通局"][:2] == ("sent", 1)


def test_refused_after_n_then_the_next_run_sends_exactly_the_rest(env, server):
    recorder, controller = server(Recorder(refuse_after=2))
    s = settings_for(env, controller, user="")
    outcome, lines = send(env, s)
    report = "\n".join(outcome.report)
    assert outcome.failed and outcome.exit_code == 1
    assert "已发送 2 封" in report and "失败 2 个" in report and "554 5.7.1 refused by the test" in report
    first = {r.rcpt_tos[0] for r in recorder.received}
    recorder.refuse_after = None
    outcome, _ = send(env, s)
    assert not outcome.failed
    second = {r.rcpt_tos[0] for r in recorder.received[2:]}
    assert len(recorder.received) == 4 and first.isdisjoint(second)
    assert first | second == {load_registry().get(d).emails[0] for d in FOUR}
    rows = ledger(env)
    assert sorted(rows) == sorted(FOUR) and {s[0] for s in rows.values()} == {"sent"}
    assert sorted(s[1] for s in rows.values()) == [1, 1, 2, 2]


def test_connection_dropped_after_the_data_is_uncertain_never_resent_by_itself(env, server):
    recorder, controller = server(Recorder(drop_after=1))
    s = settings_for(env, controller, user="")
    outcome, lines = send(env, s)
    report = "\n".join(outcome.report)
    assert outcome.failed and outcome.exit_code == 1 and "连接中断" in report and "已发送 1 封" in report
    assert "待核实" in report and "未发送 2 个" in report
    assert sorted(s[0] for s in ledger(env).values()) == ["sent", "uncertain"]
    (doubtful,) = [d for d, s in ledger(env).items() if s[0] == "uncertain"]
    recorder.drop_after = None
    outcome, _ = send(env, s)  # the two never sent go; the uncertain one is named, not sent
    assert outcome.failed and outcome.exit_code == 1 and len(recorder.received) == 3
    assert f"待核实（未能确认送达，不会自动重发）：{doubtful}" in outcome.report
    assert [n.action for n in outcome.next if n.subject == doubtful] == ["resend"]
    assert len({r.rcpt_tos[0] for r in recorder.received}) == 3  # nobody twice
    outcome, _ = send(env, s, resend=[doubtful])
    assert not outcome.failed and len(recorder.received) == 4
    assert {s[0] for s in ledger(env).values()} == {"sent"} and len(ledger(env)) == 4


def test_a_message_left_pending_by_a_killed_run_is_not_sent_again_unless_forced(env, server):
    recorder, controller = server()
    s = settings_for(env, controller, user="")
    with MailLedger(env["history"]) as book:  # what a run killed between "pending" and "sent" leaves
        book.pending("2023-06", "交通局", "0" * 64, "jtj@yindu.example")
    outcome, _ = send(env, s)
    assert {r.rcpt_tos[0] for r in recorder.received} == {"rsj@yindu.example", "gafj@yindu.example",
                                                          "shuiwuju@yindu.example"}
    assert "交通局：上次发送中断" in "\n".join(outcome.report)
    assert outcome.failed and outcome.exit_code == 1  # a message left pending is named, and the run is not ok
    send(env, s, resend=["交通局"])
    assert recorder.received[-1].rcpt_tos == ["jtj@yindu.example"] and ledger(env)["交通局"][:2] == ("sent", 2)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the transport is TLS already
def test_implicit_tls_with_auth(env, server):
    recorder, controller = server(mode="ssl", auth=True)
    s = settings_for(env, controller, security="ssl")
    outcome, _ = send(env, s, only=["交通局"])
    assert not outcome.failed and recorder.logins == [USER]
    assert recorder.received[0].message["Subject"].endswith("交通局数据摘录")


def test_wrong_password_sends_nothing(env, server, monkeypatch):
    recorder, controller = server(auth=True)
    monkeypatch.setenv("BULLETIN_SMTP_PASSWORD", "wrong")
    outcome, lines = send(env, settings_for(env, controller))
    assert outcome.failed and recorder.received == [] and ledger(env) == {}
    assert "登录邮件服务器" in "\n".join(outcome.report) and "未发送 4 个" in "\n".join(outcome.report)


def test_untrusted_certificate_is_refused(env, server):
    recorder, controller = server()
    s = settings_for(env, controller, user="")
    s = dataclasses.replace(s, smtp=dataclasses.replace(s.smtp, cafile=""))  # system CAs: self-signed refused
    outcome, _ = send(env, s)
    assert outcome.failed and recorder.received == [] and "加密连接失败" in "\n".join(outcome.report)


def test_password_from_the_os_keyring(env, server, monkeypatch):
    import keyring
    from keyring.backend import KeyringBackend

    class Store(KeyringBackend):  # the keyring package's own extension point, holding one entry
        priority = 1

        def get_password(self, service, username):
            return PASSWORD if (service, username) == ("bulletin-smtp", USER) else None

        def set_password(self, service, username, password):
            raise NotImplementedError

        def delete_password(self, service, username):
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(Store())
    try:
        monkeypatch.delenv("BULLETIN_SMTP_PASSWORD")
        recorder, controller = server(auth=True)
        outcome, _ = send(env, settings_for(env, controller), only=["交通局"])
        assert not outcome.failed and recorder.logins == [USER]
        with pytest.raises(actions.UsageError, match="未找到邮箱 other@yindu.example 的发信密码") as raised:
            send(env, settings_for(env, controller, user="other@yindu.example"), only=["交通局"])
        assert [(n.action, n.subject) for n in raised.value.next] == [("set_password", "other@yindu.example")]
    finally:
        keyring.set_keyring(previous)


def test_refusals_are_decided_before_anything_is_sent(env, server):
    recorder, controller = server()
    s = settings_for(env, controller, user="")
    outcome, lines = send(env, s, only=["交通局", "刻章公司"])  # 刻章公司 has no address
    assert lines[0].startswith("拒绝 刻章公司：部门名录中未登记邮箱") and lines[1].startswith("[1/1] 交通局 已发送")
    assert outcome.failed and [r.rcpt_tos for r in recorder.received] == [["jtj@yindu.example"]]
    assert "刻章公司" not in ledger(env)
    outcome, _ = send(env, dataclasses.replace(s, attachment_limit_kb=1), only=["人社局"])
    assert outcome.failed and "超过上限 1 KB" in "\n".join(outcome.report) and len(recorder.received) == 1
    outcome, _ = send(env, dataclasses.replace(s, cc=("boss@qq.example",)), only=["人社局"])
    assert "抄送地址“boss@qq.example”不在部门名录中" in "\n".join(outcome.report) and len(recorder.received) == 1
    assert "人社局" not in ledger(env)


def test_the_workbook_params_sheet_sets_server_and_cc(env, server):
    recorder, controller = server()
    wb = openpyxl.load_workbook(SAMPLE)
    if "参数" in wb.sheetnames:  # the sample's own 参数 rows are replaced by these
        del wb["参数"]
    ws = wb.create_sheet("参数")
    for row in (["参数", "值", "说明"], ["邮件服务器", "127.0.0.1", None], ["邮件端口", controller.port, None],
                ["邮件加密", "STARTTLS", None], ["邮件抄送", "fgb@yindu.example", None]):
        ws.append(row)
    book = env["tmp"] / "通报数据-2023-06.xlsx"
    wb.save(book)
    s = load_mail_settings()
    s = dataclasses.replace(s, smtp=dataclasses.replace(s.smtp, cafile=str(env["cert"])))
    outcome = actions.mail_send(book, history=env["history"], out_dir=env["out"], settings=s, only=["交通局"])
    assert not outcome.failed, outcome.report
    assert recorder.received[0].rcpt_tos == ["jtj@yindu.example", "fgb@yindu.example"]
    assert recorder.received[0].message["Cc"] == "fgb@yindu.example"
    ws.append(["邮件抄送", "boss@qq.example", None])  # a later row wins: an address outside the registry
    wb.save(book)
    outcome = actions.mail_send(book, history=env["history"], out_dir=env["out"], settings=s, only=["税务局"])
    assert outcome.failed and len(recorder.received) == 1


def test_cli_missing_password_is_a_usage_error(env, capsys, monkeypatch):
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring  # what a headless machine has

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    monkeypatch.delenv("BULLETIN_SMTP_PASSWORD")
    try:
        code = main(["mail", str(SAMPLE), "--history", str(env["history"]), "--out", str(env["out"]), "--send",
                     "--user", "fgb@yindu.example", "--only", "交通局"])
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err
    assert code == 2 and "错误：未找到邮箱 fgb@yindu.example 的发信密码" in err and "Traceback" not in err
    assert "请设置环境变量 BULLETIN_SMTP_PASSWORD，或用命令 keyring set bulletin-smtp fgb@yindu.example" in err
