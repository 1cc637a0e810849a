"""Builds bulletin.xlsm from source: xlwings' standalone template (from the pinned wheel), our VBA module
(vba/*.bas) and the 控制台 buttons written with pyOpenVBA, then the sheets laid out with openpyxl
(keep_vba=True) as the last step. `make workbook` runs `python -m bulletin.build.workbook`.

openpyxl rewrites each sheet's XML: a button keeps its legacy VML shape (caption and FmlaMacro, the form
Excel has always read and XlsxWriter writes) and loses the Excel 2010 <controls> duplicate; the VBA
project is copied byte for byte.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import openpyxl

from ..actions.month import layout_options, prefilled_rows
from ..adapters.workbook_layout import BUTTONS, lay_out
from ..adapters.xlsx_output import save_new
from ..config import REPO_DIR, load_settings

VBA_DIR = REPO_DIR / "vba"
OUTPUT = REPO_DIR / "bulletin.xlsm"
XLWINGS_CONF_SHEET = "_xlwings.conf"  # the template's disabled config sheet (rename to xlwings.conf to use it)
DROPPED_MODULES = ("Module1",)  # the template's SampleCall imports a module named after the workbook
BUTTON_LEFT, BUTTON_TOP, BUTTON_WIDTH, BUTTON_HEIGHT, BUTTON_GAP = 330, 40, 110, 30, 12


def template_path() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"


def vba_sources() -> dict[str, str]:
    """Module name -> source as Excel stores it (CRLF), from vba/*.bas."""
    out = {}
    for path in sorted(VBA_DIR.glob("*.bas")):
        text = path.read_bytes().decode("ascii")  # code page 1252 project: ASCII only, Chinese lives in cells
        out[path.stem] = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return out


def button_positions() -> list[tuple[str, str, float, float]]:
    """(caption, macro, left, top) in points: two columns of buttons on 控制台."""
    out = []
    for i, (caption, sub, _fn) in enumerate(BUTTONS):
        col, row = divmod(i, 4)
        out.append((caption, sub, BUTTON_LEFT + col * (BUTTON_WIDTH + BUTTON_GAP),
                    BUTTON_TOP + row * (BUTTON_HEIGHT + BUTTON_GAP)))
    return out


def add_vba(path: Path) -> None:
    from pyopenvba import ExcelFile

    with ExcelFile(path) as wb:
        project = wb.vba_project()
        for name in DROPPED_MODULES:
            if name in wb.module_names():
                project.delete_module(name)
        for name in wb.module_names():  # rewritten from source: no module keeps the template's p-code
            source = wb.get_module(name)
            wb.set_module(name, source.rstrip("\r\n") + "\r\n")
        for name, source in vba_sources().items():
            project.add_module(name, source)
        wb.save()


def add_buttons(path: Path, out: Path) -> None:
    from pyopenvba.apps.excel import ExcelApplication

    app = ExcelApplication.open(str(path), with_vba=False)
    sheet = app.sheet(1)
    for i, (caption, macro, left, top) in enumerate(button_positions(), start=1):
        sheet.add_button(name=f"Button{i}", left=left, top=top, width=BUTTON_WIDTH, height=BUTTON_HEIGHT,
                         text=caption, macro=macro)
    app.save(str(out))


def lay_out_sheets(path: Path) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    conf = wb[XLWINGS_CONF_SHEET]
    settings = load_settings()
    rows, references = prefilled_rows()
    lay_out(settings.district, rows, {}, references=references, wb=wb, **layout_options())
    wb.move_sheet(conf, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(XLWINGS_CONF_SHEET))
    conf.sheet_state = "hidden"
    return wb


def build(out: Path = OUTPUT) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        step = Path(tmp) / "step.xlsm"
        shutil.copy(template_path(), step)
        add_vba(step)
        with_buttons = Path(tmp) / "buttons.xlsm"
        add_buttons(step, with_buttons)
        return save_new(lay_out_sheets(with_buttons), out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="从源文件重建 bulletin.xlsm（VBA、按钮、工作表）")
    p.add_argument("-o", "--output", type=Path, default=OUTPUT, help="输出文件（默认仓库根目录的 bulletin.xlsm）")
    args = p.parse_args(argv)
    print(f"已生成 {build(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
