"""The pure mail core: settings (unknown keys refused, 参数 overrides), sentences naming a department,
the send decision from the ledger, and the refusal checks."""
from __future__ import annotations

import pytest

from bulletin.actions.mail import load_mail_settings
from bulletin.config import load_registry
from bulletin.core.mailing import (SEND, SKIP_PENDING, SKIP_SENT, MailSettings, MailSettingsError, decide, named_in,
                                   refusals, spellings, split_sentences)

BASE = {"visibility": "own", "attachment_limit_kb": 100, "sender": "fgb@yindu.example", "sender_name": "放管服办",
        "cc": [], "smtp": {"host": "smtp.yindu.example", "port": 465, "security": "ssl"}}


def test_packaged_settings_load():
    s = load_mail_settings()
    assert (s.visibility, s.smtp.security, s.smtp.port) == ("own", "ssl", 465)
    assert s.smtp.password_env == "BULLETIN_SMTP_PASSWORD"


@pytest.mark.parametrize("bad, words", [
    ({**BASE, "visiblity": "own"}, "visiblity"),
    ({**BASE, "smtp": {**BASE["smtp"], "password": "x"}}, "password"),
    ({**BASE, "visibility": "others"}, "visibility"),
    ({**BASE, "smtp": {**BASE["smtp"], "security": "tls"}}, "ssl 或 starttls"),
    ({**BASE, "smtp": {**BASE["smtp"], "port": "abc"}}, "不是数字"),
    ({**BASE, "sender": "not an address"}, "sender"),
])
def test_settings_refuse_unknown_keys_and_bad_values(bad, words):
    with pytest.raises(MailSettingsError, match=words):
        MailSettings.from_dict(bad)


def test_params_sheet_overrides_server_and_refuses_unknown_mail_keys():
    s = MailSettings.from_dict(BASE)
    t = s.with_params({"邮件服务器": "mail.gov.example", "邮件端口": 587.0, "邮件加密": "STARTTLS",
                       "邮件用户": "fgb@yindu.example", "发文字号": "殷放管服办〔2023〕18号"})  # others' keys pass
    assert (t.smtp.host, t.smtp.port, t.smtp.security, t.smtp.user) == ("mail.gov.example", 587, "starttls",
                                                                          "fgb@yindu.example")
    assert t.with_overrides(port=2525).smtp.port == 2525 and t.smtp.port == 587
    with pytest.raises(MailSettingsError, match="邮件服务器地址"):
        s.with_params({"邮件服务器地址": "x"})


def test_sentences_split_at_full_stops_and_semicolons():
    text = "一是甲；二是乙。三是丙"
    assert split_sentences(text) == ["一是甲；", "二是乙。", "三是丙"]


def test_a_sentence_names_departments_by_any_spelling_longest_first():
    spelled = spellings(load_registry())
    # 城管局 is 城市管理局's short name, 金融办 金融局's; 市场监管殷都大队 is not 市场监管局
    found = named_in("涉及城管局、金融办、市场监管殷都大队和殷都区人力资源和社会保障局", spelled)
    assert found == {"城市管理局", "金融局", "市场监管殷都大队", "人社局"}
    assert named_in("公安窗口、医保窗口积极邀评", spelled) == set()


def test_decide_sends_once_and_only_forced_again():
    assert decide(None, None, "h1", forced=False)[0] == SEND
    assert decide("failed", "h1", "h1", forced=False)[0] == SEND
    action, note = decide("sent", "h1", "h1", forced=False)
    assert action == SKIP_SENT and "已发送过" in note and "变化" not in note
    assert "内容有变化" in decide("sent", "h1", "h2", forced=False)[1]
    assert decide("pending", "h1", "h1", forced=False)[0] == SKIP_PENDING
    assert decide("sent", "h1", "h1", forced=True)[0] == SEND
    assert decide("pending", "h1", "h1", forced=True)[0] == SEND


def test_refusals():
    registry = load_registry()
    s = MailSettings.from_dict(BASE)
    rsj = registry.get("人社局")
    assert refusals(rsj, rsj.emails, (), [("a.xlsx", 1000)], registry, s) == []
    assert refusals(rsj, rsj.emails, ("jtj@yindu.example", "fgb@yindu.example"), [], registry, s) == []
    assert "未登记邮箱" in refusals(registry.get("刻章公司"), (), (), [], registry, s)[0]
    assert "不是部门名录中本单位登记的邮箱" in refusals(rsj, ("jtj@yindu.example",), (), [], registry, s)[0]
    assert "不在部门名录中" in refusals(rsj, rsj.emails, ("boss@qq.example",), [], registry, s)[0]
    assert "格式不对" in refusals(rsj, ("rsj@",), (), [], registry, s)[0]
    assert "超过上限 100 KB" in refusals(rsj, rsj.emails, (), [("通报.pdf", 100 * 1024 + 1)], registry, s)[0]
