"""Problems found in the input: one record per problem, all gathered in one pass (lazy validation)."""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from ..errors import ConfigError, check_keys, expect
from .numbers import excerpt

QUOTED_CHARS = 400  # a placeholder's text at most (composed hints included); a cell's value is cut at 40 where read

PROBLEM_HEADERS = {"severity": "严重程度", "sheet": "工作表", "cell": "单元格", "department": "部门",
                   "rule": "规则", "message": "说明"}
SEVERITY_ZH = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class Problem:
    """One input problem: where (sheet, cell, department), which rule, and the clerk's message."""

    sheet: str
    cell: str  # e.g. "F25"; empty for a whole-sheet problem
    department: str
    rule: str
    severity: str  # error | warning
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet


# Every problem the engine reports, with the placeholders it fills: messages.yaml must word each of them
# and may use only these placeholders (a typo in one would otherwise fail in the middle of a check).
RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "sheet.missing": ("sheet_name",),
    "header.missing": ("column",),
    "scalar.missing": ("name",),
    "scalar.invalid": ("name", "value", "expected"),
    "value.missing": ("column",),
    "value.not_number": ("column", "value"),
    "value.excel_error": ("column", "value"),
    "value.negative": ("column", "value"),
    "value.not_integer": ("column", "value"),
    "value.percent_not_allowed": ("column", "value"),
    "value.percent_format": ("column", "value"),
    "value.ratio_range": ("column", "value"),
    "value.too_large": ("column", "value", "limit"),
    "value.too_long": ("column", "value", "limit"),
    "value.invisible_char": ("column", "value"),
    "value.uncalculated": ("column",),
    "scalar.out_of_month": ("name", "value", "month"),
    "scalar.relation": ("part", "part_value", "whole", "whole_value"),
    "param.invalid": ("name", "value", "expected"),
    "text.too_long": ("item", "value", "limit"),
    "value.zero_width": ("column", "value", "chars"),
    "department.missing_name": (),
    "department.unknown": ("name", "nearest", "unit", "short", "full", "annex"),
    "department.retired": ("name", "unit"),
    "department.duplicate": ("name", "first_row"),
    "department.incomplete": ("name", "column"),
    "department.name_clash": ("spelling", "first", "first_cell", "second", "second_cell"),
    "department.invalid": ("name", "column", "value", "expected"),
    "department.retire_unknown": ("name",),
    "department.unknown_column": ("column", "known"),
    "check.part_exceeds_whole": ("part", "part_value", "whole", "whole_value"),
    "check.parts_sum_mismatch": ("parts", "parts_value", "whole", "whole_value"),
    "check.agreement_mismatch": ("who", "left", "left_value", "right", "right_value"),
    "printed.ratio_mismatch": ("column", "printed", "formula", "computed"),
    "printed.value_mismatch": ("column", "printed", "formula", "computed"),
    "printed.total_mismatch": ("label", "column", "printed", "computed"),
    "text.unknown_item": ("item", "known"),
}
SEVERITIES = tuple(SEVERITY_ZH)


class Messages:
    """Rule id -> severity and Chinese wording (data/messages.yaml), checked against RULE_FIELDS."""

    def __init__(self, table: Mapping[str, Mapping[str, str]], file: str = "messages.yaml"):
        for rule, entry in table.items():
            if rule not in RULE_FIELDS:
                raise ConfigError(file, rule, f"不认识的规则编号；可用的编号：{'、'.join(RULE_FIELDS)}")
            check_keys(file, entry, ("severity", "message"), required=("severity", "message"), where=rule)
            expect(file, f"{rule} 的 message", entry["message"], "text")
            if entry["severity"] not in SEVERITIES:
                raise ConfigError(file, f"{rule} 的 severity", "应为 error 或 warning")
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(str(entry["message"])) if f is not None}
            except ValueError:
                raise ConfigError(file, f"{rule} 的 message", "花括号不成对（占位符应写成 {column} 这样）") from None
            for name in sorted(used - set(RULE_FIELDS[rule])):
                allowed = "、".join("{" + f + "}" for f in RULE_FIELDS[rule]) or "无"
                raise ConfigError(file, f"{rule} 的 message", f"占位符 {{{name}}} 不认识；可用：{allowed}")
        for rule in RULE_FIELDS:
            if rule not in table:
                raise ConfigError(file, rule, "缺少此规则的说法")
        self.table = dict(table)

    def problem(self, rule: str, sheet: str, cell: str = "", department: str = "", **values: Any) -> Problem:
        """Every quoted text is cut to a short head (a 100,000-character cell is named, not copied)."""
        entry = self.table[rule]
        values = {k: excerpt(v, QUOTED_CHARS) if isinstance(v, str) else v for k, v in values.items()}
        return Problem(sheet, cell, excerpt(department or ""), rule, entry["severity"],
                       str(entry["message"]).format(**values))


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
