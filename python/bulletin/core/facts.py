"""Typed facts for the bulletin's text: figures, changes, drivers, streaks and laggard lists.

The code decides *what* is true; the Jinja2 templates under templates/ decide how it is said.
Department names in facts are the office's short names from the registry; every list keeps the
annex's printed order unless its rule asks for pinyin order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .compare import DISTRICT, Comparison
from .month import MonthData, last_day
from .registry import Registry, UnknownDepartment
from .rules import Assessment, RuleSet


class NameList(list):
    """Units named under a rule, in printed order. Said in full up to `limit` names, else as offices write a
    long list: "A、B、C等N个单位" (the annex holds every row). limit 0 = always in full."""

    def __init__(self, names: Any = (), limit: int = 0):
        super().__init__(names)
        self.limit = limit

    @property
    def text(self) -> str:
        if self.limit and len(self) > self.limit:
            return "、".join(self[: self.limit]) + f"等{len(self)}个单位"
        return "、".join(self)

    def __str__(self) -> str:
        return self.text


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


@dataclass
class Facts:
    """What the text says, decided: the templates only word these."""

    month: str
    year: int
    m: int  # month number, 6
    prev_m: int  # previous month number, 5
    cutoff: str  # "6月30日": the statistics' cut-off day as the text writes it
    district: str
    city: str
    province: str
    ratio_unit: str  # "%" or "个百分点"
    has_previous: bool
    scalars: dict[str, Any]
    scalar_changes: dict[str, dict[str, Any]]
    annex: dict[str, dict[str, Any]]  # sheet -> {total, changes, rows, city}
    laggards: dict[str, NameList]  # rule id -> short names of the units staff confirmed (红/黄) under it
    drivers: dict[str, dict[str, list[dict[str, Any]]]]
    streaks: dict[str, list[dict[str, Any]]]  # rule id -> [{name, months}]
    texts: dict[str, list[str]]
    new_departments: dict[str, list[str]] = field(default_factory=dict)
    missing_departments: dict[str, list[str]] = field(default_factory=dict)
    # figures that rose from zero or fell to zero this month: [{sheet, column, name}] (district as 全区)
    from_zero: list[dict[str, str]] = field(default_factory=list)
    to_zero: list[dict[str, str]] = field(default_factory=list)
    # conclusions the text states (decided here, said by the templates)
    below_city: bool = False  # 附件5: district main and sub coverage both below the city's
    started: list[str] = field(default_factory=list)  # 附件7: units that have started (完成率 > 0)
    left_out: str = ""  # why items of 网上政务服务事项总数 are not in 附件1 (总体情况 未计入原因, when any is left out)
    # 报送不及时 from the submission ledger: [{name, days, missing, months}] in the registry's order
    lateness: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _short(registry: Registry, name: str) -> str:
    try:
        return registry.short(name)
    except UnknownDepartment:
        return name


def build_facts(data: MonthData, assessment: Assessment, rules: RuleSet, registry: Registry, *,
                comparison: Comparison | None = None, streak_months: Mapping[tuple[str, str, str], int] = (),
                district: str, city: str, province: str, ratio_unit: str = "%",
                texts: Mapping[str, list[str]] | None = None, list_limit: int = 0,
                lateness: Any = ()) -> Facts:
    month = data.month or "0000-00"
    year, m = map(int, month.split("-"))
    prev_m = 12 if m == 1 else m - 1
    cut = data.scalars.get("统计截止日期")
    day = int(cut[-2:]) if cut else last_day(year, m) if 1 <= m <= 12 else 0
    cutoff = f"{m}月{day}日"
    annex: dict[str, dict[str, Any]] = {}
    for sheet, res in data.results.items():
        order = [r["部门"] for r in res.ordered]
        rows = []
        for r in res.ordered:
            row = {k: _clean(v) for k, v in r.items() if not k.startswith("_")}
            row["简称"] = _short(registry, r["部门"])
            entry = assessment.of(sheet, r["部门"])
            row["状态"] = entry.status.value if entry else "绿"
            rows.append(row)
        changes = {}
        if comparison is not None:
            for rec in comparison.records:
                if rec["sheet"] == sheet and rec["scope"] == "total":
                    changes[rec["column"]] = {k: _clean(v) for k, v in rec.items()}
        annex[sheet] = {"total": {k: _clean(v) for k, v in (res.total or {}).items()}, "changes": changes,
                        "rows": rows, "order": order,
                        "city": {k: _clean(v) for k, v in res.references.get("city", {}).items()},
                        "subtotals": res.subtotals,
                        "district_rules": list(getattr(assessment.of(sheet, DISTRICT), "rules", ()))}
    laggards = {}
    named_keys = set()
    for rule in rules.rules:
        named = set(assessment.named(rule))
        named_keys |= {(rule.sheet, d, rule.id) for d in named}
        fired = [d for d in annex.get(rule.sheet, {}).get("order", []) if d in named]
        names = [_short(registry, d) for d in fired]
        limit = list_limit if rule.list_limit is None else rule.list_limit
        laggards[rule.id] = NameList(sorted(names, key=registry.pinyin_key) if rule.list_order == "pinyin"
                                     else names, limit)
    drivers = {}
    if comparison is not None:
        for sheet, by_col in comparison.drivers.items():
            drivers[sheet] = {col: [{"name": _short(registry, d.department), "effect": d.effect,
                                     "previous": _clean(d.previous), "current": _clean(d.current)} for d in ds]
                              for col, ds in by_col.items()}
    streaks: dict[str, list[dict[str, Any]]] = {}
    position = {(sheet, d): i for sheet, a in annex.items() for i, d in enumerate(a["order"])}
    # longest streak first, then the annex's printed order
    for (sheet, dept, rule_id), n in sorted(dict(streak_months).items(),
                                            key=lambda kv: (-kv[1], position.get(kv[0][:2], 1 << 30))):
        if (sheet, dept, rule_id) not in named_keys:  # staff cleared it: no streak is said either
            continue
        streaks.setdefault(rule_id, []).append({"name": _short(registry, dept), "months": n})
    scalar_changes = {k: {kk: _clean(vv) for kk, vv in v.items()} for k, v in
                      (comparison.scalars if comparison else {}).items()}
    from_zero, to_zero = [], []
    for rec in comparison.records if comparison else []:
        if rec["scope"] in ("department", "total") and (rec["from_zero"] or rec["to_zero"]):
            who = rec["department"] if rec["scope"] == "total" else _short(registry, rec["department"])
            (from_zero if rec["from_zero"] else to_zero).append(
                {"sheet": rec["sheet"], "column": rec["column"], "name": who, "key": rec["key"]})
    return Facts(month, year, m, prev_m, cutoff, district, city, province, ratio_unit, comparison is not None,
                 {k: _clean(v) for k, v in data.scalars.items()}, scalar_changes, annex, laggards, drivers, streaks,
                 dict(texts or {}),
                 {s: [_short(registry, d) for d in v] for s, v in (comparison.new_departments if comparison else {}).items()},
                 {s: [_short(registry, d) for d in v] for s, v in
                  (comparison.missing_departments if comparison else {}).items()},
                 from_zero, to_zero, _below_city(annex.get("附件5")), _started(annex.get("附件7")),
                 str(data.scalars.get("未计入原因") or "") if data.scalars.get("未计入附件事项数") else "",
                 _lateness(registry, lateness))


def _lateness(registry: Registry, late: Any) -> list[dict[str, Any]]:
    order = {d.name: d.order for d in registry.departments}
    return [{"name": _short(registry, x.department), "days": x.days, "missing": x.missing, "months": x.months}
            for x in sorted(late, key=lambda x: order.get(x.department, 1 << 30))]


def _below_city(a5: Mapping[str, Any] | None) -> bool:
    if not a5 or not a5["city"]:
        return False
    tot, city = a5["total"], a5["city"]
    pairs = [(tot.get(k), city.get(k)) for k in ("主项覆盖率", "子项覆盖率")]
    return all(a is not None and b is not None and a < b for a, b in pairs)


def _started(a7: Mapping[str, Any] | None) -> list[str]:
    return [r["简称"] for r in (a7 or {}).get("rows", []) if (r.get("完成率") or 0) > 0]
