"""Wires the core to the packaged configuration: the one place that builds an IntakeContext."""
from __future__ import annotations

from .errors import UserError

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from .config import load_messages, load_registry, load_rules_file, load_settings
from .core.compare import Comparison, compare
from .core.department_sheet import overlay
from .core.facts import Facts, build_facts
from .core.intake import Grid, IntakeContext
from .core.month import MonthData, build_month, previous_month
from .core.numbers import BadNumber, is_blank, parse_number
from .core.problems import Problem
from .core.registry import Registry
from .core.rules import Assessment, RuleSet, assess, streaks
from .spec import DEPT_SHEET, RATIO_UNIT_PARAM



class ParamError(UserError, ValueError):
    """A value in the workbook's 参数 or 部门 sheet the engine cannot use (message in Chinese)."""


def registry_for(grids: Mapping[str, Grid]) -> tuple[Registry, list[Problem]]:
    """The office registry (departments.csv) with the workbook's 部门 rows laid over it, and the problems
    of those rows (each at its cell)."""
    return overlay(load_registry(settings=load_settings()), grids.get(DEPT_SHEET), load_messages())


def rules_for(params: Mapping[str, Any]) -> RuleSet:
    """rules.yaml with the thresholds the 参数 sheet sets (a blank value keeps the file's)."""
    rules = load_rules_file()
    overrides = {}
    for name, param in rules.params.items():
        raw = params.get(name)
        if is_blank(raw):
            continue
        try:
            value = parse_number(raw)
        except BadNumber:
            value = None
        if value is None:
            raise ParamError(f"“参数”表中 {name} 的值“{raw}”不是数字")
        overrides[name] = dataclasses.replace(param, value=float(value))
    return dataclasses.replace(rules, params={**rules.params, **overrides}) if overrides else rules


def ratio_unit_for(params: Mapping[str, Any]) -> str:
    raw = params.get(RATIO_UNIT_PARAM)
    if is_blank(raw):
        return load_settings().ratio_change_unit
    unit = str(raw).strip()
    if unit not in ("%", "个百分点"):
        raise ParamError(f"“参数”表中 {RATIO_UNIT_PARAM} 应为“%”或“个百分点”，现为“{unit}”")
    return unit


def setting_sources(data: MonthData) -> list[tuple[str, Any, str]]:
    """(name, value in force, where it comes from) of every rule threshold and of 环比单位: the workbook's
    参数 cell when staff filled it, else the staff file."""
    rules, unit = rules_for(data.params), ratio_unit_for(data.params)
    out = []
    for name, param in rules.params.items():
        value = int(param.value) if param.value == int(param.value) else param.value
        out.append((name, value, _source(data, name, "rules.yaml")))
    out.append((RATIO_UNIT_PARAM, unit, _source(data, RATIO_UNIT_PARAM, "settings.yaml")))
    return out


def _source(data: MonthData, name: str, file: str) -> str:
    cell = data.param_cells.get(name)
    return f"工作簿“参数”表 {cell}" if cell else file


def context(registry: Registry | None = None) -> IntakeContext:
    settings = load_settings()
    return IntakeContext(registry or load_registry(settings=settings), load_messages(), settings.district,
                         {"city": settings.city, "district": settings.district})


def compute(grids: Mapping[str, Grid], month: str | None = None, registry: Registry | None = None) -> MonthData:
    """One month from its sheets; the registry is the office's with the workbook's 部门 rows laid over it."""
    settings = load_settings()
    registry_problems: list[Problem] = []
    if registry is None:
        registry, registry_problems = registry_for(grids)
    data = build_month(grids, context(registry), month=month, ratio_tolerance_pp=settings.ratio_tolerance_pp,
                       total_tolerance=settings.total_tolerance)
    data.problems[:0] = registry_problems
    return data


@dataclass
class Analysis:
    """Everything part 2 derives from a month and its history: figures, statuses (the confirmed ones, with
    the rules' proposal beside them) and facts. The text is its own step (narrative.render_facts)."""

    data: MonthData
    previous: MonthData | None
    comparison: Comparison | None
    assessment: Assessment
    streaks: dict[tuple[str, str, str], int]
    facts: Facts
    past: Mapping[str, MonthData] = dataclasses.field(default_factory=dict)  # the history it was made with


def _consecutive_before(month: str, past: Mapping[str, MonthData]) -> list[MonthData]:
    """The months right before `month` that history holds without a gap, oldest first."""
    out, m = [], previous_month(month)
    while m in past:
        out.append(past[m])
        m = previous_month(m)
    return out[::-1]


def carried_streaks(registry: Registry, rules: RuleSet) -> dict[tuple[str, str], list[Any]]:
    """(department, rule id) -> the streaks the registry's 既往连续 column carries in (rule by id or name)."""
    by_name = {r.name: r.id for r in rules.rules}
    out: dict[tuple[str, str], list[Any]] = {}
    for d in registry.departments:
        for c in d.carried:
            rule_id = c.rule if c.rule in rules.names else by_name.get(c.rule)
            if rule_id is None:
                raise ParamError(f"部门名录中“{d.name}”的“既往连续”写的规则“{c.rule}”不存在"
                                 f"（可写规则名称，如“{rules.rules[0].name}”，或规则编号）")
            out.setdefault((d.name, rule_id), []).append(c)
    return out


def analyse(data: MonthData, past: Mapping[str, MonthData] | None = None,
            registry: Registry | None = None, confirmed: Mapping[str, Mapping[str, str]] | None = None) -> Analysis:
    """Compare with last month (when history holds it), apply the rules, count streaks, gather the facts.
    Thresholds and 环比单位 set in the month's 参数 sheet override rules.yaml and settings.yaml.
    `confirmed`: sheet -> department -> the 状态 staff set (it replaces the rules' proposal)."""
    settings, rules = load_settings(), rules_for(data.params)
    registry = registry or data.registry or load_registry()
    flags = registry.flags()
    chain = _consecutive_before(data.month, past or {}) if data.month else []
    previous = chain[-1] if chain else None
    comparison = compare(data, previous) if previous else None
    assessment = assess(data, rules, previous, flags=flags)
    history_assessments = [assess(m, rules, chain[i - 1] if i else None, flags=flags) for i, m in enumerate(chain)]
    streak_months = streaks(history_assessments, assessment, month=data.month,
                            carried=carried_streaks(registry, rules))
    if confirmed:
        assessment = assessment.confirm(confirmed, rules)
    facts = build_facts(data, assessment, rules, registry, comparison=comparison, streak_months=streak_months,
                        district=settings.district, city=settings.city, province=settings.province,
                        ratio_unit=ratio_unit_for(data.params), texts=data.texts, list_limit=settings.list_limit)
    return Analysis(data, previous, comparison, assessment, streak_months, facts, dict(past or {}))
