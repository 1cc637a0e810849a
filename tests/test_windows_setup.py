"""The Windows set-up (tools/windows_setup.py, which setup.bat / setup.ps1 run), exercised on Linux with injected
folders, Python version and bitness: each step's failure names the step and what to do, the configuration is
written first and in the ANSI code page xlwings' VBA reads, and one real run creates a venv and installs from a
local wheel folder (offline, as from the Windows bundle) without installing the project itself."""
from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.adapters import xlwings_conf
from conftest import ROOT

spec = importlib.util.spec_from_file_location("windows_setup", ROOT / "tools" / "windows_setup.py")
windows_setup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(windows_setup)

CHINESE_PYTHONW = "C:\\通报工作簿\\.venv\\Scripts\\pythonw.exe"


def run(root: Path, home: Path, **kw) -> tuple[int, str]:
    lines: list[str] = []
    code = windows_setup.Setup(root=root, home=home, code_page=kw.pop("code_page", "cp936"), out=lines.append,
                               **kw).run()
    return code, "\n".join(lines)


def confs(root: Path, home: Path) -> list[Path]:
    return [p for p in (root / "xlwings.conf", home / ".xlwings" / "xlwings.conf") if p.exists()]


def test_setup_script_parses_on_old_pythons_so_step_1_can_speak():
    ast.parse((ROOT / "tools" / "windows_setup.py").read_text(encoding="utf-8"), feature_version=(3, 7))


@pytest.mark.parametrize("version, bits, says", [((3, 10, 11), 64, "3.11 或 3.12"), ((3, 13, 1), 64, "3.11 或 3.12"),
                                                 ((3, 11, 9), 32, "64 位")])
def test_unsupported_python_stops_at_step_1_and_writes_nothing(tmp_path, version, bits, says):
    code, text = run(tmp_path / "bulletin", tmp_path / "home", version=version, bits=bits)
    assert code == 1
    assert "安装未完成：第 1 步（检查 Python）失败。" in text and says in text
    assert "处理办法：请从 python.org 安装 64 位 Python 3.11" in text
    assert confs(tmp_path / "bulletin", tmp_path / "home") == [] and not (tmp_path / "bulletin" / ".venv").exists()


def test_offline_bundle_for_python_3_11_refuses_3_12(tmp_path):
    root = tmp_path / "bulletin"
    (root / "wheels").mkdir(parents=True)
    for name in ("numpy-2.3.5-cp311-cp311-win_amd64.whl", "jinja2-3.1.6-py3-none-any.whl"):
        (root / "wheels" / name).write_bytes(b"")  # only the file names are read here
    code, text = run(root, tmp_path / "home", version=(3, 12, 8), bits=64)
    assert code == 1 and "wheel 是为 Python 3.11 准备的，当前是 Python 3.12.8" in text
    assert confs(root, tmp_path / "home") == []


def test_chinese_install_path_round_trips_through_the_ansi_code_page():
    entries = {"INTERPRETER_WIN": CHINESE_PYTHONW, "PYTHONPATH": "C:\\通报工作簿\\python"}
    data = xlwings_conf.encode(entries, "cp936")
    assert data == ('"INTERPRETER_WIN","' + CHINESE_PYTHONW + '"\r\n"PYTHONPATH","C:\\通报工作簿\\python"\r\n'
                    ).encode("cp936")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # GBK bytes, as VBA's Input # decodes them on zh-CN Windows, not UTF-8
    assert xlwings_conf.parse(data.decode("cp936")) == entries


def test_setup_writes_both_configs_in_cp936_before_anything_else(tmp_path):
    """A venv that cannot be created (step 3) still leaves the workbook configured."""
    root, home = tmp_path / "通报工作簿", tmp_path / "home"
    root.mkdir()
    (root / ".venv").write_text("not a folder")
    code, text = run(root, home)
    assert code == 3 and "第 3 步（创建虚拟环境）失败" in text and "xlwings 配置已写好" in text
    for conf in confs(root, home):
        assert xlwings_conf.parse(conf.read_bytes().decode("cp936")) == {
            "INTERPRETER_WIN": str(root / ".venv" / "bin" / "python"), "PYTHONPATH": str(root / "python")}
    assert len(confs(root, home)) == 2 and "建议使用只含英文字母和数字的路径" in text


def test_path_outside_the_code_page_is_refused_and_nothing_is_written(tmp_path):
    root, home = tmp_path / "bulletin-Núñez", tmp_path / "home"
    user_conf = home / ".xlwings" / "xlwings.conf"
    user_conf.parent.mkdir(parents=True)
    user_conf.write_bytes(b'"INTERPRETER_WIN","C:\\old\\pythonw.exe"\r\n')
    code, text = run(root, home)
    assert code == 2 and "第 2 步（写出 xlwings 配置）失败" in text
    assert "“ñ”无法用本机的系统代码页 cp936 表示" in text and "只含英文字母和数字的路径" in text
    assert not (root / "xlwings.conf").exists()
    assert user_conf.read_bytes() == b'"INTERPRETER_WIN","C:\\old\\pythonw.exe"\r\n'


