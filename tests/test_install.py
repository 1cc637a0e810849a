"""A non-editable install (a wheel built from the repository's files, installed into a folder of its own) finds
its templates, data, fonts.conf and bundled font without the source tree, and renders the 通报 and the charts
from there."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin import resources

from conftest import ROOT, SAMPLE, charts_without_system_fonts

LOCATIONS = """
import json, bulletin, bulletin.resources as r
print(json.dumps({"package": bulletin.__file__, "source_root": str(r.SOURCE_ROOT), "templates": str(r.TEMPLATES_DIR),
                  "data": str(r.DATA_DIR), "font": str(r.BUNDLED_FONT), "fonts_conf": str(r.FONTS_CONF)}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built as a wheel (offline: setuptools from requirements-dev.txt) and installed into a folder."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "~$*")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "python", src / "python", ignore=junk)
    shutil.copytree(ROOT / "templates", src / "templates", ignore=junk)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w",
                            str(tmp / "dist"), str(src)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "dist").glob("bulletin-*.whl"))
    site = tmp / "site"
    done = subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(src)  # nothing may come from the copied source tree
    return site


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_source_tree_uses_its_own_templates_folder():
    assert resources.SOURCE_ROOT == ROOT and resources.TEMPLATES_DIR == ROOT / "templates"


def test_an_installed_copy_finds_its_packaged_files(installed, tmp_path):
    res = subprocess.run([sys.executable, "-c", LOCATIONS], capture_output=True, text=True, env=_env(installed),
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    found = {k: Path(v) for k, v in json.loads(res.stdout).items()}
    package = installed / "bulletin"
    assert found["package"] == package / "__init__.py"  # not the editable install of the venv
    assert str(found["source_root"]) == "None" and found["templates"] == package / "_templates"
    assert {p.relative_to(found["templates"]).as_posix() for p in found["templates"].rglob("*") if p.is_file()} == \
        {p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()
         and not p.name.startswith("~$")}
    assert (found["data"] / "departments.csv").read_bytes() == (ROOT / "python/bulletin/data/departments.csv").read_bytes()
    assert found["font"].read_bytes() == resources.BUNDLED_FONT.read_bytes()
    assert (found["font"].parent / "OFL.txt").exists()
    assert found["fonts_conf"].read_bytes() == resources.FONTS_CONF.read_bytes()


def test_an_installed_copy_renders_the_bulletin_and_mail_from_its_templates(installed, tmp_path):
    out = tmp_path / "out"
    for args in (["render", str(SAMPLE)], ["mail", str(SAMPLE), "--month", "2023-06"]):
        res = subprocess.run([sys.executable, "-m", "bulletin", *args, "--out", str(out), "--history",
                              str(tmp_path / "none.sqlite")], capture_output=True, text=True, env=_env(installed),
                             cwd=tmp_path)
        assert res.returncode == 0, res.stderr
    assert (out / "通报-2023-06.docx").stat().st_size > 20_000
    assert list((out / "mail" / "2023-06").glob("*.eml"))


def test_an_installed_copy_draws_the_charts_without_cjk_fonts(installed, tmp_path):
    res = charts_without_system_fonts(tmp_path, "--json", env={"PYTHONPATH": str(installed)})
    assert res.returncode == 0, res.stderr
    outcome = json.loads(res.stdout)
    assert outcome["font"] == {"family": "Noto Sans CJK SC Bulletin",
                               "path": str(installed / "bulletin" / "fonts" / "NotoSansCJKsc-Bulletin.otf")}
    assert sorted(Path(p).parent for p in outcome["images"]) == [tmp_path / "png"] * 6


def test_an_installed_copy_carries_the_database_migrations(installed, tmp_path):
    """The Alembic migrations are package data, not a package: an installed copy still migrates a database."""
    res = subprocess.run([sys.executable, "-m", "bulletin", "db", "upgrade", "--history", str(tmp_path / "h.sqlite")],
                         capture_output=True, text=True, env={**_env(installed), "BULLETIN_DATABASE_URL": ""},
                         cwd=tmp_path)
    assert res.returncode == 0 and "已升级：空库 → 0002" in res.stdout, res.stderr
    assert (installed / "bulletin" / "adapters" / "migrations" / "versions" / "0001_office_foundation.py").is_file()
