"""Recompute every computed column and every total row of an annex.

Totals sum the inputs; computed columns of a total row are recomputed from the summed parts (never an
average of the rows' ratios). Ratios are percent numbers rounded half-up to 2 decimals, as printed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal
from typing import Any, Mapping


from ..spec import AnnexSpec, Column, Formula
from .intake import AnnexInput
from .numbers import present, round_half_up, to_decimal



def side_sum(terms: tuple[str, ...], values: Mapping[str, Any]) -> Decimal | None:
    """A formula side (terms, "-name" subtracted) over a row; None when any term is blank."""
    total = Decimal(0)
    for term in terms:
        v = values.get(term.lstrip("-"))
        if not present(v):
            return None
        total += -to_decimal(v) if term.startswith("-") else to_decimal(v)
    return total


def evaluate(col: Column, values: Mapping[str, Any]) -> float | int | None:
    """Value of a computed column from the row's inputs; None when an input is missing or den is 0."""
    f: Formula = col.formula  # type: ignore[assignment]
    num = side_sum(f.num, values)
    if num is None:
        return None
    if f.den:
        den = side_sum(f.den, values)
        if den is None or den == 0:
            return None
        value = num / den * (100 if col.type == "ratio" else 1)
    else:
        value = num
    if col.type == "count":
        return int(value)
    return round_half_up(value, 2)


def exact(col: Column, values: Mapping[str, Any]) -> Decimal | None:
    """The unrounded value of a computed ratio (to compare a printed ratio against)."""
    f: Formula = col.formula  # type: ignore[assignment]
    num, den = side_sum(f.num, values), side_sum(f.den, values) if f.den else Decimal(1)
    if num is None or den is None or den == 0:
        return None
    return num / den * (100 if col.type == "ratio" else 1)


def compute_row(spec: AnnexSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for col in spec.computed_columns:
        out[col.name] = evaluate(col, out)
    return out


def total_of(spec: AnnexSpec, rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in spec.value_columns:
        if col.role == "computed":
            continue
        given = [r[col.name] for r in rows if present(r.get(col.name))]
        if col.total == "sum":
            s = math.fsum(given) if given else None
            out[col.name] = None if s is None else (int(s) if col.type == "count" else round(s, 6))
        elif col.total.startswith("weighted:"):
            weight = col.total.split(":", 1)[1]
            pairs = [(to_decimal(r[col.name]), to_decimal(r[weight])) for r in rows
                     if present(r.get(col.name)) and present(r.get(weight))]
            wsum = sum((w for _, w in pairs), Decimal(0))
            out[col.name] = round_half_up(sum((v * w for v, w in pairs), Decimal(0)) / wsum) if wsum else None
        else:
            out[col.name] = None
    return compute_row(spec, out)


@dataclass
class AnnexResult:
    """An annex recomputed: the rows with computed columns, the total and reference rows."""

    spec: AnnexSpec
    records: list[dict[str, Any]]  # department and reference rows in input order, recomputed
    total: dict[str, Any] | None
    subtotals: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def ordered(self) -> list[dict[str, Any]]:
        """Department rows in the printed order: the spec's sort (stable, blanks last) within each section."""
        rows = [r for r in self.records if r["_kind"] == "department"]
        for name, direction in reversed(self.spec.sort):  # stable sorts, least significant key first
            given = [r for r in rows if present(r.get(name))]
            blank = [r for r in rows if not present(r.get(name))]
            rows = sorted(given, key=lambda r: r[name], reverse=direction == "desc") + blank
        order = {s: i for i, s in enumerate(self.spec.sections)}
        return sorted(rows, key=lambda r: order.get(r["_section"], 0))

    @property
    def references(self) -> dict[str, dict[str, Any]]:
        return {r["部门"]: r for r in self.records if r["_kind"] == "reference"}


def recompute(data: AnnexInput) -> AnnexResult:
    spec = data.spec
    records = [compute_row(spec, r) for r in data.records if r["_kind"] in ("department", "reference")]
    departments = [r for r in records if r["_kind"] == "department"]
    total = total_of(spec, departments) if spec.total else None
    subtotals = {}
    if spec.subtotal_label:
        for section in spec.sections:
            subtotals[section] = total_of(spec, [r for r in departments if r["_section"] == section])
    return AnnexResult(spec, records, total, subtotals)
