"""Shared helpers: real workbook files, edited cell by cell with openpyxl, read back by the engine; tests that
need a system tool (require_tool); a process whose matplotlib sees no installed font."""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings
from pg_server import TempPostgres, postgres_bin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
REFERENCE = ROOT / "examples" / "2023-06" / "reference"
STRICT = os.environ.get("CI", "").lower() == "true"  # CI installs every tool: a missing one is a failure there
# parsed staff files are cached per user (config.cache_dir): the tests keep theirs apart from the user's
os.environ.setdefault("BULLETIN_CACHE_DIR", tempfile.mkdtemp(prefix="bulletin-test-cache-"))

# the property tests' profile: the same examples on every run, a bounded number, no example database
hypothesis_settings.register_profile("bulletin", max_examples=150, derandomize=True, database=None, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("mutation", parent=hypothesis_settings.get_profile("bulletin"), max_examples=25)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bulletin"))  # make mutation: "mutation"


@contextmanager
def python_child(code: str, *args: str, guard: float = 120) -> Iterator[subprocess.Popen]:
    """A Python child running `code` with this checkout's package (text pipes), for the kill tests: killed after
    `guard` seconds so the suite never hangs on one that misbehaves; killed if still alive, waited for and its
    pipes closed when the block ends."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    timer = threading.Timer(guard, child.kill)
    timer.start()
    try:
        yield child
    finally:
        timer.cancel()
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()


def require_tool(name: str, found: object, install: str) -> pytest.MarkDecorator:
    """Mark for a test, or a module (`pytestmark = require_tool(...)`), that needs a program the repo cannot
    pip-install, e.g. `require_tool("LibreOffice", soffice(), "apt-get install libreoffice-writer")` or
    `require_tool("Chromium", shutil.which("chromium"), "apt-get install chromium chromium-driver")`.

    `found` is whatever says the tool is there (its path, or None/False). Where it is missing the test is
    skipped with a reason naming the tool and `install` (how to get it) -- on a newcomer's machine that is
    right -- except with env CI=true, where the test fails instead: .ci/install-system-packages installs every
    tool in CI, so there a skip would only hide a broken path."""
    if found:
        return pytest.mark.requires_tool(name)
    reason = f"{name}: not installed ({install})"
    return pytest.mark.requires_tool(name, missing=reason) if STRICT else pytest.mark.skip(reason=reason)


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_tool(name, missing=None): set by conftest.require_tool")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for mark in item.iter_markers("requires_tool"):
        if mark.kwargs.get("missing"):
            pytest.fail(f"CI=true, {mark.kwargs['missing']}: a test that needs it must run in CI "
                        f"(.ci/install-system-packages installs it).", pytrace=False)


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


def _matplotlib_without_system_fonts(folder: Path) -> Path:
    """A matplotlib config folder whose font list holds only matplotlib's own fonts (DejaVu, STIX...): what a
    machine without any installed font looks like to it. Nothing is uninstalled."""
    import matplotlib
    from matplotlib import font_manager

    own = Path(matplotlib.get_data_path())
    manager = copy.copy(font_manager.fontManager)
    manager.ttflist = [f for f in manager.ttflist if Path(f.fname).is_relative_to(own)]
    manager.afmlist = [f for f in manager.afmlist if Path(f.fname).is_relative_to(own)]
    assert manager.ttflist
    folder.mkdir()
    font_manager.json_dump(manager, folder / f"fontlist-v{font_manager.FontManager.__version__}.json")
    return folder


NO_SYSTEM_FONTS = """
import sys
from pathlib import Path
import matplotlib
from matplotlib import font_manager
own = Path(matplotlib.get_data_path())
assert all(Path(f.fname).is_relative_to(own) for f in font_manager.fontManager.ttflist), "system fonts visible"
from bulletin.cli import main
sys.exit(main(sys.argv[1:]))
"""


def charts_without_system_fonts(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`bulletin charts` on the June sample (into tmp_path/png) in a process whose matplotlib sees no installed
    font, as on a machine without CJK fonts."""
    mplconfig = _matplotlib_without_system_fonts(tmp_path / "mplconfig")
    env = {**os.environ, **(env or {}), "MPLCONFIGDIR": str(mplconfig)}
    return subprocess.run([sys.executable, "-c", NO_SYSTEM_FONTS, "charts", str(SAMPLE), "--out", str(tmp_path / "png"),
                           "--history", str(tmp_path / "none.sqlite"), *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path)


MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"


@pytest.fixture(scope="session")
def june():
    """The June sample read and computed once for the session (tests read it; one that changes it copies it)."""
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute

    data = compute(read_grids(SAMPLE))
    assert data.month == "2023-06" and not data.has_errors
    return data


@pytest.fixture(scope="session")
def may():
    """The May sample read and computed once for the session."""
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute

    return compute(read_grids(MAY))


# -- a real PostgreSQL (Debian's postgresql package), started by the tests in a temporary folder ---------------
POSTGRES = require_tool("PostgreSQL", postgres_bin(), "apt-get install postgresql")


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of its own for the session (pg_server.TempPostgres: a unix socket in a temporary
    folder, no TCP port), stopped and removed at the end. Yields a function giving a fresh, empty database's URL
    on each call."""
    server = TempPostgres().start()
    try:
        yield server.new_database
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=POSTGRES)])
def db_url(request, tmp_path) -> str:
    """A fresh, empty office database: a SQLite file, then a database on the session's real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'office.sqlite').as_posix()}"
    return request.getfixturevalue("postgres_server")()
