"""Wires the core to the packaged configuration: the one place that builds an IntakeContext."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .config import load_messages, load_registry, load_rules_file, load_settings
from .core.compare import Comparison, compare
from .core.facts import Facts, build_facts
from .core.intake import Grid, IntakeContext
from .core.month import MonthData, build_month, previous_month
from .core.rules import Assessment, assess, streaks
from .narrative import Paragraph, render


def context() -> IntakeContext:
    settings = load_settings()
    return IntakeContext(load_registry(settings=settings), load_messages(), settings.district,
                         {"city": settings.city, "district": settings.district})


def compute(grids: Mapping[str, Grid], month: str | None = None) -> MonthData:
    settings = load_settings()
    return build_month(grids, context(), month=month, ratio_tolerance_pp=settings.ratio_tolerance_pp,
                       total_tolerance=settings.total_tolerance)


@dataclass
class Analysis:
    """Everything part 2 derives from a month and its history."""

    data: MonthData
    previous: MonthData | None
    comparison: Comparison | None
    assessment: Assessment
    streaks: dict[tuple[str, str, str], int]
    facts: Facts
    paragraphs: list[Paragraph]


def _consecutive_before(month: str, past: Mapping[str, MonthData]) -> list[MonthData]:
    """The months right before `month` that history holds without a gap, oldest first."""
    out, m = [], previous_month(month)
    while m in past:
        out.append(past[m])
        m = previous_month(m)
    return out[::-1]


def analyse(data: MonthData, past: Mapping[str, MonthData] | None = None) -> Analysis:
    """Compare with last month (when history holds it), apply the rules, count streaks, write the text."""
    settings, registry, rules = load_settings(), load_registry(), load_rules_file()
    chain = _consecutive_before(data.month, past or {}) if data.month else []
    previous = chain[-1] if chain else None
    comparison = compare(data, previous) if previous else None
    assessment = assess(data, rules, previous)
    history_assessments = [assess(m, rules, chain[i - 1] if i else None) for i, m in enumerate(chain)]
    streak_months = streaks(history_assessments, assessment)
    facts = build_facts(data, assessment, rules, registry, comparison=comparison, streak_months=streak_months,
                        district=settings.district, city=settings.city, province=settings.province,
                        ratio_unit=settings.ratio_change_unit, texts=data.texts)
    return Analysis(data, previous, comparison, assessment, streak_months, facts, render(facts.as_dict()))
