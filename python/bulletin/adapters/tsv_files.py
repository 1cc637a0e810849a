"""Reads the reference annexes as extracted from the printed bulletin (annexN.tsv) into Grids.

The extracted header text is not reliable (annex 5's 3-row header is misaligned by the PDF
extraction), so columns are mapped by position in the spec's printed column order."""
from __future__ import annotations

from pathlib import Path

from ..core.intake import Grid
from ..spec import ANNEXES


def read_tsv(path: Path, sheet: str) -> Grid:
    with open(path, encoding="utf-8-sig") as f:
        rows = [line.rstrip("\r\n").split("\t") for line in f]
    return Grid(sheet, [[v if v.strip() else None for v in row] for row in rows], positional=True)


def read_tsv_folder(folder: Path) -> dict[str, Grid]:
    grids = {}
    for spec in ANNEXES:
        path = Path(folder) / f"annex{spec.number}.tsv"
        if path.exists():
            grids[spec.sheet] = read_tsv(path, spec.sheet)
    return grids
