"""core/numbers and the places the office prints a rounded figure, with expected values written by hand.

The office rounds half up (0.125 → 0.13), on the decimal value a figure has, not on its binary float: 2.675 is
stored as 2.67499999… and is printed 2.68. Python's round() is banker's rounding on the float (0.12, 2.67),
so every expectation here is a literal, never round() or the code under test.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from bulletin.core.compare import change_of, drivers_of
from bulletin.core.numbers import (BadNumber, clean_text, has_invisible, is_blank, parse_date, parse_number, present,
                                   round_half_up, to_decimal, visible)
from bulletin.core.recompute import evaluate, exact, side_sum, total_of
from bulletin.spec import annex


@pytest.mark.parametrize("value, places, expected", [
    (0.125, 2, 0.13), (0.135, 2, 0.14), (2.675, 2, 2.68), (1.005, 2, 1.01), (3.125, 2, 3.13),
    (0.5, 0, 1.0), (1.5, 0, 2.0), (2.5, 0, 3.0), (0.25, 1, 0.3), (0.35, 1, 0.4),
    (-0.125, 2, -0.13), (-2.675, 2, -2.68), (-3.125, 2, -3.13), (-0.5, 0, -1.0),
    (62.7129, 2, 62.71), (62.715, 2, 62.72), (99.995, 2, 100.0), (0.0049, 2, 0.0), (0.005, 2, 0.01),
    (12.3456785, 6, 12.345679), (1.23456785, 7, 1.2345679), (7, 2, 7.0),
])
def test_round_half_up_ties_go_up_on_the_decimal_value(value, places, expected):
    got = round_half_up(value, places)
    assert got == expected and isinstance(got, float)


def test_round_half_up_of_a_decimal_and_of_nothing():
    assert round_half_up(Decimal("3.125")) == 3.13
    assert round_half_up(Decimal("-1.925")) == -1.93
    assert round_half_up(Decimal(1) / Decimal(32) * 100) == 3.13  # 3.125 exactly
    assert round_half_up(None) is None
    assert round_half_up(0.125) == 0.13  # two places unless told


def test_a_ratio_of_one_in_thirty_two_is_printed_3_13():
    col = annex(1).column("即办件事项占比")
    assert evaluate(col, {"即办件事项数": 1, "事项总数": 32}) == 3.13
    assert evaluate(col, {"即办件事项数": 1, "事项总数": 8}) == 12.5
    assert evaluate(col, {"即办件事项数": 1, "事项总数": 800}) == 0.13  # 0.125
    assert evaluate(col, {"即办件事项数": 107, "事项总数": 4000}) == 2.68  # 2.675
    assert exact(col, {"即办件事项数": 1, "事项总数": 32}) == Decimal("3.125")


def test_a_compression_ratio_subtracts_its_second_term():
    col = annex(2).column("压缩比例")
    # (32 − 31) / 32 = 3.125 %: the minus sign of "-承诺时限" is read
    assert evaluate(col, {"法定时限（工作日）": 32, "承诺时限（工作日）": 31}) == 3.13
    assert side_sum(("法定时限（工作日）", "-承诺时限（工作日）"), {"法定时限（工作日）": 32, "承诺时限（工作日）": 31}) == 1
    assert evaluate(col, {"法定时限（工作日）": 0, "承诺时限（工作日）": 0}) is None  # no ratio of nothing
    assert evaluate(col, {"法定时限（工作日）": 32, "承诺时限（工作日）": None}) is None


def test_a_district_total_ratio_is_recomputed_from_the_summed_parts():
    spec = annex(1)
    rows = [{"事项总数": 16, "不见面审批事项占比": 100, "即办件事项数": 1},
            {"事项总数": 16, "不见面审批事项占比": 100, "即办件事项数": 0}]
    total = total_of(spec, rows)
    assert total["事项总数"] == 32 and total["即办件事项数"] == 1
    assert total["即办件事项占比"] == 3.13  # 1/32, not the mean of 6.25 and 0


@pytest.mark.parametrize("current, previous, change", [
    (3.125, 0.0, 3.13), (0.0, 3.125, -3.13), (10.0, 12.125, -2.13), (2.675, 0.0, 2.68),
    (62.7129, 65.2174, -2.51), (92.2457, 94.1667, -1.92), (50.005, 50.0, 0.01), (49.995, 50.0, 0.0),
    (-0.125, 0.0, -0.13),
])
def test_ratio_changes_are_from_the_printed_figures_rounded_half_up(current, previous, change):
    got = change_of("ratio", current, previous)
    assert got["change"] == change and got["change_pct"] is None
    assert got["direction"] == ("上升" if change > 0 else "下降" if change < 0 else "无变化")


@pytest.mark.parametrize("current, previous, change, pct", [
    (33, 32, 1, 3.13), (31, 32, -1, -3.13), (1001, 800, 201, 25.13), (599, 800, -201, -25.13),
    (41327, 40890, 437, 1.07), (205509, 168583, 36926, 21.9), (5, 5, 0, 0.0),
])
def test_count_changes_in_percent_are_rounded_half_up(current, previous, change, pct):
    got = change_of("count", current, previous)
    assert got["change"] == change and isinstance(got["change"], int)
    assert got["change_pct"] == pct


def test_a_change_of_a_count_that_is_not_whole():
    got = change_of("number", 14.5, 12.25)
    assert got["change"] == 2.25 and got["change_pct"] == 18.37  # 2.25 / 12.25 = 18.367…
    got = change_of("number", 0.3, 0.1)
    assert got["change"] == 0.2 and got["direction"] == "上升"  # not 0.19999999999999998
    got = change_of("count", 10.5, 10)
    assert got["change"] == 0.5 and not isinstance(got["change"], int)


def test_a_change_between_a_whole_and_a_fraction_is_decimal():
    assert change_of("number", 10, 9.7)["change"] == 0.3  # not 0.3000000000000007
    assert change_of("number", 9.7, 10)["change"] == -0.3
    assert change_of("number", 1.2345, 1.0)["change"] == 0.2345  # six places kept
    assert change_of("number", 1.0000005, 1.0)["change"] == 0.000001  # the seventh rounded half up
    assert change_of("count", 2 ** 40, 2 ** 40 - 3)["change"] == 3


def test_from_zero_and_to_zero():
    assert change_of("count", 3, 0)["from_zero"] and not change_of("count", 3, 0)["to_zero"]
    assert change_of("count", 0, 3)["to_zero"] and not change_of("count", 0, 3)["from_zero"]
    assert not change_of("count", 0, 0)["from_zero"] and not change_of("count", 0, 0)["to_zero"]
    assert change_of("count", 0, 0)["change_pct"] is None
    assert change_of("count", 3, 0)["change_pct"] is None
    nothing = change_of("ratio", 1.0, None)
    assert nothing == {"change": None, "change_pct": None, "direction": "无数据", "from_zero": False,
                       "to_zero": False}
    assert change_of("ratio", float("nan"), 1.0)["direction"] == "无数据"


def test_drivers_split_a_tie_half_up():
    """Two departments, the district 1/32 → 2/32 (3.125 % → 6.25 %): A's new item moves it 3.125 pp."""
    spec = annex(1)
    col = spec.column("即办件事项占比")
    prev = [{"部门": "A", "事项总数": 16, "即办件事项数": 0, "即办件事项占比": 0.0},
            {"部门": "B", "事项总数": 16, "即办件事项数": 1, "即办件事项占比": 6.25}]
    cur = [{"部门": "A", "事项总数": 16, "即办件事项数": 1, "即办件事项占比": 6.25},
           {"部门": "B", "事项总数": 16, "即办件事项数": 1, "即办件事项占比": 6.25}]
    drivers = drivers_of(spec, col, cur, prev, {"事项总数": 32, "即办件事项数": 1})
    assert [(d.department, d.effect, d.previous, d.current) for d in drivers] == [
        ("A", 3.13, 0.0, 6.25), ("B", 0.0, 6.25, 6.25)]


