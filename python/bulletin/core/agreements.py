"""Figures printed twice must agree (spec.AGREEMENTS): annex 1 and annex 2 per department, the 总体情况
figures and the annexes they repeat. Each failure is one error naming both cells, so a clerk who typed 71
for 17 in one annex is pointed at the other, which holds the right figure."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from ..spec import AGREEMENTS, SCALAR_SHEET, Agreement, Term
from .intake import AnnexInput
from .numbers import present, to_decimal
from .problems import Messages, Problem
from .recompute import AnnexResult


def _fmt(v: Decimal) -> str:
    return str(int(v)) if v == int(v) else f"{float(v):g}"


class _Side:
    """One side's value and where it is printed ("附件1 C5"), for a department or the district."""

    def __init__(self, terms: tuple[Term, ...], lookup):
        self.parts = [(t, *lookup(t)) for t in terms]

    @property
    def complete(self) -> bool:
        return all(present(v) for _, v, _ in self.parts)

    @property
    def value(self) -> Decimal:
        return sum((t.sign * to_decimal(v) for t, v, _ in self.parts), Decimal(0))

    @property
    def where(self) -> str:
        pieces = []
        for i, (t, _, cell) in enumerate(self.parts):
            text = f"{t.sheet} {cell}（{t.column}）" if cell else f"{t.sheet}合计“{t.column}”（重新计算）"
            pieces.append(("−" if t.sign < 0 else "＋" if i else "") + text)
        return "".join(pieces)

    @property
    def first_cell(self) -> tuple[str, str]:
        t, _, cell = self.parts[0]
        return t.sheet, cell


def check_agreements(inputs: Mapping[str, AnnexInput], results: Mapping[str, AnnexResult],
                     scalars: Mapping[str, Any], scalar_cells: Mapping[str, str], msg: Messages,
                     agreements: tuple[Agreement, ...] = AGREEMENTS) -> list[Problem]:
    out: list[Problem] = []
    for a in agreements:
        sheets = {t.sheet for t in (*a.left, *a.right)}
        if any(s != SCALAR_SHEET and s not in results for s in sheets):
            continue  # a missing sheet is reported on its own
        if a.per_department:
            rows = {s: {r["部门"]: r for r in inputs[s].records if r["_kind"] == "department" and r["部门"]}
                    for s in sheets}
            common = [d for d in rows[a.left[0].sheet] if all(d in rows[s] for s in sheets)]
            for dept in common:
                def lookup(t: Term, dept=dept) -> tuple[Any, str]:
                    r = rows[t.sheet][dept]
                    return r.get(t.column), inputs[t.sheet].cell(r["_row"], t.column)
                out += _compare(a, lookup, msg, dept)
        else:
            def lookup(t: Term) -> tuple[Any, str]:
                if t.sheet == SCALAR_SHEET:
                    return scalars.get(t.column), scalar_cells.get(t.column, "")
                total = results[t.sheet].total or {}
                row = next((r["_row"] for r in inputs[t.sheet].records if r["_kind"] == "total"), None)
                return total.get(t.column), inputs[t.sheet].cell(row, t.column) if row else ""
            out += _compare(a, lookup, msg, "")
    return out


def _compare(a: Agreement, lookup, msg: Messages, department: str) -> list[Problem]:
    left, right = _Side(a.left, lookup), _Side(a.right, lookup)
    if not (left.complete and right.complete) or left.value == right.value:
        return []
    sheet, cell = left.first_cell
    return [msg.problem("check.agreement_mismatch", sheet, cell, department, left=left.where,
                        left_value=_fmt(left.value), right=right.where, right_value=_fmt(right.value),
                        who=f"“{department}”的" if department else "")]
