"""District figures month by month, and the month's biggest movers per indicator.

A district ratio is always read from that month's district (合计) row, which recompute builds from the
summed inputs of the departments; no ratio here is ever summed or averaged across departments. Months
come from the history (each recomputed on load) plus the month at hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .compare import DOWN, UP, Comparison
from .month import MonthData
from .numbers import present


@dataclass(frozen=True)
class SeriesSpec:
    """One district figure: a column of an annex's district row, or a 总体情况 scalar."""

    name: str
    sheet: str | None = None
    column: str | None = None
    scalar: str | None = None
    type: str = "count"  # ratio | count (from the spec column; scalars are counts)


@dataclass
class Trend:
    """A series of months and, per series name, one value per month."""

    months: list[str]  # oldest first
    values: dict[str, list[float | None]]  # series name -> one value per month (None: not reported)


@dataclass(frozen=True)
class Mover:
    """A department among those whose figure changed most since last month."""

    sheet: str
    column: str
    direction: str  # 上升 | 下降
    rank: int  # 1 = moved most
    department: str
    previous: float
    current: float
    change: float  # percentage points for ratios (from the printed 2 dp figures)


def district_value(data: MonthData, series: SeriesSpec) -> float | None:
    """The district figure of one month, from its recomputed district row (or its scalar)."""
    if series.scalar is not None:
        v = data.scalars.get(series.scalar)
    else:
        result = data.results.get(series.sheet or "")
        total = result.total if result is not None else None
        v = total.get(series.column) if total else None
    return float(v) if present(v) and not isinstance(v, (str, bool)) else None


def district_series(months: Mapping[str, MonthData], series: Sequence[SeriesSpec], last: int) -> Trend:
    """One value per month for each series, for the latest `last` months that `months` holds."""
    chosen = sorted(m for m in months if m)[-last:] if last > 0 else []
    return Trend(chosen, {s.name: [district_value(months[m], s) for m in chosen] for s in series})


def history_with(current: MonthData, past: Mapping[str, MonthData]) -> dict[str, MonthData]:
    """The months of the history up to the current one, the current month's own data replacing its stored
    copy (the workbook at hand is what is being reported)."""
    months = {m: d for m, d in past.items() if current.month is None or m <= current.month}
    if current.month:
        months[current.month] = current
    return months


def biggest_movers(comparison: Comparison | None, indicators: Iterable[tuple[str, str]], n: int) -> list[Mover]:
    """Per (sheet, column): the n departments that rose most and the n that fell most since last month.
    Departments new or missing this month have no change and are not movers."""
    if comparison is None or n <= 0:
        return []
    out: list[Mover] = []
    for sheet, column in indicators:
        records = [r for r in comparison.records if r["sheet"] == sheet and r["column"] == column
                   and r["scope"] == "department" and r["direction"] in (UP, DOWN) and present(r["change"])]
        for direction, sign in ((UP, -1), (DOWN, 1)):
            picked = sorted((r for r in records if r["direction"] == direction),
                            key=lambda r: sign * float(r["change"]))[:n]  # stable: ties keep the annex order
            out += [Mover(sheet, column, direction, i, r["department"], _num(r["previous"]), _num(r["current"]),
                          _num(r["change"])) for i, r in enumerate(picked, start=1)]
    return out


def _num(v: Any) -> float:
    return float(v)