def test_drivers_when_this_month_has_no_denominator_or_a_denominator_of_one():
    spec = annex(1)
    col = spec.column("即办件事项占比")
    prev = [{"部门": "A", "事项总数": 4, "即办件事项数": 1}]
    nothing = [{"部门": "A", "事项总数": 0, "即办件事项数": 0}]
    assert drivers_of(spec, col, nothing, prev, {"事项总数": 4, "即办件事项数": 1}) == []
    one = [{"部门": "A", "事项总数": 1, "即办件事项数": 1}]
    # 1/4 → 1/1: (1 − 1) − 1/4·(1 − 4) = 3/4, over 1 → 75 pp, the whole move
    assert [(d.department, d.effect) for d in drivers_of(spec, col, one, prev, {"事项总数": 4, "即办件事项数": 1})] == [
        ("A", 75.0)]


def test_drivers_of_a_department_that_left():
    """B (8 items, 4 instant) reports no more: the district goes from 5/24 to 1/16 (20.83 % → 6.25 %)."""
    spec = annex(1)
    col = spec.column("即办件事项占比")
    prev = [{"部门": "A", "事项总数": 16, "即办件事项数": 1}, {"部门": "B", "事项总数": 8, "即办件事项数": 4}]
    cur = [{"部门": "A", "事项总数": 16, "即办件事项数": 1}]
    drivers = drivers_of(spec, col, cur, prev, {"事项总数": 24, "即办件事项数": 5})
    # B: (0 − 4) − 5/24·(0 − 8) = −4 + 5/3 = −7/3, over 16 → −14.583… pp; A: 0
    assert [(d.department, d.effect) for d in drivers] == [("B", -14.58), ("A", 0.0)]
    assert drivers_of(spec, col, cur, prev, None) == []
    assert drivers_of(spec, col, cur, prev, {"事项总数": 0, "即办件事项数": 0}) == []
    assert drivers_of(spec, spec.column("事项总数"), cur, prev, {"事项总数": 24, "即办件事项数": 5}) == []


