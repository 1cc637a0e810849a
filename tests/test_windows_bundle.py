"""make windows-bundle (tools/windows_bundle.py): the offline bundle resolves completely for a 64-bit Windows
PC with CPython 3.11 from its own wheels folder, Windows-only dependencies included. Needs PyPI once (the wheels
are cached in dist/.cache/windows-wheels)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import windows_bundle  # noqa: E402


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    return windows_bundle.build(tmp_path_factory.mktemp("dist") / "windows")


def offline_pip_env() -> dict[str, str]:
    """No pip configuration of this machine (extra indexes, find-links): only the bundle's wheels count."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def test_bundle_resolves_offline_for_windows_python_3_11(bundle, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(bundle / "wheels"),
         "--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp", "--only-binary=:all:",
         "--target", str(tmp_path / "target"), "-r", str(bundle / "requirements-windows.txt")],
        capture_output=True, text=True, env=offline_pip_env())
    assert res.returncode == 0, res.stdout + res.stderr
    would = res.stdout.split("Would install", 1)[1].split()
    for pin in ("xlwings-0.37.8", "pywin32-312", "pywin32-ctypes-0.2.3", "numpy-2.3.5", "openpyxl-3.1.5"):
        assert pin in would


def test_bundle_satisfies_windows_markers_and_names_what_is_missing(bundle, tmp_path):
    requirements = bundle / "requirements-windows.txt"
    assert windows_bundle.check_complete(bundle / "wheels", requirements) == []
    partial = tmp_path / "wheels"
    shutil.copytree(bundle / "wheels", partial, ignore=shutil.ignore_patterns("pywin32-*"))
    jeepney = next((bundle / "wheels").glob("jeepney-*.whl")).name
    linux = jeepney.replace("py3-none-any", "cp311-cp311-manylinux_2_17_x86_64")
    (partial / linux).write_bytes(b"")  # only its name is read: a wheel Windows cannot install
    assert sorted(windows_bundle.check_complete(partial, requirements)) == [
        f"{linux} 不能安装在 64 位 Windows 的 Python 3.11 上",
        "缺少 pywin32==312（requirements-windows.txt 需要）：请把它写进 requirements-windows.txt",
        "缺少 pywin32>=224（xlwings 0.37.8 需要）：请把它写进 requirements-windows.txt"]


def test_bundle_holds_program_workbook_scripts_and_guide(bundle):
    for name in ("bulletin.xlsm", "setup.bat", "setup.ps1", "tools/windows_setup.py", "requirements.txt",
                 "python/bulletin/excel.py", "python/bulletin/data/rules.yaml", "templates/通报.docx",
                 "templates/narrative/总体情况.j2", "examples/2023-06/通报数据-2023-06.xlsx"):
        assert (bundle / name).is_file(), name
    assert (bundle / "bulletin.xlsm").read_bytes() == (ROOT / "bulletin.xlsm").read_bytes()
    assert not list(bundle.rglob("__pycache__")) and not (bundle / "xlwings.conf").exists()
    assert not (bundle / "templates" / "windows").exists() and not (bundle / ".venv").exists()
    guide = (bundle / "安装说明.txt").read_bytes()
    assert guide.startswith(b"\xef\xbb\xbf") and b"\n" not in guide.replace(b"\r\n", b"")  # Notepad-friendly
    text = guide.decode("utf-8-sig")
    wheels = len(list((bundle / "wheels").glob("*.whl")))
    assert f"{wheels} 个 wheel" in text and "Python 3.11（64 位）" in text and "setup.bat --user-only" in text
    assert "工作簿 VBA 模块 0.37.8（一致）" in text and "IP 地址" in text and "解除锁定" in text
