"""Wires the core to the packaged configuration: the one place that builds an IntakeContext."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .config import load_messages, load_registry, load_settings
from .core.intake import Grid, IntakeContext
from .core.month import MonthData, build_month


def context() -> IntakeContext:
    settings = load_settings()
    return IntakeContext(load_registry(settings=settings), load_messages(), settings.district,
                         {"city": settings.city, "district": settings.district})


def compute(grids: Mapping[str, Grid], month: str | None = None) -> MonthData:
    settings = load_settings()
    return build_month(grids, context(), month=month, ratio_tolerance_pp=settings.ratio_tolerance_pp,
                       total_tolerance=settings.total_tolerance)