@pytest.mark.parametrize("raw, expected", [
    ("１２３", 123), ("28,079", 28079), (" 45 ", 45), ("1,234,567.5", 1234567.5), ("+7", 7), ("-3", -3),
    (".5", 0.5), ("5.", 5), (12, 12), (2.5, 2.5), (Decimal("1.25"), 1.25), ("4\n", 4), ("0", 0),
])
def test_parse_number_normalises_what_is_unambiguous(raw, expected):
    got = parse_number(raw)
    assert got == expected and isinstance(got, float)


@pytest.mark.parametrize("raw, expected", [
    ("62.71%", 62.71), ("62.71", 62.71), (62.71, 62.71), (0.6271, 62.71), ("0.6271", 62.71), (1, 100.0),
    ("1", 100.0), (0, 0.0), ("100%", 100.0), ("0.5%", 0.5), (1.5, 1.5), ("１００％", 100.0), (-0.5, -0.5),
])
def test_parse_number_of_a_ratio_cell(raw, expected):
    assert parse_number(raw, percent=True) == expected


def test_a_number_in_a_percent_formatted_cell_is_a_fraction():
    assert parse_number(0.6271, percent=True, percent_format=True) == 62.71
    assert parse_number(62.71, percent=True, percent_format=True) == 6271.0  # shown 6271 %: refused later
    assert parse_number(62.71, percent=False, percent_format=True) == 62.71
    assert parse_number("62.71%", percent=False) == 62.71  # the % sign is read; whether it is allowed is intake's


