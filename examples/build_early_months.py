"""Writes made-up January–April 2023 input workbooks, for the demo's trend charts only.

SYNTHETIC: no real bulletin of these months is at hand. Each month is the May 2023 sample
(itself made up from June, see build_samples.py) with the few explicit figures of EARLY below, chosen
to show a plausible slow progress towards May; every ratio and total is the engine's recomputation of the
edited inputs, so `bulletin check` finds no problem. Annex 1's 即办件 edits are mirrored in annex 2 (the
items were 一日办结 then), as the agreement check asks; the 总体情况 figures that repeat an annex are left
blank (the text takes them from the annexes).

    python examples/build_early_months.py OUT_DIR     # OUT_DIR/通报数据-2023-01.xlsx … -04.xlsx
"""
from __future__ import annotations

import calendar
import copy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_samples import MAY_SCALARS, apply_edits, may_tables, recomputed, write  # noqa: E402

JUNE_FOLDER = HERE / "2023-06" / "reference"

# month -> (scalars, {sheet: {department or (department, 证照类型名称): {input column: value}}}); the values
# replace May's (May: 交通局 即办件 89 of 89, 医保局 承诺时限 66, 食品经营许可证 1801, 民政局 挂载 8 of 31,
# 卫健委 主项覆盖 24 of 29, 好差评 168583).
EARLY = {
    "2023-04": ({"好差评主动评价量": 142871, "差评件数": 2, "差评已整改件数": 1}, {
        "附件1": {"交通局": {"即办件事项数": 80}},
        "附件3": {("市场监管局", "食品经营许可证"): {"已签章数量": 1650}},
        "附件4": {"民政局": {"已挂载资源目录数": 6}},
        "附件5": {"卫健委": {"主项覆盖数": 22, "行政处罚覆盖数": 150}},
    }),
    "2023-03": ({"好差评主动评价量": 120560, "差评件数": 1, "差评已整改件数": 1}, {
        "附件1": {"交通局": {"即办件事项数": 70}, "住建局": {"即办件事项数": 80}},
        "附件2": {"医保局": {"承诺时限（工作日）": 120}},
        "附件3": {("市场监管局", "食品经营许可证"): {"已签章数量": 1500}},
        "附件4": {"民政局": {"已挂载资源目录数": 4}},
        "附件5": {"卫健委": {"主项覆盖数": 20, "行政处罚覆盖数": 140}},
    }),
    "2023-02": ({"好差评主动评价量": 88410, "差评件数": 1, "差评已整改件数": 0}, {
        "附件1": {"交通局": {"即办件事项数": 60}, "住建局": {"即办件事项数": 70}},
        "附件2": {"医保局": {"承诺时限（工作日）": 180}},
        "附件3": {("市场监管局", "食品经营许可证"): {"已签章数量": 1380}},
        "附件4": {"民政局": {"已挂载资源目录数": 3}, "水利局": {"已挂载资源目录数": 4}},
        "附件5": {"卫健委": {"主项覆盖数": 18, "行政处罚覆盖数": 130}, "市场监管局": {"主项覆盖数": 8}},
    }),
    "2023-01": ({"好差评主动评价量": 61230, "差评件数": 0, "差评已整改件数": 0}, {
        "附件1": {"交通局": {"即办件事项数": 50}, "住建局": {"即办件事项数": 60}},
        "附件2": {"医保局": {"承诺时限（工作日）": 240}},
        "附件3": {("市场监管局", "食品经营许可证"): {"已签章数量": 1240}},
        "附件4": {"民政局": {"已挂载资源目录数": 2}, "水利局": {"已挂载资源目录数": 3}},
        "附件5": {"卫健委": {"主项覆盖数": 15, "行政处罚覆盖数": 120}, "市场监管局": {"主项覆盖数": 6}},
    }),
}


# 总体情况 figures that repeat an annex: not stated for the made-up months
REPEATED = ("电子证照总量", "数据共享归集数据量", "发布资源目录总数", "挂载资源目录数", "第二批排查事项总数")


def month_tables(may, edits: dict):
    rows, totals, subtotals, refs = copy.deepcopy(may)
    for sheet, changes in edits.items():
        apply_edits(sheet, rows[sheet], changes)
    for department, changes in edits.get("附件1", {}).items():  # annex 2 says the same about 即办件
        if "即办件事项数" in changes:
            row = next(r for r in rows["附件2"] if r["部门"] == department)
            moved = row["即办件事项数"] - changes["即办件事项数"]
            apply_edits("附件2", rows["附件2"], {department: {"即办件事项数": changes["即办件事项数"],
                                                             "一日办结事项数": row["一日办结事项数"] + moved}})
    return recomputed(rows, totals, subtotals, refs)


def main(out_dir: Path) -> list[Path]:
    may = may_tables(JUNE_FOLDER)
    written = []
    for month, (scalars, edits) in sorted(EARLY.items()):
        year, m = map(int, month.split("-"))
        values = {**MAY_SCALARS, "月份": month, "统计截止日期": f"{month}-{calendar.monthrange(year, m)[1]:02d}",
                  **{k: None for k in REPEATED}, **scalars}
        written.append(write(month_tables(may, edits), values, out_dir / f"通报数据-{month}.xlsx"))
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("用法：python examples/build_early_months.py 输出目录")
    for path in main(Path(sys.argv[1])):
        print(path)
