"""The June sample split into its departments' returns: a master with the collected annexes' department input
cells blanked, and each department's fill-in workbook filled with the sample's own cells, as a department would."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import openpyxl

from bulletin.actions.collect import SECRET_ENV
from bulletin.adapters.xlsx_fillin import IDENTITY_SHEET, fillin_columns, return_cell
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_collect_settings
from bulletin.core.collect import Identity
from bulletin.engine import compute
from bulletin.spec import annex
from conftest import SAMPLE

SECRET = "test-collect-secret-0123456789"


@contextmanager
def office_env(today: str) -> Iterator[None]:
    """The office secret and the day set for a module-scoped fixture (monkeypatch is per test), then removed."""
    os.environ[SECRET_ENV], os.environ["BULLETIN_TODAY"] = SECRET, today
    try:
        yield
    finally:
        del os.environ[SECRET_ENV], os.environ["BULLETIN_TODAY"]


def sample_data():
    return compute(read_grids(SAMPLE))


def blank_master(path: Path) -> Path:
    """The June sample with every department input cell of the collected annexes emptied."""
    data = sample_data()
    wb = openpyxl.load_workbook(SAMPLE)
    for number in load_collect_settings().collected:
        spec = annex(number)
        inp = data.inputs[spec.sheet]
        for r in inp.records:
            if r["_kind"] == "department":
                for c in spec.columns:
                    if c.role == "input" and c.name in inp.columns:
                        wb[spec.sheet].cell(r["_row"], inp.columns[c.name]).value = None
    wb.save(path)
    return path


def identity_of(path: Path) -> Identity:
    wb = openpyxl.load_workbook(path)
    try:
        return Identity.from_payload(wb[IDENTITY_SHEET]["B1"].value)
    finally:
        wb.close()


def fill(fillin: Path, out: Path, *, edit: Callable[[Any], None] | None = None) -> Path:
    """The fill-in workbook filled with the June sample's own cells of its department (values as the sample
    stores them), saved as `out`; `edit(wb)` changes it further (a careless or hostile department)."""
    data = sample_data()
    ident = identity_of(fillin)
    sample = openpyxl.load_workbook(SAMPLE)
    wb = openpyxl.load_workbook(fillin)
    for sheet, keys in ident.sheets:
        spec, inp = annex(sheet), data.inputs[sheet]
        rows = [r for r in inp.records if r["_kind"] == "department" and r.get("部门") == ident.department]
        assert len(rows) == len(keys)
        for i, rec in enumerate(rows):
            for c in fillin_columns(spec):
                if c.role == "input":
                    src = sample[sheet].cell(rec["_row"], inp.columns[c.name])
                    dst = wb[sheet][return_cell(spec, i, c.name)]
                    dst.value = src.value
                    if isinstance(src.value, str):
                        dst.data_type = "s"
    if edit:
        edit(wb)
    wb.save(out)
    return out


def fill_all(folder: Path, returns: Path) -> list[Path]:
    returns.mkdir(parents=True, exist_ok=True)
    return [fill(p, returns / p.name) for p in sorted(folder.glob("报送-*.xlsx"))]


