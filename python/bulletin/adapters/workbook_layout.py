"""The layout of the input workbook and of bulletin.xlsm (one layout for both): 控制台, 总体情况, 附件1 … 附件8,
部门, 参数, 文字素材, 问题文本, 校验结果. Wording staff see lives here as data, not in code paths."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from ..spec import (ANNEXES, CONSOLE_SHEET, DEPT_SHEET, PARAM_SHEET, PROBLEM_SHEET, RATIO_UNIT_PARAM, SCALAR_SHEET,
                    SCALARS, TEXT_SHEET)
from .xlsx_output import (BORDER, HEADER_FILL, TEXT_HEADERS, TEXT_SHEET_OUT, append, put, write_annex_sheet,
                          write_scalar_sheet, write_texts_input_sheet)

# 控制台 cells the buttons report into (label in column A, value in column B).
CONSOLE_ROWS = {"月份": 3, "上次操作": 5, "时间": 6, "结果": 7, "输出文件": 8, "历史库": 9}
# The buttons: caption -> (VBA Sub, entry point in bulletin.excel). Placed on 控制台 in this order.
BUTTONS = (
    ("校验数据", "BulletinCheck", "check"),
    ("重新计算", "BulletinRecalculate", "recalculate"),
    ("与上月比较", "BulletinCompare", "compare"),
    ("生成问题文本", "BulletinNarrate", "narrate"),
    ("生成通报文档", "BulletinRenderDocument", "render_document"),
    ("邮件预览", "BulletinMailPreview", "mail_preview"),
    ("结转下月", "BulletinCloseMonth", "close_month"),
    ("检查环境", "BulletinCheckEnvironment", "check_environment"),
    # 报送: the collection loop (fill-in workbooks out, returns in from the 回传 folder, the table, reminders)
    ("下发报送表", "BulletinCollectSend", "collect_send"),
    ("导入回传", "BulletinCollectImport", "collect_import"),
    ("报送情况", "BulletinCollectStatus", "collect_status"),
    ("催报", "BulletinCollectRemind", "collect_remind"),
)
CONSOLE_STEPS = (
    "使用步骤：",
    "1. 点“下发报送表”为各单位生成填报工作簿和邮件草稿；各单位回传的工作簿放进本工作簿旁的“回传”文件夹，点“导入回传”"
    "（检查无误的并入各附件，有错的生成退回邮件）；“报送情况”列出未报、逾期、退回的单位，“催报”给他们发催报邮件。"
    "也可把各单位报来的数字直接粘贴到“附件1”至“附件8”的白色单元格（灰色列由程序计算，不要填写）；在“总体情况”填写月份和全区数字。",
    "2. 点“校验数据”：问题列在“校验结果”表，点其中的单元格地址可跳到出错处。",
    "3. 点“重新计算”：计算各比例和合计，并按规则在“状态”列标出红/黄（可手工修改）。",
    "4. 点“与上月比较”“生成问题文本”：问题文本写入“问题文本”表，D列可直接修改，再次生成时保留修改。",
    "5. 点“生成通报文档”“邮件预览”；核对无误后点“结转下月”，把本月数据存入历史库（history.sqlite）。",
    "出现问题时点“检查环境”，把弹出的信息发给信息科。",
)
# 参数 rows besides the rule thresholds (whose wording is rules.yaml's explain): what each one is for.
PARAM_NOTES = {
    RATIO_UNIT_PARAM: "比例环比变化的说法：“%”（较5月份降低2.51%）或“个百分点”（降低2.51个百分点）",
    "发文机关标志": "文件首页红头",
    "发文字号": "如 殷放管服办〔2023〕18号；每期不同，请填写",
    "标题": "通报标题",
    "主送": "主送机关",
    "印发机关": "版记中的印发机关",
    "印发日期": "版记中的印发日期，如 2023-07-10；留空则取生成当天",
}


@dataclass(frozen=True)
class ParamRow:
    """A row of the 参数 sheet: the staff file that holds the value, and that value (shown in 说明)."""

    name: str
    file: str
    file_value: Any
    explain: str


def _header(ws: Worksheet, values: Sequence[str], widths: Sequence[int]) -> None:
    append(ws, list(values))
    for c in ws[ws.max_row]:
        c.fill, c.font, c.border = HEADER_FILL, Font(bold=True), BORDER
    for i, width in enumerate(widths):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"


def write_console_sheet(ws: Worksheet, district: str) -> None:
    """Title, the month (from 总体情况), the last run's status; the buttons are drawn over column D-G."""
    ws.title = CONSOLE_SHEET
    put(ws, 1, 1, f"{district}政务服务能力提升月度通报 · 控制台")
    ws["A1"].font = Font(bold=True, size=16)
    month_row = 2 + next(i for i, s in enumerate(SCALARS) if s.name == "月份")
    for label, r in CONSOLE_ROWS.items():
        put(ws, r, 1, label).font = Font(bold=True)
        ws.cell(r, 2).border = BORDER
    ws.cell(CONSOLE_ROWS["月份"], 2, f"='{SCALAR_SHEET}'!B{month_row}")  # the one formula of our own text
    put(ws, CONSOLE_ROWS["上次操作"], 2, "尚未运行")
    for i, line in enumerate(CONSOLE_STEPS):
        put(ws, 12 + i, 1, line).alignment = Alignment(vertical="top")
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 12, 36
    for letter in "DEFG":
        ws.column_dimensions[letter].width = 12


