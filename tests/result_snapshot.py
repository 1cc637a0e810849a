"""Normalised views of generated files, the XlsxWriter way: what a reader sees (cell values, number formats,
fills, bold, merges, conditional formats, formulas such as the 校验结果 links), with only what is volatile
removed (the 控制台 time stamp, file paths of the machine). Golden files under tests/golden/ hold them; set
BULLETIN_UPDATE_GOLDEN=1 to rewrite them, then review the diff."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import openpyxl

GOLDEN = Path(__file__).resolve().parent / "golden"
VOLATILE = {("控制台", "B6")}  # 时间 of the last step


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def workbook_cells(path: Path, *, skip_sheets: tuple[str, ...] = ()) -> dict[str, Any]:
    """sheet -> {cells: {A1: [value, number_format, fill, bold]}, merged: [...], conditional: [...]}"""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        if ws.title in skip_sheets:
            continue
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if (ws.title, c.coordinate) in VOLATILE:
                    continue
                fill = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
                value = _plain(c.value)
                if value is None and fill is None and c.number_format == "General" and not c.font.b:
                    continue
                if isinstance(value, str) and value.startswith("/"):
                    value = re.sub(r"^/.*/", "…/", value)  # an output path of this machine
                cells[c.coordinate] = [value, c.number_format, fill, bool(c.font.b)]
        conditional = sorted(
            [str(rng.sqref), rule.formula, rule.dxf.fill.fgColor.rgb if rule.dxf and rule.dxf.fill else None]
            for rng in ws.conditional_formatting for rule in rng.rules)
        out[ws.title] = {"cells": cells, "merged": sorted(str(m) for m in ws.merged_cells.ranges),
                         "conditional": conditional}
    return out


def check_golden(name: str, snapshot: Any) -> None:
    """Compare with tests/golden/<name>.json (written when BULLETIN_UPDATE_GOLDEN=1)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(snapshot, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if os.environ.get("BULLETIN_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with BULLETIN_UPDATE_GOLDEN=1 and review it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(text) == expected, f"{path.name} differs: rerun with BULLETIN_UPDATE_GOLDEN=1, review git diff"
