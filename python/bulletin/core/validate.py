"""Validation rules over one annex: every failure is collected (nothing stops at the first one).

Rules (ids as in data/messages.yaml): duplicate department; the spec's checks (part ≤ whole, parts sum
to whole); a printed computed value that differs from the recomputed one (ratios by more than the
tolerance in percentage points); a printed total that differs from the sum of its rows. Cell-level
rules (non-numeric, negative, missing, unknown department) are found during intake.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..spec import AnnexSpec, Check
from .intake import AnnexInput
from .numbers import present, round_half_up, to_decimal
from .problems import Messages, Problem
from .recompute import AnnexResult, exact


def _fmt(col_type: str, v: Any) -> str:
    if not present(v):
        return "空"
    if col_type == "ratio":
        return f"{float(v):.2f}%"
    f = float(v)
    return f"{int(f)}" if f == int(f) else f"{f:g}"


def _duplicates(data: AnnexInput, msg: Messages) -> list[Problem]:
    spec = data.spec
    keys = ["部门", *(c.name for c in spec.key_columns)]
    seen: dict[tuple, int] = {}
    out = []
    name_col = spec.name_column.name
    for r in (r for r in data.records if r["_kind"] == "department"):
        if not r["部门"]:
            continue
        key = tuple(r[k] for k in keys)
        if key in seen:
            out.append(msg.problem("department.duplicate", spec.sheet, data.cell(r["_row"], name_col), r["部门"],
                                   name=r["_label"] or r["部门"], first_row=seen[key]))
        else:
            seen[key] = r["_row"]
    return out


def _check(data: AnnexInput, check: Check, r: dict, msg: Messages) -> Problem | None:
    spec = data.spec
    values = [r[p] for p in (check.whole, *check.parts)]
    if not all(present(v) for v in values):
        return None  # missing cells are reported on their own
    whole = to_decimal(r[check.whole])
    parts = [to_decimal(r[p]) for p in check.parts]
    ctype = spec.column(check.whole).type
    if check.rule == "part_le_whole" and parts[0] > whole:
        return msg.problem("check.part_exceeds_whole", spec.sheet, data.cell(r["_row"], check.parts[0]), r["部门"],
                           part=check.parts[0], part_value=_fmt(ctype, parts[0]), whole=check.whole,
                           whole_value=_fmt(ctype, whole))
    if check.rule == "parts_sum_to_whole" and sum(parts, Decimal(0)) != whole:
        return msg.problem("check.parts_sum_mismatch", spec.sheet, data.cell(r["_row"], check.whole), r["部门"],
                           parts="＋".join(f"“{p}”" for p in check.parts),
                           parts_value=_fmt(ctype, sum(parts, Decimal(0))), whole=check.whole,
                           whole_value=_fmt(ctype, whole))
    return None


def _printed_vs(data: AnnexInput, printed: dict, recomputed: dict, department: str, label: str,
                msg: Messages, tol_pp: float, tol_total: float) -> list[Problem]:
    """Compare a printed row (department, reference or total) with its recomputed values."""
    spec = data.spec
    out = []
    for col in spec.value_columns:
        p = printed.get(col.name)
        if not present(p) or col.type == "text":
            continue
        where = data.cell(printed["_row"], col.name)
        if col.role == "computed":
            # against the exact value: a correctly rounded print is always within 0.005 pp of it
            target = exact(col, recomputed)
            if target is None:
                continue
            if col.type == "ratio" and abs(to_decimal(p) - target) > Decimal(str(tol_pp)) + Decimal("1e-9"):
                out.append(msg.problem("printed.ratio_mismatch", spec.sheet, where, department, column=col.name,
                                       printed=_fmt("ratio", p), computed=_fmt("ratio", round_half_up(target)),
                                       formula=col.formula.describe()))
            elif col.type != "ratio" and abs(to_decimal(p) - target) > Decimal(str(tol_total)):
                out.append(msg.problem("printed.value_mismatch", spec.sheet, where, department, column=col.name,
                                       printed=_fmt(col.type, p), computed=_fmt(col.type, target),
                                       formula=col.formula.describe()))
        elif label:  # an input of a total row: the sum (or weighted figure) of its rows
            target = recomputed.get(col.name)
            if not present(target):
                continue
            tol = Decimal(str(tol_pp if col.type == "ratio" else tol_total)) + Decimal("1e-9")
            if abs(to_decimal(p) - to_decimal(target)) > tol:
                out.append(msg.problem("printed.total_mismatch", spec.sheet, where, "", label=label,
                                       column=col.name, printed=_fmt(col.type, p), computed=_fmt(col.type, target)))
    return out


def validate(data: AnnexInput, result: AnnexResult, msg: Messages, *, ratio_tolerance_pp: float = 0.005,
             total_tolerance: float = 1e-6) -> list[Problem]:
    spec: AnnexSpec = data.spec
    problems = _duplicates(data, msg)
    recomputed = {r["_row"]: r for r in result.records}
    for r in data.records:
        kind = r["_kind"]
        if kind in ("department", "reference"):
            for check in spec.checks:
                p = _check(data, check, r, msg)
                if p:
                    problems.append(p)
            dept = r["部门"] if kind == "department" else ""
            problems += _printed_vs(data, r, recomputed[r["_row"]], dept, "", msg, ratio_tolerance_pp,
                                    total_tolerance)
        elif kind == "total" and result.total is not None:
            problems += _printed_vs(data, r, result.total, "", r["_label"], msg, ratio_tolerance_pp,
                                    total_tolerance)
        elif kind == "subtotal" and r["_section"] in result.subtotals:
            problems += _printed_vs(data, r, result.subtotals[r["_section"]], "", f"{r['_section']}小计", msg,
                                    ratio_tolerance_pp, total_tolerance)
    return problems
