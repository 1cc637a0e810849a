"""Properties of the core over generated inputs (hypothesis; the profile in conftest.py is deterministic).

The oracles are exact rational arithmetic (fractions.Fraction) and integer rounding written here, never the
code under test: half up on a Fraction is floor(x·100 + 1/2) / 100 for x ≥ 0.
"""
from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import assume, given, strategies as st

from bulletin.config import load_registry
from bulletin.core.compare import change_of, drivers_of
from bulletin.core.numbers import parse_number
from bulletin.core.recompute import evaluate, total_of
from bulletin.spec import annex

A1 = annex(1)
INSTANT = A1.column("即办件事项占比")
A8 = annex(8)


def half_up(x: Fraction) -> Fraction:
    """x rounded half up (away from zero) to hundredths, exactly."""
    sign = -1 if x < 0 else 1
    return sign * Fraction(math.floor(abs(x) * 100 + Fraction(1, 2)), 100)


@st.composite
def annex1_row(draw) -> dict:
    total = draw(st.integers(min_value=0, max_value=10 ** 6))
    return {"事项总数": total, "即办件事项数": draw(st.integers(min_value=0, max_value=total)),
            "不见面审批事项占比": draw(st.sampled_from([None, 0, 50, 87.5, 100]))}


@given(st.lists(annex1_row(), min_size=1, max_size=12))
def test_a_total_equals_its_parts_and_its_ratio_is_of_the_summed_parts(rows):
    total = total_of(A1, rows)
    whole, part = sum(r["事项总数"] for r in rows), sum(r["即办件事项数"] for r in rows)
    assert total["事项总数"] == whole and total["即办件事项数"] == part
    assert isinstance(total["事项总数"], int)
    if whole:
        assert Fraction(total["即办件事项占比"]).limit_denominator(100) == half_up(Fraction(part * 100, whole))
    else:
        assert total["即办件事项占比"] is None


@given(st.lists(st.decimals(min_value=0, max_value=10 ** 5, places=2, allow_nan=False), min_size=1, max_size=12))
def test_a_total_of_hours_equals_its_parts(hours):
    rows = [{"累计公出（小时）": float(h), "入驻总人数": 1, "请假人数": 0} for h in hours]
    total = total_of(A8, rows)["累计公出（小时）"]
    assert Fraction(total).limit_denominator(100) == sum(Fraction(h) for h in hours)


@given(st.integers(min_value=1, max_value=10 ** 9), st.data())
def test_every_ratio_is_in_0_to_100_and_its_half_up_recomputation(den, data):
    num = data.draw(st.integers(min_value=0, max_value=den))
    value = evaluate(INSTANT, {"即办件事项数": num, "事项总数": den})
    assert 0 <= value <= 100
    assert Fraction(value).limit_denominator(100) == half_up(Fraction(num * 100, den))


@given(st.integers(min_value=0, max_value=10000), st.integers(min_value=0, max_value=10000))
def test_a_ratio_change_is_the_difference_of_the_printed_figures(cur_hundredths, prev_hundredths):
    cur, prev = cur_hundredths / 100, prev_hundredths / 100  # printed 2 dp ratios
    ch = change_of("ratio", cur, prev)
    assert Fraction(ch["change"]).limit_denominator(100) == Fraction(cur_hundredths - prev_hundredths, 100)
    assert ch["direction"] == ("上升" if cur_hundredths > prev_hundredths else
                               "下降" if cur_hundredths < prev_hundredths else "无变化")


@given(st.fractions(min_value=0, max_value=100, max_denominator=10 ** 6),
       st.fractions(min_value=0, max_value=100, max_denominator=10 ** 6))
def test_a_ratio_change_of_unrounded_ratios_is_that_of_their_printed_figures(cur, prev):
    ch = change_of("ratio", float(cur), float(prev))
    printed = half_up(Fraction(float(cur))) - half_up(Fraction(float(prev)))
    assert Fraction(ch["change"]).limit_denominator(100) == printed


@st.composite
def two_months(draw):
    """The same departments (some new, some gone) in two months of annex 1."""
    names = draw(st.lists(st.sampled_from("ABCDEFGH"), min_size=1, max_size=8, unique=True))
    months = []
    for _ in range(2):
        rows = []
        for n in names:
            if draw(st.booleans()) or len(rows) == 0:
                total = draw(st.integers(min_value=0, max_value=500))
                rows.append({"部门": n, "事项总数": total, "即办件事项数": draw(st.integers(0, total))})
        months.append(rows)
    return months


