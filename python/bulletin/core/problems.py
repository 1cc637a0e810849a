"""Problems found in the input: one record per problem, all gathered in one pass (lazy validation)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

PROBLEM_HEADERS = {"severity": "严重程度", "sheet": "工作表", "cell": "单元格", "department": "部门",
                   "rule": "规则", "message": "说明"}
SEVERITY_ZH = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class Problem:
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


class Messages:
    """Rule id -> severity and Chinese wording (data/messages.yaml)."""

    def __init__(self, table: Mapping[str, Mapping[str, str]]):
        for rule, entry in table.items():
            if set(entry) != {"severity", "message"} or entry["severity"] not in ("error", "warning"):
                raise ValueError(f"messages: bad entry for {rule!r}: {entry}")
        self.table = dict(table)

    def problem(self, rule: str, sheet: str, cell: str = "", department: str = "", **values: Any) -> Problem:
        entry = self.table[rule]
        return Problem(sheet, cell, department or "", rule, entry["severity"], entry["message"].format(**values))


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