@pytest.mark.parametrize("raw, rule, shown", [
    ("很多", "value.not_number", "很多"), ("#DIV/0!", "value.excel_error", "#DIV/0!"),
    ("#n/a", "value.excel_error", "#N/A"), (True, "value.not_number", "True"), (False, "value.not_number", "False"),
    ("12\u00ad3", "value.invisible_char", "12[U+00AD 软连字符]3"), ("1e5", "value.not_number", "1e5"),
    (" 1,23 ", "value.not_number", "1,23"), ("12,3456", "value.not_number", "12,3456"),
    ("1 2a", "value.not_number", "1 2a"), ("--3", "value.not_number", "--3"), ("%", "value.not_number", "%"),
    (dt.date(2023, 6, 1), "value.not_number", "2023-06-01"),
    (dt.datetime(2023, 6, 1, 8, 0), "value.not_number", "2023-06-01 08:00:00"),
    (dt.time(8, 30), "value.not_number", "08:30:00"), ("abc\u200b", "value.not_number", "abc[U+200B 零宽空格]"),
])
def test_parse_number_refuses_the_rest_with_its_rule(raw, rule, shown):
    with pytest.raises(BadNumber) as err:
        parse_number(raw)
    assert err.value.rule == rule and err.value.shown == shown and str(err.value) == rule


@pytest.mark.parametrize("raw", [None, "", "   ", "\n", "\u3000", float("nan")])
def test_blank_cells_are_none(raw):
    assert parse_number(raw) is None and parse_number(raw, percent=True) is None
    assert is_blank(raw)


def test_huge_numbers_are_infinite_not_an_overflow():
    assert parse_number("9" * 400) == math.inf
    assert parse_number("-" + "9" * 400) == -math.inf
    assert parse_number(10 ** 400) == math.inf
    assert parse_number(-(10 ** 400)) == -math.inf
    assert parse_number("12345678901234567890") == 1.2345678901234567e19


def test_clean_text_present_and_blank():
    assert clean_text(" 殷都区　公安 分局\n") == "殷都区公安分局"
    assert clean_text("ＡＢＣ１２") == "ABC12"
    assert clean_text(None) == "" and clean_text(12) == "12"
    assert present(0) and present("") and present(0.0) and not present(None) and not present(float("nan"))
    assert not is_blank(0) and not is_blank("x") and not is_blank(0.0) and not is_blank(False)


def test_invisible_characters_are_named():
    assert visible("12\u200b3") == "12[U+200B 零宽空格]3"
    assert visible("a\ufeffb") == "a[U+FEFF 字节顺序标记（BOM）]b"
    assert visible("a\x07b") == "a[U+0007 控制字符]b"
    assert visible("a\u2061b") == "a[U+2061 控制字符]b"  # another format character (Cf)
    assert visible("a\tb\nc\rd") == "a\tb\nc\rd"
    assert visible(12) == "12"
    assert has_invisible("x\u200dy") and has_invisible("\x00") and not has_invisible("a b\t")


@pytest.mark.parametrize("raw, expected", [
    ("2023-07-10", dt.date(2023, 7, 10)), ("2023/7/1", dt.date(2023, 7, 1)), ("2023.07.10", dt.date(2023, 7, 10)),
    ("2023年7月10日", dt.date(2023, 7, 10)), ("2023 年 7 月 10", dt.date(2023, 7, 10)),
    (dt.datetime(2023, 6, 30, 17, 0), dt.date(2023, 6, 30)), (dt.date(2023, 6, 30), dt.date(2023, 6, 30)),
    ("2023-06-31", None), ("2023-13-01", None), ("六月", None), (None, None), ("2023-06", None), ("23-06-30", None),
])
def test_parse_date(raw, expected):
    got = parse_date(raw)
    assert got == expected and type(got) is type(expected)  # a date, never a datetime


def test_to_decimal_keeps_the_printed_digits():
    assert to_decimal(2.675) == Decimal("2.675") and to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(7) == Decimal(7) and isinstance(to_decimal(7), Decimal)