DEPT_NOTE = ("本表只写与部门名录不同之处，留空即用名录。新增单位：填一行，部门、简称、全称、附件必填。改已有单位：填部门和要改的列，"
             "空白的列沿用名录。停用填“是”：本月起不再列入。结转后，以后各月的工作簿会带上本表所写。")


def write_department_sheet(ws: Worksheet, columns: Sequence[str],
                           rows: Sequence[Mapping[str, Any]] = ()) -> None:
    """部门: the registry's columns and the rows this workbook lays over the office registry: none, or those
    earlier months' workbooks set (a unit added once stays)."""
    _header(ws, list(columns), [14, 14, 34, 30, 12, 18, 30, 24, 12, 40, 8][:len(columns)] or [14])
    note = put(ws, 1, len(columns) + 2, DEPT_NOTE)
    note.font = Font(color="595959")
    for r, row in enumerate(rows or [{}], start=2):
        for c, name in enumerate(columns, start=1):
            value = row.get(name)
            cell = put(ws, r, c, str(value)) if value not in (None, "") else ws.cell(r, c)  # text, never a formula
            cell.number_format = "@"  # 附件 "1,2,3" is text, not a number


def _shown(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return "空" if value in (None, "") else str(value)


def write_param_sheet(ws: Worksheet, rows: Sequence[ParamRow]) -> None:
    """参数: every value cell empty, so the staff files stay the one source; 说明 says what the file holds
    and that a value filled in here wins for this workbook."""
    _header(ws, ("参数", "值", "说明"), (16, 60, 70))
    for row in rows:
        append(ws, [row.name, None, f"{row.explain}。{row.file} 中为“{_shown(row.file_value)}”；留空即用此值，"
                                   f"填写则本工作簿以所填为准"])
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.border = BORDER
        row[1].number_format = "@"


def write_empty_output_sheets(wb: openpyxl.Workbook) -> None:
    """问题文本 and 校验结果 with their headers, filled by the buttons."""
    from ..core.problems import PROBLEM_HEADERS

    _header(wb.create_sheet(TEXT_SHEET_OUT), TEXT_HEADERS, (18, 10, 30, 80, 60, 20, 24))
    wb[TEXT_SHEET_OUT].column_dimensions["F"].hidden = True
    order = ("severity", "sheet", "cell", "department", "rule", "message")
    _header(wb.create_sheet(PROBLEM_SHEET), [PROBLEM_HEADERS[f] for f in order], (10, 10, 10, 16, 24, 90))


def lay_out(district: str, annex_rows: Mapping[str, Iterable[Mapping[str, Any]]], scalars: Mapping[str, Any], *,
            params: Sequence[ParamRow] = (), department_columns: Sequence[str] = (),
            totals: Mapping[str, Mapping[str, Any]] | None = None,
            subtotals: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
            references: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
            texts: Mapping[str, Sequence[str]] | None = None,
            department_rows: Sequence[Mapping[str, Any]] = (),
            wb: openpyxl.Workbook | None = None) -> openpyxl.Workbook:
    wb = wb or openpyxl.Workbook()
    write_console_sheet(wb.worksheets[0], district)
    write_scalar_sheet(wb.create_sheet(SCALAR_SHEET), scalars)
    for spec in ANNEXES:
        ws = wb.create_sheet(spec.sheet)
        write_annex_sheet(ws, spec, district, annex_rows.get(spec.sheet, ()),
                          (totals or {}).get(spec.sheet), (subtotals or {}).get(spec.sheet),
                          (references or {}).get(spec.sheet, ()))
        if spec.landscape:
            ws.page_setup.orientation = "landscape"
    write_department_sheet(wb.create_sheet(DEPT_SHEET), department_columns, department_rows)
    write_param_sheet(wb.create_sheet(PARAM_SHEET), params)
    write_texts_input_sheet(wb.create_sheet(TEXT_SHEET), texts or {})
    write_empty_output_sheets(wb)
    wb.active = 0
    return wb
