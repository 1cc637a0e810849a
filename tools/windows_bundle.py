"""The offline bundle for office IT (`make windows-bundle`): dist/windows/ with wheels/ (win_amd64 wheels for
CPython 3.11 of requirements-windows.txt), the program (python/, templates/), bulletin.xlsm, the set-up
scripts, the June and May samples and 安装说明.txt. Copied to a PC without internet, setup.bat installs from it.

pip download resolves into a persistent cache (dist/.cache/windows-wheels, reruns download nothing new), then
again offline from that cache into the bundle, so wheels/ holds exactly the resolved set. pip evaluates
environment markers against the machine it runs on, so the result is checked against the markers of Windows
(check_complete): a Windows-only dependency missing from requirements-windows.txt fails the build, naming it.

Usage: python tools/windows_bundle.py [--out dist/windows] [--cache dist/.cache/windows-wheels]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from packaging import tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
TARGET = ["--only-binary=:all:", "--platform", "win_amd64", "--python-version", PYTHON, "--implementation", "cp"]
WINDOWS = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64",
           "platform_release": "10", "platform_version": "10.0.19045", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "implementation_version": PYTHON + ".9",
           "python_version": PYTHON, "python_full_version": PYTHON + ".9"}
# every wheel tag pip on that PC accepts, stable-ABI wheels built for an older CPython (cp310-abi3) included
TAGS_OK = frozenset([*tags.cpython_tags((3, 11), abis=["cp311"], platforms=["win_amd64"]),
                     *tags.compatible_tags((3, 11), "cp311", ["win_amd64"])])
FILES = ["bulletin.xlsm", "setup.bat", "setup.ps1", "tools/windows_setup.py", "requirements.txt",
         "requirements-windows.txt", "README.md", "examples/2023-05/通报数据-2023-05.xlsx",
         "examples/2023-06/通报数据-2023-06.xlsx"]
FOLDERS = ["python", "templates"]
GUIDE = ROOT / "templates" / "windows" / "安装说明.txt.j2"


def requirement_lines(path: Path) -> list[str]:
    """Requirement strings of a requirements file, following -r includes."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            out += requirement_lines(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            out.append(line)
    return out


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return Parser().parsestr(z.read(meta).decode("utf-8")).get_all("Requires-Dist") or []


def check_complete(wheels: Path, requirements: Path) -> list[str]:
    """What pip on a Windows PC (CPython 3.11, 64-bit) would miss installing requirements from `wheels`
    offline: requirements (and their dependencies, with Windows' markers) no wheel satisfies, and wheels
    that cannot install there. Empty when complete."""
    found: dict[str, list[tuple]] = {}
    problems = []
    for w in sorted(wheels.glob("*.whl")):
        name, version, _build, wheel_tags = parse_wheel_filename(w.name)
        found.setdefault(name, []).append((version, w))
        if TAGS_OK.isdisjoint(wheel_tags):
            problems.append(f"{w.name} 不能安装在 64 位 Windows 的 Python {PYTHON} 上")
    todo = [(Requirement(r), requirements.name) for r in requirement_lines(requirements)]
    done = set()
    while todo:
        req, by = todo.pop()
        extras = set(req.extras) | {""}
        if req.marker is not None and not any(req.marker.evaluate({**WINDOWS, "extra": e}) for e in extras):
            continue
        name = canonicalize_name(req.name)
        match = [(v, w) for v, w in found.get(name, []) if req.specifier.contains(v, prereleases=True)]
        if not match:
            problems.append(f"缺少 {req}（{by} 需要）：请把它写进 requirements-windows.txt")
            continue
        version, wheel = max(match)
        if (name, version, frozenset(req.extras)) in done:
            continue
        done.add((name, version, frozenset(req.extras)))
        for r in _requires(wheel):
            dep = Requirement(r)
            if dep.marker is None or any(dep.marker.evaluate({**WINDOWS, "extra": e}) for e in req.extras | {""}):
                dep.marker = None
                todo.append((dep, f"{req.name} {version}"))
    return problems


def pip_download(requirements: Path, dest: Path, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", *TARGET,
                    "-d", str(dest), "-r", str(requirements), *extra], check=True)


def write_guide(path: Path, wheels: int) -> None:
    env = Environment(loader=FileSystemLoader(str(GUIDE.parent)), undefined=StrictUndefined, keep_trailing_newline=True)
    pins = dict(r.split("==", 1) for r in requirement_lines(ROOT / "requirements.txt") if "==" in r)
    text = env.get_template(GUIDE.name).render(python=PYTHON, xlwings=pins["xlwings"], wheels=wheels)
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))  # Notepad


def build(out: Path = ROOT / "dist" / "windows", cache: Path = ROOT / "dist" / ".cache" / "windows-wheels") -> Path:
    requirements = ROOT / "requirements-windows.txt"
    stage = out.with_name(out.name + ".new")
    shutil.rmtree(stage, ignore_errors=True)
    pip_download(requirements, cache)
    pip_download(requirements, stage / "wheels", "--no-index", "--find-links", str(cache))
    problems = check_complete(stage / "wheels", requirements)
    if problems:
        raise SystemExit("离线安装包不完整：\n" + "\n".join(problems))
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, stage / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "windows"))
    for name in FILES:
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, stage / name)
    write_guide(stage / "安装说明.txt", len(list((stage / "wheels").glob("*.whl"))))
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    stage.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="生成 Windows 离线安装包（dist/windows）")
    p.add_argument("--out", type=Path, default=ROOT / "dist" / "windows")
    p.add_argument("--cache", type=Path, default=ROOT / "dist" / ".cache" / "windows-wheels")
    a = p.parse_args(argv)
    out = build(a.out.resolve(), a.cache.resolve())
    wheels = list((out / "wheels").glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"已生成 {out}：{len(wheels)} 个 wheel（{size:.0f} MB，win_amd64 / CPython {PYTHON}），程序、bulletin.xlsm、"
          f"setup.bat 和 安装说明.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
