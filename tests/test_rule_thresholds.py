"""Every comparison of data/rules.yaml at its threshold and one hundredth either side (one unit for whole
counts), with the outcome the rule's own wording says: 低于 (below) is strict, 达到 (reaches) includes the
threshold, 超过 (more than) is strict, 不超过 (at most) includes it. The thresholds are written here by hand, as
rules.yaml ships them; the outcomes are read from the wording, not from the conditions."""
from __future__ import annotations

import pytest

from bulletin.config import load_rules_file
from bulletin.core.rules import fires

RULES = load_rules_file()


def fired(rule_id: str, row: dict, **kw) -> bool:
    return fires(RULES.get(rule_id), row, params=RULES.params, **kw)


def test_the_thresholds_are_the_shipped_ones():
    assert {n: p.value for n, p in RULES.params.items()} == {
        "即办件占比黄线": 30, "压缩比例红线": 65, "压缩比例黄线": 90, "压缩比例降幅": 10, "挂载率黄线": 60,
        "公出小时上限": 40, "综窗占比下限": 50, "办件量下限": 10}


# 即办件事项占比为0 (红): exactly 0; 即办件占比偏低 (黄): above 0 and below 30
@pytest.mark.parametrize("ratio, zero, low", [
    (-0.01, False, False), (0, True, False), (0.01, False, True), (29.99, False, True), (30, False, False),
    (30.01, False, False)])
def test_instant_items(ratio, zero, low):
    assert fired("a1.instant_zero", {"即办件事项占比": ratio}) is zero
    assert fired("a1.instant_low", {"即办件事项占比": ratio}) is low


# 低于红线 65 红; 不低于红线而低于黄线 90 黄
@pytest.mark.parametrize("ratio, red, yellow", [
    (64.99, True, False), (65, False, True), (65.01, False, True), (89.99, False, True), (90, False, False),
    (90.01, False, False)])
def test_compression_red_and_yellow_lines(ratio, red, yellow):
    assert fired("a2.compress_red", {"压缩比例": ratio}) is red
    assert fired("a2.compress_yellow", {"压缩比例": ratio}) is yellow


# “较上月下降超过此值（百分点）”: a fall of more than 10 pp, so exactly 10.00 does not fire
@pytest.mark.parametrize("previous, current, drop", [
    (80, 70.01, False), (80, 70, False), (80, 69.99, True), (16.08, 6.08, False), (16.01, 6.01, False),
    (16.08, 6.07, True), (16.01, 6.02, False), (63.45, 53.45, False), (63.45, 53.44, True), (50, 60, False)])
def test_compression_drop(previous, current, drop):
    assert fired("a2.compress_drop", {"压缩比例": current}, prev={"压缩比例": previous}) is drop


@pytest.mark.parametrize("ratio, low", [(59.99, True), (60, False), (60.01, False)])
def test_mount_rate_below_the_yellow_line(ratio, low):
    assert fired("a4.mount_low", {"资源挂载率": ratio}) is low


# 挂载无进展: still below 100 %, and neither count moved since last month
@pytest.mark.parametrize("ratio, published, mounted, stalled", [
    (99.99, 6, 3, True), (100, 6, 3, False), (100.01, 6, 3, False),
    (99.99, 7, 3, False), (99.99, 5, 3, False), (99.99, 6, 4, False), (99.99, 6, 2, False)])
def test_mount_stalled(ratio, published, mounted, stalled):
    row = {"资源挂载率": ratio, "已发布资源目录数": published, "已挂载资源目录数": mounted}
    assert fired("a4.mount_stalled", row, prev={"已发布资源目录数": 6, "已挂载资源目录数": 3}) is stalled


@pytest.mark.parametrize("delta, stalled", [
    ((0, 0, 0), True), ((1, 0, 0), False), ((-1, 0, 0), False), ((0, 1, 0), False), ((0, -1, 0), False),
    ((0, 0, 1), False), ((0, 0, -1), False)])