@pytest.mark.parametrize("error", ["#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                                   "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!",
                                   "#UNKNOWN!"])
def test_every_excel_error_value_is_named_as_such(error):
    for text in (error, error.lower(), f" {error} "):
        with pytest.raises(BadNumber) as err:
            parse_number(text)
        assert (err.value.rule, err.value.shown) == ("value.excel_error", error)


@pytest.mark.parametrize("char, name", [
    ("\u200b", "零宽空格"), ("\u200c", "零宽非连接符"), ("\u200d", "零宽连接符"), ("\u2060", "零宽不换行空格"),
    ("\ufeff", "字节顺序标记（BOM）"), ("\u00ad", "软连字符"), ("\u200e", "从左到右标记"), ("\u200f", "从右到左标记"),
    ("\u202a", "方向控制符"), ("\u202c", "方向控制符"), ("\u202d", "方向控制符"), ("\u202e", "方向控制符"),
    ("\x00", "控制字符"), ("\x01", "控制字符"), ("\x7f", "控制字符"), ("\u2066", "控制字符")])
def test_every_invisible_character_is_spelled_out(char, name):
    assert visible(f"1{char}2") == f"1[U+{ord(char):04X} {name}]2"
    assert has_invisible(f"1{char}2")
    if char in "\u200b\u200c\u200d\u2060\ufeff":  # zero-width: removed as stray spaces are (intake warns)
        assert parse_number(f"1{char}2") == 12.0 and clean_text(f"财政{char}局") == "财政局"
        return
    with pytest.raises(BadNumber) as err:
        parse_number(f"1{char}2")
    assert (err.value.rule, err.value.shown) == ("value.invisible_char", f"1[U+{ord(char):04X} {name}]2")


def test_a_percent_cell_holding_a_fraction_as_text_keeps_its_digits():
    assert parse_number("0.0313", percent=True) == 3.13  # Decimal("0.0313") * 100, not 3.1300000000000003
    assert parse_number(0.0313, percent=True) == 3.13
    assert parse_number("-0.5", percent=True) == -0.5  # a negative is refused later, not scaled
    assert parse_number("1.5", percent=True) == 1.5
    assert parse_number("0.5%", percent=True) == 0.5


def test_a_decimal_is_rounded_on_all_its_digits():
    assert round_half_up(Decimal("1.004999999999999999999")) == 1.0  # as a float it would be 1.005 → 1.01
    assert round_half_up(Decimal(1) / Decimal(3) * 100) == 33.33


def test_recompute_details():
    a1, a7, a8 = annex(1), annex(7), annex(8)
    undone = evaluate(a7.column("未完成事项"), {"排查事项总数": 10, "已完成事项": 4})
    assert undone == 6 and isinstance(undone, int)
    assert exact(a1.column("即办件事项占比"), {"即办件事项数": None, "事项总数": 32}) is None
    assert exact(a1.column("即办件事项占比"), {"即办件事项数": 1, "事项总数": None}) is None
    blank = total_of(a1, [{"事项总数": None, "即办件事项数": None, "不见面审批事项占比": None}])
    assert blank["事项总数"] is None and blank["即办件事项占比"] is None and blank["不见面审批事项占比"] is None
    # weighted by 事项总数: (1·50 + 1·100) / 2 = 75
    assert total_of(a1, [{"事项总数": 1, "即办件事项数": 0, "不见面审批事项占比": 50},
                         {"事项总数": 1, "即办件事项数": 0, "不见面审批事项占比": 100}])["不见面审批事项占比"] == 75.0
    hours = total_of(a8, [{"入驻总人数": 1, "请假人数": 0, "累计公出（小时）": 0.1234567}])
    assert hours["累计公出（小时）"] == 0.123457  # six places
    assert total_of(a7, [{"排查事项总数": 1, "已完成事项": 1, "备注": "x"}])["备注"] is None
