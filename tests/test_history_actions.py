"""The month compared against, through the actions that load the history file: a history of three distinct
months (June's own figures, a third set, May's) gives June against May — the printed bulletin's −2.51 and
−1.92 — and a history without May says so. Months are made by tests/test_history_choice.py's month_of."""
from __future__ import annotations

from pathlib import Path

import pytest

from bulletin.actions import month as actions
from bulletin.adapters.history_sqlite import History
from bulletin.errors import UsageError

from conftest import SAMPLE
from test_history_choice import MAY, instant_change, month_of


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A history file of 2023-03 (June's figures), 2023-04 (a third set) and 2023-05 (May's)."""
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    with History(path) as h:
        h.store(month_of(SAMPLE, "2023-03"))
        h.store(month_of(SAMPLE, "2023-04", other=True))
        h.store(month_of(MAY, "2023-05"))
    return path


def test_the_compare_action_loads_the_history_and_uses_may(history):
    outcome = actions.compare_cmd(SAMPLE, history=history)
    assert outcome.analysis.previous.month == "2023-05"
    assert instant_change(outcome.analysis) == -2.51
    assert outcome.json()["previous_month"] == "2023-05"
    assert any("已与 2023-05 比较" in n for n in outcome.notes)


def test_the_narrative_says_mays_figures(history):
    outcome = actions.narrate(SAMPLE, history=history)
    text = outcome.narrative["总体情况"]
    assert "即办件占比为62.71%，较5月份降低2.51%" in text
    assert "时限压缩比例为92.25%，较5月份降低1.92%" in text


def test_a_history_without_last_month_says_so(tmp_path):
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        h.store(month_of(MAY, "2023-04"))
    with pytest.raises(UsageError) as err:
        actions.compare_cmd(SAMPLE, history=path)
    assert "历史库中没有上月（2023-05）的数据（已存月份：2023-04）。" == str(err.value)
    outcome = actions.narrate(SAMPLE, history=path)
    assert outcome.analysis.previous is None and outcome.analysis.comparison is None


def test_recalc_with_a_gap_notes_there_is_no_comparison(tmp_path):
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        h.store(month_of(MAY, "2023-04"))
    outcome = actions.recalc(SAMPLE, tmp_path / "out", history=path)
    assert "历史库中没有上月（2023-05）的数据，本次不做环比。" in outcome.notes
