"""The action layer: each step of the monthly job, written once for the CLI (and later the buttons)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapters.xlsx_files import read_grids
from .adapters.xlsx_output import new_input_workbook, save_new, write_output
from .config import load_registry, load_settings
from .core.month import MonthData, month_json, parse_month
from .engine import compute
from .spec import ANNEXES


class UsageError(Exception):
    """Wrong arguments (message in Chinese)."""


@dataclass
class Outcome:
    data: MonthData | None
    output: Path | None = None

    def json(self) -> dict[str, Any]:
        result = month_json(self.data) if self.data else {}
        if self.output:
            result["output"] = str(self.output)
        return result

    @property
    def exit_code(self) -> int:
        return 1 if self.data is not None and self.data.has_errors else 0


def _month(month: str | None) -> str | None:
    if month is None:
        return None
    parsed = parse_month(month)
    if not parsed:
        raise UsageError(f"月份“{month}”格式不对，应为 2023-06 这样的形式")
    return parsed


def check(workbook: Path, month: str | None = None) -> Outcome:
    return Outcome(compute(read_grids(Path(workbook)), month=_month(month)))


def default_output(workbook: Path, data: MonthData, out_dir: Path | None) -> Path:
    out_dir = Path(out_dir) if out_dir else Path("out")
    return out_dir / f"通报结果-{data.month or Path(workbook).stem}.xlsx"


def recalc(workbook: Path, out_dir: Path | None = None, month: str | None = None) -> Outcome:
    """Check + recompute + output workbook (written even when there are errors: it lists them)."""
    outcome = check(workbook, month)
    outcome.output = write_output(Path(workbook), outcome.data, default_output(workbook, outcome.data, out_dir))
    return outcome


def run(workbook: Path, out_dir: Path | None = None, month: str | None = None) -> Outcome:
    return recalc(workbook, out_dir, month)


def template(month: str, out: Path) -> Outcome:
    """An empty input workbook for a month, each annex prefilled with its usual departments."""
    month = _month(month)
    if not month:
        raise UsageError("请用 --month 指定月份，如 --month 2023-07")
    settings, registry = load_settings(), load_registry()
    rows = {}
    for spec in ANNEXES:
        name = spec.name_column.name
        rows[spec.sheet] = [{name: d.short, "_section":
                             "公共服务单位" if d.category == "公共服务单位" else None}
                            for d in registry.in_annex(spec.number)]
    references = {spec.sheet: [{spec.name_column.name: settings.reference_name(k)} for k in spec.reference_rows]
                  for spec in ANNEXES}
    wb = new_input_workbook(settings.district, rows, {"月份": month}, references=references)
    return Outcome(None, save_new(wb, Path(out)))
