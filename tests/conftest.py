"""Shared helpers: real workbook files, edited cell by cell with openpyxl, read back by the engine."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
REFERENCE = ROOT / "examples" / "2023-06" / "reference"


def find_cell(ws, label: str, header: str) -> str:
    """Address of the cell in the row labelled `label` (any cell of columns A-B) under `header`."""
    col = next(c.column for row in ws.iter_rows(min_row=2, max_row=4) for c in row
               if isinstance(c.value, str) and c.value.replace(" ", "") == header)
    row = next(r[0].row for r in ws.iter_rows(min_row=2) if label in (r[0].value, r[1].value))
    return f"{openpyxl.utils.get_column_letter(col)}{row}"


def edit_sample(tmp_path: Path, edits, name: str = "edited.xlsx") -> tuple[Path, dict[str, str]]:
    """Copy the June sample and apply edits [(sheet, row label, column header, new value)].
    Returns the file and {f"{sheet}/{label}/{header}": "Sheet!A1"} of the edited cells."""
    wb = openpyxl.load_workbook(SAMPLE)
    cells = {}
    for sheet, label, header, value in edits:
        ws = wb[sheet]
        addr = find_cell(ws, label, header)
        ws[addr] = value
        cells[f"{sheet}/{label}/{header}"] = f"{sheet}!{addr}"
    path = tmp_path / name
    wb.save(path)
    return path, cells


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, path)
    return path


def problems_at(data) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in data.problems:
        out.setdefault(p.where, []).append(p.rule)
    return out
