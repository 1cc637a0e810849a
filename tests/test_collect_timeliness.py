"""报送及时性 in the bulletin: the units late by more than rules.yaml's `timeliness.late_days` or missing at the
bulletin's date, from the submission ledger, with streaks, said in 存在问题's 配合度 paragraph before what the
文字素材 sheet adds; without a ledger the text is as before."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bulletin import actions
from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.config import load_rules_file
from bulletin.core import collect as core
from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"


def record(history, month, deadline, rows):
    """Ledger rows as the collect steps leave them: (department, annex, state, submitted date or None)."""
    with CollectLedger(history) as ledger:
        with ledger.batch(f"{deadline.isoformat()}T09:00:00") as b:
            b.set_deadline(month, deadline)
        for dept, sheet, state, submitted in rows:
            at = f"{(submitted or deadline).isoformat()}T10:00:00"
            with ledger.batch(at) as b:
                b.state(month, dept, sheet, state, sent=True, submitted=submitted is not None)


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.sqlite"
    actions.import_month(MAY, None, path)
    may, june = dt.date(2023, 6, 7), dt.date(2023, 7, 7)
    record(path, "2023-05", may, [("民宗局", "附件1", "已发", None), ("商务局", "附件1", "已报", dt.date(2023, 6, 8)),
                                  ("交通局", "附件1", "已报", dt.date(2023, 6, 6))])
    record(path, "2023-06", june, [
        ("民宗局", "附件1", "已发", None),  # missing two months running
        ("商务局", "附件1", "已报", dt.date(2023, 7, 12)),  # 5 days late (May: 1 day, within the 3 allowed)
        ("商务局", "附件2", "已报", dt.date(2023, 7, 7)),
        ("交通局", "附件1", "已报", dt.date(2023, 7, 9)),  # 2 days late: within the threshold
        ("金融局", "附件1", "退回", dt.date(2023, 7, 6)),  # sent back, not resubmitted: missing
        ("统计局", "附件1", "无需报送", None),  # nothing to report is not missing
    ])
    return path


def test_lateness_from_the_ledger(history, monkeypatch):
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-14")
    from bulletin.adapters.collect_ledger import read_ledger

    rows, deadlines = read_ledger(history)
    late = core.lateness("2023-06", rows, deadlines, dt.date(2023, 7, 14), load_rules_file().timeliness)
    assert {x.department: (x.days, x.missing, x.months) for x in late} == {
        "民宗局": (7, True, 2), "商务局": (5, False, 1), "金融局": (7, True, 1)}


def test_the_text_names_them_before_the_staff_paragraph(history, tmp_path, monkeypatch):
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-14")
    book = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, book)
    text = actions.narrate(book, None, history).narrative["存在问题"]
    assert ("一是个别单位本月数据报送不及时，如：民宗局截至通报时仍未报送（连续2个月未按时报送）、商务局逾期5天报送、"
            "金融办截至通报时仍未报送；二是结合日常工作，个别单位存在报送不及时、不主动的现象") in text


def test_without_a_ledger_the_text_is_as_before(tmp_path):
    path = tmp_path / "history.sqlite"
    actions.import_month(MAY, None, path)
    text = actions.narrate(SAMPLE, None, path).narrative["存在问题"]
    assert "一是结合日常工作，个别单位存在报送不及时、不主动的现象" in text and "本月数据报送不及时" not in text


def test_before_the_deadline_nobody_is_missing(history):
    from bulletin.adapters.collect_ledger import read_ledger

    rows, deadlines = read_ledger(history)
    late = core.lateness("2023-06", rows, deadlines, dt.date(2023, 7, 7), load_rules_file().timeliness)
    assert late == []  # on the deadline day: 商务局's return of the 12th had not come yet either
