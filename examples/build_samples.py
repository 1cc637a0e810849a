"""Builds the sample input workbooks from the reference tables (run by `make samples`).

examples/2023-06/通报数据-2023-06.xlsx holds the June 2023 tables of 殷都区 exactly as printed
(examples/2023-06/reference/annexN.tsv), printed ratios and totals included, so the engine's checks
find the printed contradictions in the workbook as they do in the TSVs.

examples/2023-05/通报数据-2023-05.xlsx is the month before, made up for the month-over-month comparison
(no May bulletin is at hand): the June tables with the explicit May figures of MAY_ITEMS and MAY_EDITS
below, chosen so that the engine's May figures give exactly the changes the June text states (即办件占比
65.22% → 62.71%, 压缩比例 94.17% → 92.25% with 公安分局 63.45% → 16.65%, 证照总量 40890 → 41327,
资源挂载率 unchanged, 好差评 168583 → 205509). Every ratio and total of the May workbook is the engine's
own recomputation of its inputs, so the May workbook has no printed contradiction at all.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from bulletin.adapters.tsv_files import read_tsv_folder  # noqa: E402
from bulletin.actions.month import layout_options  # noqa: E402
from bulletin.adapters.workbook_layout import lay_out  # noqa: E402
from bulletin.adapters.xlsx_output import save_new  # noqa: E402
from bulletin.config import load_settings  # noqa: E402
from bulletin.core.intake import read_annex  # noqa: E402
from bulletin.core.recompute import compute_row, total_of  # noqa: E402
from bulletin.engine import context  # noqa: E402
from bulletin.spec import ANNEXES, annex  # noqa: E402

JUNE_SCALARS = {"月份": "2023-06", "统计截止日期": "2023-06-30", "网上政务服务事项总数": 1645,
                "好差评主动评价量": 205509, "差评件数": 2, "差评已整改件数": 2,
                # the June text's other figures, each checked against the annex that repeats it
                "未计入附件事项数": 1, "未计入原因": "公安分局1个事项不属分局权限", "电子证照总量": 41327,
                "数据共享归集数据量": 665156, "发布资源目录总数": 117, "挂载资源目录数": 73, "第二批排查事项总数": 200,
                "锦旗数": 1, "表扬信数": 1}

# The June bulletin's 发文字号 and 印发日期 (殷放管服办〔2023〕18号, issued 2023-07-10), on its 参数 sheet.
JUNE_PARAMS = {"发文字号": "殷放管服办〔2023〕18号", "印发日期": "2023-07-10"}

# The June text's paragraphs that no table holds (sheet 文字素材), as the office wrote them.
JUNE_TEXTS = {
    "总体说明": ["在部分单位事项动态调整重新报送即办件及压缩时限情况后，"],
    "进展较大单位": ["6月份，区政务服务大厅主动邀评率较5月份进展明显，公安窗口、交通局综合受理窗口、企业开办窗口均能积极"
                "主动邀请群众进行评价；本月交通局收到企业锦旗1面，医保窗口收获群众表扬信1封。"],
    "报送配合": ["结合日常工作，个别单位存在报送不及时、不主动的现象，如：民宗局截止《殷都区系统性重塑行政审批制度推进"
             "政务服务标准化规范化便利化改革方案》殷政办〔2023〕42号文件发布时仍无回复意见；退役军人事务局、金融局、"
             "商务局截止全区发布时仍未报送《中介服务事项清单（2023年）》和《特殊环节目录清单（2023年）》"],
    "大厅纪律": ["存在派驻单位窗口人员请假未能及时派驻 B 岗人员替岗，造成群众大批量等待或重复跑趟情况，如民政局"],
}

# -- May 2023 ---------------------------------------------------------------------------------------
# The June text: "在部分单位事项动态调整重新报送即办件及压缩时限情况后，即办件占比、承诺时限压缩比例指标
# 有所降低（其中公安分局1个事项不属分局权限未计入）" and "受河南省事项目录调整影响，公安分局事项压缩比由
# 5月份63.45%降至16.65%". So in May a few departments still had more 即办件, and 公安分局 had more items
# and far shorter 承诺时限. Departments are the registry's names (data/departments.csv).

MAY_SCALARS = {"月份": "2023-05", "统计截止日期": "2023-05-31",
               "网上政务服务事项总数": 1656,  # = annex 1's May total: in May no item was left out
               "好差评主动评价量": 168583,  # June 205509, "较5月份增长36926件"
               "差评件数": 2, "差评已整改件数": 2,  # year to date; June has no new one ("1-6月共2个差评件")
               "未计入附件事项数": 0, "电子证照总量": 40890, "数据共享归集数据量": 665156, "发布资源目录总数": 117,
               "挂载资源目录数": 73, "第二批排查事项总数": 200}

# Annexes 1 and 2 share 事项总数 and 即办件事项数: one table for both keeps them consistent (annex 1 takes
# the columns it has). In annex 2 即办件 + 一日办结 + 非一日办结 = 事项总数 still holds for every row.
MAY_ITEMS = {
    # 12 more items in May: 11 the provincial catalogue adjustment removed in June, and the one June
    # leaves out (不属分局权限); all 非一日办结. Its time limits before the June re-report: 63.45%
    # compressed ((2008 − 734) / 2008). The only time limits that differ from June's, so this row alone
    # moves the district 压缩比例 (94.17% in May).
    "公安分局": {"事项总数": 155, "非一日办结事项数": 88,  # June 143, 76
             "法定时限（工作日）": 2008, "承诺时限（工作日）": 734},  # June 1838, 1532
    # re-reported in June: these 即办件 became 一日办结 (same items, same time limits)
    "人社局": {"即办件事项数": 145, "一日办结事项数": 77},  # June 125 / 97
    "自然资源局": {"即办件事项数": 121, "一日办结事项数": 38},  # June 106 / 53
    "民政局": {"即办件事项数": 20, "一日办结事项数": 43},  # June 12 / 51
    "卫健委": {"即办件事项数": 89, "一日办结事项数": 22},  # June 83 / 28
}

# The other annexes: sheet -> department (annex 3: (department, 证照类型名称)) -> {input column: May value}.
MAY_EDITS = {
    "附件3": {  # certificates signed during June: 152 + 100 + 71 + 77 + 37 = 437 fewer in May
        ("市场监管局", "食品经营许可证"): {"已签章数量": 1801},  # June 1953
        ("交通局", "中华人民共和国道路运输经营许可证"): {"已签章数量": 510},  # June 610
        ("卫健委", "医师执业证书"): {"已签章数量": 1380},  # June 1451
        ("卫健委", "护士执业证书"): {"已签章数量": 1020},  # June 1097
        ("文广体旅局", "社会体育指导员证书"): {"已签章数量": 760},  # June 797
    },
    # 附件4: unchanged ("资源挂载率为62.39%，较5月份无变化", "6月份数据共享资源归集无进展")
    "附件5": {  # a little less coverage in May; the departments at 0% were at 0% in May too
        "卫健委": {"主项覆盖数": 24, "行政处罚覆盖数": 160, "行政处罚汇聚数": 160},  # June 26, 168, 168
        "农业农村局": {"主项覆盖数": 14, "行政检查覆盖数": 10, "行政检查汇聚数": 17},  # June 15, 11, 19
        "市场监管局": {"主项覆盖数": 10, "行政处罚覆盖数": 30, "行政处罚汇聚数": 38},  # June 12, 33, 41
    },
    "附件6": {  # 办件量 is cumulative (1-5月 in May): the busiest departments had fewer
        "人社局": {"部门报送数据": 23450, "电子监察数据": 7012},  # June 28079, 8386
        "医保局": {"部门报送数据": 11596, "电子监察数据": 318},  # June 13868, 383
        "市场监管局": {"部门报送数据": 9034, "电子监察数据": 281},  # June 10825, 333
        "税务局": {"部门报送数据": 1402, "电子监察数据": 158390},  # June 1685, 189762
        "退役军人事务局": {"部门报送数据": 17455, "电子监察数据": 38, "综窗办理数据": 33},  # June 20946, 45, 40
        "自然资源局": {"部门报送数据": 2990, "电子监察数据": 127, "综窗办理数据": 20},  # June 3588, 154, 24
        "民政局": {"部门报送数据": 2133, "电子监察数据": 42, "综窗办理数据": 17},  # June 2561, 51, 21
        "发改委": {"部门报送数据": 1746, "电子监察数据": 2833},  # June 2095, 3401
    },
    "附件7": {  # less progress in May; 残联, 公安分局, 人社局, 税务局, 医保局 had none either (June: "无进展")
        "自然资源局": {"已完成事项": 2},  # June 4
        "卫健委": {"已完成事项": 1},  # June 3
        "市场监管局": {"已完成事项": 2},  # June 4
    },
    "附件8": {  # May's attendance (a monthly table); 水利局 has no staff in the hall in May either
        "市场监管局": {"请假人数": 4, "累计请假天数": 6},  # June 6, 9
        "民政局": {"请假人数": 3, "累计请假天数": 11},  # June 4, 17.5
        "自然资源局": {"请假人数": 6, "累计请假天数": 12.5, "累计公出（小时）": 41},  # June 8, 16, 48
        "交通局": {"公出人数": 5, "累计公出（小时）": 63},  # June 6, 74
        "林业局": {"累计公出（小时）": 70},  # June 79
        "住建局": {"缺卡人数": 0, "累计缺卡次数": 0, "累计公出（小时）": 22},  # June 1, 5, 14.5
        "中国人寿": {"请假人数": 1, "累计请假天数": 0.5},  # June 2, 1
    },
}


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


def apply_edits(sheet: str, rows: list[dict], edits: dict) -> None:
    """Set the listed input cells; each key must name exactly one row, each column an input of the sheet."""
    spec = annex(sheet)
    for key, changes in edits.items():
        department, *keys = key if isinstance(key, tuple) else (key,)
        found = [r for r in rows if r["部门"] == department
                 and [r[c.name] for c in spec.key_columns][:len(keys)] == keys]
        if len(found) != 1:
            raise ValueError(f"{sheet}: {key!r} matches {len(found)} rows")
        for column, value in changes.items():
            if spec.column(column).role != "input":
                raise ValueError(f"{sheet}: {column!r} is not an input column")
            found[0][column] = value


def recomputed(rows, totals, subtotals, refs):
    """Every computed cell and total row replaced by the engine's recomputation of the rows' inputs."""
    for spec in ANNEXES:
        sheet = spec.sheet
        rows[sheet] = [compute_row(spec, r) for r in rows[sheet]]
        refs[sheet] = [compute_row(spec, r) for r in refs[sheet]]
        numeric = [c.name for c in spec.value_columns if c.is_numeric]
        if totals[sheet] is not None:
            fresh = total_of(spec, rows[sheet])
            totals[sheet].update({n: fresh[n] for n in numeric})
        for section, subtotal in subtotals[sheet].items():
            fresh = total_of(spec, [r for r in rows[sheet] if r["_section"] == section])
            subtotal.update({n: fresh[n] for n in numeric})
    return rows, totals, subtotals, refs


def may_tables(june_folder: Path):
    """The June tables with MAY_ITEMS and MAY_EDITS applied, every ratio and total recomputed."""
    rows, totals, subtotals, refs = copy.deepcopy(printed_tables(june_folder))
    for sheet in ("附件1", "附件2"):  # annex 2 has every column of MAY_ITEMS (apply_edits checks)
        names = {c.name for c in annex(sheet).columns}
        apply_edits(sheet, rows[sheet], {d: {c: v for c, v in e.items() if c in names}
                                         for d, e in MAY_ITEMS.items()})
    for sheet, edits in MAY_EDITS.items():
        apply_edits(sheet, rows[sheet], edits)
    return recomputed(rows, totals, subtotals, refs)


def write(tables, scalars: dict, out: Path, texts: dict | None = None, params: dict | None = None) -> Path:
    rows, totals, subtotals, refs = tables
    wb = lay_out(load_settings().district, rows, scalars, totals=totals, subtotals=subtotals, references=refs,
                 texts=texts, **layout_options())
    for row in wb["参数"].iter_rows(min_row=2):  # this month's document lines, as staff fill them
        if row[0].value in (params or {}):
            row[1].value = params[row[0].value]
    return save_new(wb, out)


def build(folder: Path, scalars: dict, out: Path, texts: dict | None = None, params: dict | None = None) -> Path:
    return write(printed_tables(folder), scalars, out, texts, params)


if __name__ == "__main__":
    june = HERE / "2023-06" / "reference"
    print(build(june, JUNE_SCALARS, HERE / "2023-06" / "通报数据-2023-06.xlsx", JUNE_TEXTS, JUNE_PARAMS))
    print(write(may_tables(june), MAY_SCALARS, HERE / "2023-05" / "通报数据-2023-05.xlsx"))