def test_user_config_keeps_other_settings_and_replaces_ours():
    old = '"CONDA PATH","C:\\conda"\r\n"interpreter_win","python"\r\n"PYTHONPATH",""\r\n'.encode("cp936")
    new = xlwings_conf.encode({"INTERPRETER_WIN": CHINESE_PYTHONW, "PYTHONPATH": "C:\\b\\python"}, "cp936", old)
    assert new.decode("cp936").splitlines() == [
        '"CONDA PATH","C:\\conda"', f'"INTERPRETER_WIN","{CHINESE_PYTHONW}"', '"PYTHONPATH","C:\\b\\python"']


@pytest.fixture(scope="session")
def linux_wheels() -> Path:
    """Wheels of requirements.txt for this machine, downloaded once (kept in dist/, git-ignored): the real run
    below installs from them offline, as a Windows PC installs from the bundle's wheels folder."""
    cache = ROOT / "dist" / ".cache" / "linux-wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--only-binary=:all:", "-d", str(cache), "-r", str(ROOT / "requirements.txt")], check=True)
    return cache


def mini_project(root: Path, requirements: str) -> Path:
    shutil.copytree(ROOT / "python", root / "python", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.txt", root)
    (root / "requirements-windows.txt").write_text(requirements, encoding="utf-8")  # Linux: no pywin32
    return root


def test_real_venv_install_from_wheels_then_verify(tmp_path, linux_wheels):
    root, home = mini_project(tmp_path / "通报工作簿", "-r requirements.txt\n"), tmp_path / "home"
    empty = tmp_path / "empty-wheels"
    empty.mkdir()

    code, text = run(root, home, wheels=empty)  # a bundle copied without its wheels
    assert code == 4 and "第 4 步（安装依赖）失败" in text and "make windows-bundle" in text
    assert (root / ".venv" / "bin" / "python").exists() and len(confs(root, home)) == 2

    (root / "requirements-windows.txt").write_text("xlwings==0.37.8\n", encoding="utf-8")
    code, text = run(root, home, wheels=linux_wheels)  # installs, but bulletin.excel cannot import
    assert code == 5 and "第 5 步（验证安装）失败" in text and "No module named" in text, text
    assert "沿用已有的" in text  # the venv of the first run

    (root / "requirements-windows.txt").write_text("-r requirements.txt\n", encoding="utf-8")
    code, text = run(root, home, wheels=linux_wheels)
    assert code == 0, text
    assert "安装完成。" in text and "xlwings 0.37.8" in text and f"PYTHONPATH：{root / 'python'}" in text
    venv_python = root / ".venv" / "bin" / "python"
    listed = json.loads(subprocess.run([str(venv_python), "-m", "pip", "list", "--format", "json"],
                                       capture_output=True, text=True, check=True).stdout)
    names = {p["name"].lower() for p in listed}
    assert "xlwings" in names and "openpyxl" in names and "bulletin" not in names  # no install of the project
    site = next((root / ".venv" / "lib").glob("python3*/site-packages"))
    assert not any("bulletin" in p.read_text() for p in site.glob("*.pth"))  # nor an editable one

    other_home = tmp_path / "colleague"
    before = (root / "xlwings.conf").read_bytes()
    code, text = run(root, other_home, user_only=True)
    assert code == 0 and confs(root, other_home)[-1] == other_home / ".xlwings" / "xlwings.conf"
    assert (root / "xlwings.conf").read_bytes() == before and "[4/5]" not in text


def test_user_only_without_an_installed_venv_says_so(tmp_path):
    code, text = run(tmp_path / "bulletin", tmp_path / "home", user_only=True)
    assert code == 3 and "还没有虚拟环境" in text and "不带 --user-only 运行一次 setup.bat" in text


def test_windows_wrappers_only_pick_an_interpreter():
    bat = (ROOT / "setup.bat").read_bytes()
    ps1 = (ROOT / "setup.ps1").read_bytes()
    assert b"\r\n" in bat and b"\n" not in bat.replace(b"\r\n", b"")
    bat_text = bat.decode("cp936")  # cmd.exe reads it in the zh-CN console code page
    assert all(line.isascii() for line in bat_text.splitlines() if not line.lstrip().startswith("echo"))
    assert ps1.startswith(b"\xef\xbb\xbf")  # Windows PowerShell 5.1 reads UTF-8 only with a BOM
    for text in (bat_text, ps1.decode("utf-8-sig")):
        assert "tools\\windows_setup.py" in text and "-3.11" in text and "-3.12" in text
        assert "pip" not in text and "xlwings.conf\"" not in text  # the logic lives in the Python script


def test_check_environment_names_the_user_config_a_copy_elsewhere_uses(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from bulletin import excel
    from test_ports_contract import paste_june
    from xlwings_engine import open_book

    home, copy = tmp_path / "home", tmp_path / "邮件附件" / "2023年6月通报.xlsm"
    copy.parent.mkdir()
    book = open_book(paste_june(copy))
    monkeypatch.setenv("USERPROFILE", str(home))
    assert excel.environment(book)[4] == "配置来源：未找到 xlwings.conf（工作簿旁和用户目录 .xlwings 下都没有），请运行 setup.bat"
    code, _ = run(tmp_path / "bulletin", home, user_only=True)
    assert code == 3  # the user config is written, the venv is not there in this test
    assert excel.environment(book)[4] == f"配置来源：用户配置文件 {home / '.xlwings' / 'xlwings.conf'}"
