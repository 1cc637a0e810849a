"""The June sample split into its departments' returns: a master with the collected annexes' department input
cells blanked, and each department's fill-in workbook filled with the sample's own cells, as a department would."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import openpyxl
import pytest

from bulletin.actions import collect
from bulletin.actions.collect import SECRET_ENV
from bulletin.adapters.xlsx_fillin import IDENTITY_SHEET, fillin_columns, return_cell
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_collect_settings
from bulletin.core.collect import Identity
from bulletin.engine import compute
from bulletin.spec import annex
from conftest import SAMPLE

SECRET = "test-collect-secret-0123456789"
MASTER = "通报数据-2023-06.xlsx"


@contextmanager
def office_env(today: str) -> Iterator[None]:
    """The office secret and the day set for a module-scoped fixture (monkeypatch is per test), then put back."""
    saved = {k: os.environ.get(k) for k in (SECRET_ENV, "BULLETIN_TODAY")}
    os.environ[SECRET_ENV], os.environ["BULLETIN_TODAY"] = SECRET, today
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value


@pytest.fixture
def office_day(monkeypatch):
    """The office secret and the day of an import (2023-07-05) for one test (import it into the module to use)."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")


def sent_office(folder: Path, only: Sequence[str]) -> Path:
    """`folder` with the emptied June master (MASTER) and the fill-in workbooks of `only` sent as drafts on
    2023-07-03."""
    folder.mkdir(parents=True, exist_ok=True)
    with office_env("2023-07-03"):
        blank_master(folder / MASTER)
        collect.send(folder / MASTER, only=list(only))
    return folder


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


def posted_values(form: dict, data: Any = None) -> dict:
    """The June sample's figures of a form's department as the browser posts them (fill.form's annexes and
    columns): numbers (ratios as the percent numbers the page shows), text as text, blanks as None. A unit the
    sample does not have (bench_server's made-up ones) copies the annex's first unit. `data`: the computed
    sample, when the caller has it already."""
    data = data or sample_data()
    out = {}
    for a in form["annexes"]:
        units = [r for r in data.inputs[a["sheet"]].records if r["_kind"] == "department"]
        rows = [r for r in units if r.get("部门") == form["department"]] or [units[0]] * len(a["rows"])
        out[a["sheet"]] = [{c["name"]: (int(v) if isinstance(v, float) and v == int(v) else v)
                            for c in a["columns"] if c["role"] == "input" for v in [r.get(c["name"])]}
                           for r in rows]
    return out


def fill_all(folder: Path, returns: Path) -> list[Path]:
    returns.mkdir(parents=True, exist_ok=True)
    return [fill(p, returns / p.name) for p in sorted(folder.glob("报送-*.xlsx"))]


