"""Shared set-up of the document tests: the June sample with a 参数 sheet, May in a history file, and the
engine's own outcome for the same month (what the document must show)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from conftest import ROOT, SAMPLE

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
PARAMS = {"发文字号": "殷放管服办〔2023〕18号", "印发日期": dt.datetime(2023, 7, 10)}


def june_with_params(folder: Path, params: dict | None = None, name: str = "通报数据-2023-06.xlsx") -> Path:
    """A copy of the June sample whose 参数 sheet holds the document's rows (as staff would fill it)."""
    wb = openpyxl.load_workbook(SAMPLE)
    if "参数" in wb.sheetnames:  # replace the sample's own 参数 rows by exactly these
        del wb["参数"]
    ws = wb.create_sheet("参数")
    ws.append(["参数", "值", "说明"])
    for key, value in (PARAMS if params is None else params).items():
        ws.append([key, value, ""])
    path = folder / name
    wb.save(path)
    return path


def history_with_may(folder: Path) -> Path:
    from bulletin import actions

    path = folder / "history.sqlite"
    actions.import_month(MAY, None, path)
    return path
