"""Builds the sample input workbooks from the reference tables (run by `make samples`).

examples/2023-06/通报数据-2023-06.xlsx holds the June 2023 tables of 殷都区 exactly as printed
(examples/2023-06/reference/annexN.tsv), printed ratios and totals included, so the engine's checks
find the printed contradictions in the workbook as they do in the TSVs.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from bulletin.adapters.tsv_files import read_tsv_folder  # noqa: E402
from bulletin.adapters.xlsx_output import new_input_workbook, save_new  # noqa: E402
from bulletin.config import load_settings  # noqa: E402
from bulletin.core.intake import read_annex  # noqa: E402
from bulletin.engine import context  # noqa: E402
from bulletin.spec import ANNEXES  # noqa: E402

JUNE_SCALARS = {"月份": "2023-06", "统计截止日期": "2023-06-30", "网上政务服务事项总数": 1645,
                "好差评主动评价量": 205509, "差评件数": 2, "差评已整改件数": 2}


def printed_tables(folder: Path):
    """Rows, totals, subtotals and reference rows exactly as printed in the reference TSVs."""
    grids = read_tsv_folder(folder)
    ctx = context()
    rows, totals, subtotals, refs = {}, {}, {}, {}
    for spec in ANNEXES:
        data = read_annex(spec, grids[spec.sheet], ctx)
        records = [dict(r) for r in data.records]
        index = spec.index_column.name if spec.index_column else None
        name = spec.name_column.name
        for r in records:
            if index:
                r[index] = grids[spec.sheet].value(r["_row"], data.columns[index]) if index in data.columns else None
            if r["_kind"] in ("department", "reference"):
                r[name] = r["_label"]
        if spec.fill_down_name:  # merged cells: the name stands on the first row of its group only
            previous = None
            for r in records:
                if r["_kind"] == "department":
                    r[name], previous = (None if r["_label"] == previous else r["_label"]), r["_label"]
        rows[spec.sheet] = [r for r in records if r["_kind"] == "department"]
        refs[spec.sheet] = [r for r in records if r["_kind"] == "reference"]
        totals[spec.sheet] = next((r for r in records if r["_kind"] == "total"), None)
        subtotals[spec.sheet] = {r["_section"]: r for r in records if r["_kind"] == "subtotal"}
    return rows, totals, subtotals, refs


def build(folder: Path, scalars: dict, out: Path) -> Path:
    rows, totals, subtotals, refs = printed_tables(folder)
    wb = new_input_workbook(load_settings().district, rows, scalars, totals=totals, subtotals=subtotals,
                            references=refs)
    return save_new(wb, out)


if __name__ == "__main__":
    print(build(HERE / "2023-06" / "reference", JUNE_SCALARS, HERE / "2023-06" / "通报数据-2023-06.xlsx"))
