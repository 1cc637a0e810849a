"""Mail under faults, against a real SMTP server on 127.0.0.1 (aiosmtpd): drops before and after the
server's reply, 451, 550 for one address, a slow server, a client killed mid-batch. In every scenario,
after the re-runs: lost 0 (every department delivered, or named as not delivered with exit 1) and
duplicated 0 (no address gets a department's message twice unless --resend asked for it)."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from bulletin.config import load_registry
from conftest import SAMPLE
from mail_server import Recorder
from test_mail_send import FOUR, env, ledger, prepared, send, server, settings_for  # noqa: F401 (fixtures)


def addresses(short: str) -> tuple[str, ...]:
    return load_registry().get(short).emails


def assert_lost_0_duplicated_0(recorder: Recorder, outcome, *, resent: tuple[str, ...] = ()) -> None:
    """Every department got its message, or the last run failed and named it; nobody got it twice."""
    text = "\n".join([*outcome.report, *outcome.notes])
    for short in FOUR:
        got = recorder.count(addresses(short)[0])
        assert got <= (2 if short in resent else 1), (short, got)
        if got == 0:
            assert outcome.failed and outcome.exit_code == 1 and short in text, (short, text)


@pytest.mark.parametrize("fault, after, says, statuses", [
    ("drop_at_rcpt_after", 1, "邮件尚未发出", ["failed", "sent"]),  # the link lost before any data
    ("temp_fail_after", 0, "451 4.3.0", ["failed"] * 4),  # the server says: later
])
def test_refused_before_delivery_is_failed_and_the_rerun_delivers_it(env, server, fault, after, says, statuses):
    recorder, controller = server(Recorder(**{fault: after}))
    s = settings_for(env, controller, user="")
    outcome, _ = send(env, s)
    assert outcome.failed and says in "\n".join(outcome.report)
    assert sorted(v[0] for v in ledger(env).values()) == statuses
    assert_lost_0_duplicated_0(recorder, outcome)
    setattr(recorder, fault, None)
    outcome, _ = send(env, s)
    assert not outcome.failed and len(recorder.received) == 4
    assert_lost_0_duplicated_0(recorder, outcome)


def test_accepted_then_dropped_before_the_reply_is_uncertain_and_never_doubled(env, server):
    recorder, controller = server(Recorder(accept_then_drop_after=1))
    s = settings_for(env, controller, user="")
    outcome, _ = send(env, s)
    assert len(recorder.received) == 2 and outcome.failed and outcome.exit_code == 1
    (doubtful,) = [d for d, v in ledger(env).items() if v[0] == "uncertain"]
    assert doubtful in "\n".join(outcome.notes)
    recorder.accept_then_drop_after = None
    for _ in range(2):  # however often it is re-run, the uncertain message is not sent again
        outcome, _ = send(env, s)
        assert outcome.failed and outcome.exit_code == 1 and doubtful in "\n".join(outcome.report)
        assert_lost_0_duplicated_0(recorder, outcome)
    assert len(recorder.received) == 4 and all(recorder.count(addresses(d)[0]) == 1 for d in FOUR)
    outcome, _ = send(env, s, resend=[doubtful])  # the clerk checked: forced, and only it
    assert not outcome.failed and recorder.count(addresses(doubtful)[0]) == 2
    assert_lost_0_duplicated_0(recorder, outcome, resent=(doubtful,))


def test_550_for_one_address_still_delivers_to_the_other(env, server):
    first, second = addresses("人社局")  # 人社局 has two addresses
    recorder, controller = server(Recorder(refuse_rcpt=(second,)))
    s = settings_for(env, controller, user="")
    outcome, lines = send(env, s)
    report = "\n".join(outcome.report)
    assert recorder.count(first) == 1 and recorder.count(second) == 0
    assert outcome.failed and outcome.exit_code == 1 and f"人社局：{second}（550 5.1.1" in report
    assert ledger(env)["人社局"][0] == "sent" and len(recorder.received) == 4
    outcome, _ = send(env, s)  # the message went: not sent again to the address that took it
    assert recorder.count(first) == 1 and not outcome.failed


def test_every_address_refused_is_failed_before_the_data(env, server):
    recorder, controller = server(Recorder(refuse_rcpt=addresses("人社局")))
    s = settings_for(env, controller, user="")
    outcome, _ = send(env, s, only=["人社局", "交通局"])
    assert ledger(env)["人社局"][0] == "failed" and "拒绝了全部收件人" in "\n".join(outcome.report)
    assert recorder.count(addresses("交通局")[0]) == 1 and outcome.exit_code == 1


def test_a_server_slower_than_the_timeout_leaves_the_message_uncertain(env, server):
    recorder, controller = server(Recorder(delay=3))
    s = settings_for(env, controller, user="")
    s = dataclasses.replace(s, smtp=dataclasses.replace(s.smtp, timeout_seconds=1))
    outcome, _ = send(env, s, only=["交通局", "税务局"])
    time.sleep(3)  # the server's late answer: aiosmtpd drops the data of a connection the client has closed
    # the first message is the one in doubt; the batch stopped there, so the second was never offered
    assert outcome.failed and {d: v[0] for d, v in ledger(env).items()} == {"交通局": "uncertain"}
    assert "未发送（" in "\n".join(outcome.report) and "税务局" in outcome.report[-1]
    recorder.delay = 0
    outcome, _ = send(env, dataclasses.replace(s, smtp=dataclasses.replace(s.smtp, timeout_seconds=10)),
                      only=["交通局", "税务局"])
    # the one in doubt is not sent again by itself and stays named; the other goes once
    assert {d: v[0] for d, v in ledger(env).items()} == {"交通局": "uncertain", "税务局": "sent"}
    assert recorder.count(addresses("交通局")[0]) == 0 and recorder.count(addresses("税务局")[0]) == 1
    assert "待核实（未能确认送达，不会自动重发）：交通局" in outcome.report
    assert [(n.action, n.subject) for n in outcome.next] == [("resend", "交通局")]  # each front end words it
    assert outcome.failed  # the uncertain one is named until someone resends it


def test_a_client_killed_mid_batch_leaves_it_named_not_doubled(env, server):
    recorder, controller = server(Recorder(delay=30))
    cafile = str(env["cert"])
    command = [sys.executable, "-m", "bulletin", "mail", str(SAMPLE), "--history", str(env["history"]),
               "--out", str(env["out"]), "--send", "--host", "127.0.0.1", "--port", str(controller.port),
               "--security", "starttls", "--user", "", *sum((["--only", d] for d in FOUR), [])]
    child = subprocess.Popen(command, env={**os.environ, "SSL_CERT_FILE": cafile}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        assert recorder.in_data.wait(60), child.communicate(timeout=5)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    rows = ledger(env)
    assert [v[0] for v in rows.values()] == ["pending"]  # killed while the server held the first message
    (killed,) = rows
    recorder.delay = 0
    s = settings_for(env, controller, user="")
    outcome, _ = send(env, s)
    assert outcome.failed and outcome.exit_code == 1 and f"{killed}：上次发送中断" in "\n".join(outcome.report)
    assert_lost_0_duplicated_0(recorder, outcome)
    assert recorder.count(addresses(killed)[0]) == 0 and len(recorder.received) == 3


@pytest.mark.parametrize("fault", ["drop_after", "accept_then_drop_after", "drop_at_rcpt_after", "temp_fail_after",
                                   "refuse_after"])
@pytest.mark.parametrize("after", [0, 2])
def test_lost_0_duplicated_0_over_reruns(env, server, fault, after):
    """Each fault strikes once; the clerk re-runs until the run stops changing, then resends what the
    report names as uncertain (as the README tells): everybody has it exactly once."""
    recorder, controller = server(Recorder(**{fault: after}))
    s = settings_for(env, controller, user="")
    outcome, _ = send(env, s)
    assert_lost_0_duplicated_0(recorder, outcome)
    setattr(recorder, fault, None)
    outcome, _ = send(env, s)
    assert_lost_0_duplicated_0(recorder, outcome)
    doubtful = [d for d, v in ledger(env).items() if v[0] in ("uncertain", "pending")]
    undelivered = [d for d in doubtful if recorder.count(addresses(d)[0]) == 0]
    if undelivered:
        outcome, _ = send(env, s, resend=undelivered)
    assert all(recorder.count(addresses(d)[0]) == 1 for d in FOUR), [r.rcpt_tos for r in recorder.received]