def test_district_stalled(delta, stalled):
    prev = {"已发布资源目录数": 117, "已挂载资源目录数": 73, "资源数据总量": 665156}
    row = {k: v + d for (k, v), d in zip(prev.items(), delta)}
    assert fired("a4.district_stalled", row, prev=prev) is stalled


# 主项覆盖率为0 (红); 低于全市 (黄): the city's 47.66
@pytest.mark.parametrize("ratio, zero, below", [
    (0, True, False), (0.01, False, True), (47.65, False, True), (47.66, False, False), (47.67, False, False)])
def test_supervision_coverage(ratio, zero, below):
    city = {"city": {"主项覆盖率": 47.66}}
    assert fired("a5.main_zero", {"主项覆盖率": ratio}, **city) is zero
    assert fired("a5.below_city", {"主项覆盖率": ratio}, **city) is below


# 疑似“明进暗不进”: judged only when the larger of 部门报送/电子监察 is not below 10 (“都低于此值的单位不做判断”),
# and flagged when 综窗 is at most (不超过) 50 % of it — the June 2023 bulletin named 残联 for 6 of 12
@pytest.mark.parametrize("reported, monitored, hall, bypass", [
    (9, 0, 0, False), (10, 0, 0, True), (11, 0, 0, True), (0, 9, 0, False), (0, 10, 0, True),
    (9, 9, 4, False),
    (200, 10, 99.99, True), (200, 10, 100, True), (200, 10, 100.01, False),
    (10, 200, 99, True), (10, 200, 100, True), (10, 200, 101, False), (0, 12, 6, True), (0, 12, 6.01, False)])
def test_hall_bypass(reported, monitored, hall, bypass):
    row = {"部门报送数据": reported, "电子监察数据": monitored, "综窗办理数据": hall}
    assert fired("a6.hall_bypass", row) is bypass


@pytest.mark.parametrize("flagged, in_annex8, unstationed", [
    (True, False, True), (True, True, False), (False, False, False), (False, True, False)])
def test_hall_unstationed(flagged, in_annex8, unstationed):
    kw = {"flags": ["应进驻大厅"] if flagged else [], "present_in": ["附件6", "附件8"] if in_annex8 else ["附件6"]}
    assert fired("a6.hall_unstationed", {"综窗办理数据": 58}, **kw) is unstationed


@pytest.mark.parametrize("rate, remark, started", [
    (0, None, False), (0, "", False), (0, "无需排查", True), (0, "正在排查", False), (0.01, None, True),
    (-0.01, None, True)])
def test_checking_not_started(rate, remark, started):
    assert fired("a7.not_started", {"完成率": rate, "备注": remark}) is not started


@pytest.mark.parametrize("ratio, all_on_leave", [(99.99, False), (100, True), (100.01, True)])
def test_all_on_leave(ratio, all_on_leave):
    assert fired("a8.all_on_leave", {"请假人数比例": ratio}) is all_on_leave


@pytest.mark.parametrize("absent, fires_", [(0, False), (1, True), (-1, False)])
def test_absent(absent, fires_):
    assert fired("a8.absent", {"旷工人数": absent}) is fires_


# 公出过多: “达到此值” — 40 hours and more
@pytest.mark.parametrize("hours, high", [(39.99, False), (40, True), (40.01, True)])
def test_outing_hours(hours, high):
    assert fired("a8.outing_high", {"累计公出（小时）": hours}) is high


def test_a_missing_value_never_fires_a_threshold():
    assert not fired("a4.mount_low", {"资源挂载率": None})
    assert not fired("a2.compress_drop", {"压缩比例": 50}, prev={})
    assert not fired("a2.compress_drop", {"压缩比例": None}, prev={"压缩比例": 80})
    assert not fired("a5.below_city", {"主项覆盖率": 10}, city={})