@given(two_months())
def test_drivers_sum_to_the_district_move(months):
    current, previous = months
    den_cur, num_cur = sum(r["事项总数"] for r in current), sum(r["即办件事项数"] for r in current)
    den_prev, num_prev = sum(r["事项总数"] for r in previous), sum(r["即办件事项数"] for r in previous)
    assume(den_cur and den_prev)
    drivers = drivers_of(A1, INSTANT, current, previous, {"事项总数": den_prev, "即办件事项数": num_prev})
    move = Fraction(num_cur * 100, den_cur) - Fraction(num_prev * 100, den_prev)
    # each effect is rounded half up to 2 dp, so they add up to the exact move within half a hundredth each
    assert abs(sum(Fraction(d.effect).limit_denominator(100) for d in drivers) - move) <= Fraction(len(drivers), 200)
    assert {d.department for d in drivers} == {r["部门"] for r in current + previous}
    assert [abs(d.effect) for d in drivers] == sorted((abs(d.effect) for d in drivers), reverse=True)


@given(two_months(), st.sampled_from("ABCDEFGH"))
def test_one_department_moving_alone_carries_the_whole_move(months, who):
    _, previous = months
    assume(any(r["部门"] == who for r in previous))
    den = sum(r["事项总数"] for r in previous)
    current = [dict(r) for r in previous]
    mover = next(r for r in current if r["部门"] == who)
    assume(mover["即办件事项数"] < mover["事项总数"])
    mover["即办件事项数"] += 1  # the district goes from num/den to (num + 1)/den: a move of 100/den pp
    num = sum(r["即办件事项数"] for r in previous)
    drivers = drivers_of(A1, INSTANT, current, previous, {"事项总数": den, "即办件事项数": num})
    effects = {d.department: Fraction(d.effect).limit_denominator(100) for d in drivers}
    assert effects[who] == half_up(Fraction(100, den))
    assert all(e == 0 for d, e in effects.items() if d != who)


DIGITS = st.integers(min_value=0, max_value=10 ** 12)
FULL_WIDTH = str.maketrans("0123456789.,%", "０１２３４５６７８９．，％")


@st.composite
def pasted(draw) -> str:
    """A number as staff paste it: thousands separators, full-width digits, stray spaces, a decimal part."""
    n = draw(DIGITS)
    text = f"{n:,}" if draw(st.booleans()) else str(n)
    if draw(st.booleans()):
        text += "." + str(draw(st.integers(min_value=0, max_value=99))).zfill(2)
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    return draw(st.sampled_from(["", " ", "\u3000", "\n"])) + text + draw(st.sampled_from(["", " ", "\t"]))


@given(pasted())
def test_normalising_a_pasted_value_twice_changes_nothing(text):
    once = parse_number(text)
    assert parse_number(once) == once
    assert parse_number(repr(once)) == once
    assert parse_number(str(once)) == once


@given(st.integers(min_value=0, max_value=10000))
def test_a_normalised_ratio_read_again_is_the_same_ratio(hundredths):
    value = hundredths / 100
    once = parse_number(f"{value}%", percent=True)
    assert once == value
    assert parse_number(f"{once}%", percent=True) == once
    if once > 1:  # a bare number above 1 is already a percent number
        assert parse_number(once, percent=True) == once


REGISTRY = load_registry()
SPELLINGS = [(d.name, s) for d in REGISTRY.departments for s in (d.name, d.short, d.full, *d.aliases)]


@given(st.sampled_from(SPELLINGS), st.sampled_from(["", "殷都区", "区"]), st.sampled_from(["", " ", "\u3000"]),
       st.booleans())
def test_a_listed_spelling_names_its_own_department(entry, prefix, space, full_width):
    name, spelling = entry
    assert REGISTRY.resolve(spelling) == name
    if spelling.startswith(("殷都区", "区")):  # the district's prefix is written once
        prefix = ""
    text = prefix + space + spelling + space
    if full_width:
        text = text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ+", "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ＋"))
    assert REGISTRY.resolve(text) == name
