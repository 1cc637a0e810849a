"""Windows set-up of bulletin.xlsm, run by setup.bat / setup.ps1 with the interpreter they found (or by hand:
"C:\\Program Files\\Python311\\python.exe" tools\\windows_setup.py).

Steps, each either done or stopped with a Chinese message naming the step and what to do (exit code = step):
  1 check the interpreter: CPython 3.11 or 3.12, 64-bit (3.11 only with the offline bundle's cp311 wheels);
  2 write xlwings.conf beside bulletin.xlsm and %USERPROFILE%\\.xlwings\\xlwings.conf (INTERPRETER_WIN = the
    venv's pythonw.exe, PYTHONPATH = python\\) in the ANSI code page xlwings' VBA reads, before installing
    anything, so a later failure never leaves the workbook without a configuration;
  3 create (or reuse) .venv;
  4 pip install -r requirements-windows.txt, from wheels\\ beside this folder when present (offline) or PyPI;
    no install of the project itself: PYTHONPATH points at python\\;
  5 verify with the venv's interpreter, as the buttons run it: import bulletin.excel and xlwings;
  then a summary.
Options: --user-only writes only the current Windows user's configuration (the program already installed by
IT, run once by each person who uses the workbook from another folder); --wheels DIR; --code-page CP.

This file must still parse on old Pythons (3.7+) so that step 1 can say what is wrong: nothing newer here.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ((3, 11), (3, 12))
BUNDLE_PYTHON = (3, 11)  # make windows-bundle downloads cp311 wheels
REQUIREMENTS = "requirements-windows.txt"
STEPS = {1: "检查 Python", 2: "写出 xlwings 配置", 3: "创建虚拟环境", 4: "安装依赖", 5: "验证安装"}
PYTHON_ORG = "请从 python.org 安装 64 位 Python 3.11（Windows installer (64-bit)，勾选 Add python.exe to PATH）"
VERIFY = """
import json, struct, sys
import bulletin, bulletin.excel, xlwings
print(json.dumps({"python": sys.version.split()[0], "bits": struct.calcsize("P") * 8,
                  "executable": sys.executable, "bulletin": bulletin.__file__, "xlwings": xlwings.__version__}))
"""


class Layout:
    """Where venv puts its interpreters: Scripts\\python(w).exe on Windows, bin/python elsewhere (tests)."""

    def __init__(self, windows):
        self.scripts, self.python, self.pythonw = (
            ("Scripts", "python.exe", "pythonw.exe") if windows else ("bin", "python", "python"))


class StepFailed(Exception):
    def __init__(self, step, cause, advice):
        Exception.__init__(self, cause)
        self.step, self.cause, self.advice = step, cause, advice


class Setup:
    def __init__(self, root=ROOT, home=None, code_page=None, wheels=None, user_only=False,
                 version=None, bits=None, layout=None, out=print):
        self.root = Path(root)
        self.home = Path(home) if home else None
        self.code_page = code_page
        self.wheels = Path(wheels) if wheels else (self.root / "wheels" if (self.root / "wheels").is_dir() else None)
        self.user_only = user_only
        self.version = tuple(version or sys.version_info[:3])
        self.bits = bits or struct.calcsize("P") * 8
        self.layout = layout or Layout(os.name == "nt")
        self.out = out
        self.venv = self.root / ".venv"
        self.python = self.venv / self.layout.scripts / self.layout.python
        self.pythonw = self.venv / self.layout.scripts / self.layout.pythonw
        self.pythonpath = self.root / "python"
        self.written = []
        self.facts = {}

    def say(self, step, text):
        self.out("[%d/5] %s：%s" % (step, STEPS[step], text))

    # 1 -------------------------------------------------------------------------------------------------
    def check_python(self):
        found = "Python %s（%d 位）" % (".".join(map(str, self.version)), self.bits)
        if self.version[:2] not in SUPPORTED:
            raise StepFailed(1, "当前是 %s，本程序需要 Python 3.11 或 3.12（numpy 2.3、matplotlib 3.11、"
                                "xlwings 0.37 均要求 3.11 以上）" % found, PYTHON_ORG + "，再运行 setup.bat")
        if self.bits != 64:
            raise StepFailed(1, "当前是 %s，需要 64 位 Python（离线包和 Excel 插件均为 64 位）" % found,
                             PYTHON_ORG + "，再运行 setup.bat")
        if self.wheels is not None and not self.user_only:
            tags = {part[2:] for w in self.wheels.glob("*.whl") for part in w.name.split("-")
                    if part.startswith("cp3") and part[2:].isdigit()}
            mine = "%d%d" % self.version[:2]
            if tags and mine not in tags:
                raise StepFailed(1, "离线安装包 %s 中的 wheel 是为 Python %s 准备的，当前是 %s" % (
                    self.wheels, "、".join(sorted("3." + t[1:] for t in tags)), found), PYTHON_ORG + "，再运行 setup.bat")
        self.say(1, "%s，可以使用" % found)

    # 2 -------------------------------------------------------------------------------------------------
    def write_config(self):
        sys.path.insert(0, str(self.pythonpath))  # stdlib-only module of the project, usable before step 4
        from bulletin.adapters import xlwings_conf

        self.conf = xlwings_conf
        self.code_page = self.code_page or xlwings_conf.ansi_code_page()
        entries = {"INTERPRETER_WIN": str(self.pythonw), "PYTHONPATH": str(self.pythonpath)}
        targets = [xlwings_conf.user_path(self.home)]
        if not self.user_only:
            targets.insert(0, xlwings_conf.directory_path(self.root))
        try:  # every file encoded before any is written: a path the code page cannot hold writes nothing
            data = [(t, xlwings_conf.encode(entries, self.code_page, t.read_bytes() if t.is_file() else b""))
                    for t in targets]
        except xlwings_conf.ConfError as exc:
            raise StepFailed(2, str(exc), "例如把整个文件夹复制到 D:\\bulletin，在那里重新运行 setup.bat")
        for target, content in data:
            try:
                self.written.append(xlwings_conf.write(target, content))
            except OSError as exc:
                raise StepFailed(2, "无法写入 %s（%s）" % (target, exc.strerror or exc),
                                 "请确认当前用户对该文件夹有写权限（或由信息科以该用户身份运行 setup.bat）")
        self.say(2, "系统代码页 %s，已写出 %s" % (self.code_page, "；".join(map(str, self.written))))
        if not str(self.root).isascii():
            self.out("      提示：安装路径含中文，本机代码页 %s 可以表示，但建议使用只含英文字母和数字的路径"
                     "（如 D:\\bulletin），换电脑或改系统区域设置时不会失效。" % self.code_page)

    # 3 -------------------------------------------------------------------------------------------------
    def _venv_version(self):
        try:
            res = subprocess.run([str(self.python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    def create_venv(self):
        wanted = "%d.%d" % self.version[:2]
        if self.python.exists() and self._venv_version() == wanted:
            self.say(3, "沿用已有的 %s（Python %s）" % (self.venv, wanted))
            return
        cmd = [sys.executable, "-m", "venv", "--clear", str(self.venv)]
        if self._run(cmd) != 0 or not self.python.exists():
            raise StepFailed(3, "无法在 %s 创建虚拟环境（见上面的输出）" % self.venv,
                             "请确认对该文件夹有写权限、磁盘有空间，且 Python 来自 python.org（不是 Microsoft Store 版）；"
                             "删除 .venv 文件夹后重新运行 setup.bat")
        self.say(3, "已创建 %s" % self.venv)

    # 4 -------------------------------------------------------------------------------------------------
    def install(self):
        req = self.root / REQUIREMENTS
        cmd = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", str(req)]
        if self.wheels is not None:
            cmd[4:4] = ["--no-index", "--find-links", str(self.wheels)]
            source, advice = ("离线（%s）" % self.wheels,
                              "离线安装包的 wheels 文件夹不完整：请在联网电脑上重新运行 make windows-bundle，"
                              "完整复制 dist\\windows 文件夹后再运行 setup.bat")
        else:
            source, advice = ("联网（PyPI）", "请检查网络和代理设置（pip 需要访问 PyPI），或改用信息科的离线安装包"
                                            "（含 wheels 文件夹），然后重新运行 setup.bat")
        self.out("[4/5] %s：%s，按 %s 安装……" % (STEPS[4], source, req.name))
        if not req.is_file():
            raise StepFailed(4, "缺少 %s" % req, "请完整复制程序文件夹（或离线安装包）后重新运行 setup.bat")
        if self._run(cmd) != 0:
            raise StepFailed(4, "pip 安装依赖失败（见上面 pip 的输出）", advice)
        self.say(4, "依赖已安装")

    # 5 -------------------------------------------------------------------------------------------------
    def verify(self):
        if not self.pythonw.exists():
            raise StepFailed(5, "配置中的解释器 %s 不存在" % self.pythonw, "删除 .venv 文件夹后重新运行 setup.bat")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}
        env["PYTHONPATH"] = str(self.pythonpath)
        env["PYTHONIOENCODING"] = "utf-8"
        try:  # as xlwings runs it: -B, from the interpreter's folder, PYTHONPATH = python\
            res = subprocess.run([str(self.python), "-B", "-c", VERIFY], cwd=str(self.python.parent), env=env,
                                 capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            raise StepFailed(5, "无法运行 %s（%s）" % (self.python, exc), "删除 .venv 文件夹后重新运行 setup.bat")
        if res.returncode != 0:
            lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
            raise StepFailed(5, "用虚拟环境的 Python 导入 bulletin 和 xlwings 失败：%s" % (lines[-1] if lines else "未知错误"),
                             "重新运行 setup.bat（第 4 步会补装缺少的包）；仍失败请把本窗口的全部输出发给开发人员")
        facts = json.loads(res.stdout.decode("utf-8").strip().splitlines()[-1])
        if not Path(facts["bulletin"]).resolve().is_relative_to(self.pythonpath.resolve()):
            raise StepFailed(5, "导入的 bulletin 来自 %s，而不是本文件夹的 python\\" % facts["bulletin"],
                             "删除 .venv 文件夹后重新运行 setup.bat")
        pinned = pinned_xlwings(self.root)
        if pinned and facts["xlwings"] != pinned:
            raise StepFailed(5, "安装的 xlwings 是 %s，bulletin.xlsm 内的 VBA 模块是 %s" % (facts["xlwings"], pinned),
                             "删除 .venv 文件夹后重新运行 setup.bat")
        self.facts = facts
        self.say(5, "Python %s（%s 位），xlwings %s，bulletin 程序 %s" % (
            facts["python"], facts["bits"], facts["xlwings"], self.pythonpath))

    # ---------------------------------------------------------------------------------------------------
    def _run(self, cmd):
        try:
            return subprocess.run(cmd).returncode
        except OSError as exc:
            self.out("无法运行 %s：%s" % (cmd[0], exc))
            return -1

    def summary(self):
        self.out("")
        self.out("安装完成。")
        self.out("  工作簿使用的 Python：%s" % self.pythonw)
        self.out("  PYTHONPATH：%s" % self.pythonpath)
        self.out("  配置文件（%s 编码）：%s" % (self.code_page, "；".join(map(str, self.written))))
        self.out("下一步：把 %s 设为 Excel 受信任位置，打开 bulletin.xlsm，点“检查环境”，应显示上面的 Python、64 位、"
                 "xlwings %s（一致）。" % (self.root, self.facts.get("xlwings", "")))
        self.out("其他 Windows 用户使用本程序前，请以其本人身份运行一次：setup.bat --user-only")

    def run(self):
        try:
            self.check_python()
            self.write_config()
            if not self.user_only:
                self.create_venv()
                self.install()
            elif not self.python.exists():
                raise StepFailed(3, "%s 中还没有虚拟环境" % self.venv, "请先不带 --user-only 运行一次 setup.bat")
            self.verify()
        except StepFailed as exc:
            self.out("")
            self.out("安装未完成：第 %d 步（%s）失败。" % (exc.step, STEPS[exc.step]))
            self.out("原因：%s" % exc.cause)
            self.out("处理办法：%s" % exc.advice)
            if exc.step > 2 and self.written:
                self.out("（xlwings 配置已写好，装好后无需再改：%s）" % "；".join(map(str, self.written)))
            return exc.step
        self.summary()
        return 0


def pinned_xlwings(root):
    """The xlwings version requirements.txt pins: the one whose VBA bulletin.xlsm embeds."""
    req = Path(root) / "requirements.txt"
    if not req.is_file():
        return None
    for line in req.read_text(encoding="utf-8").splitlines():
        if line.strip().lower().startswith("xlwings=="):
            return line.split("==", 1)[1].split("#")[0].strip()
    return None


def main(argv=None, **overrides):
    p = argparse.ArgumentParser(description="通报工作簿 Windows 安装：Python 检查、xlwings 配置、虚拟环境、依赖、验证")
    p.add_argument("--user-only", action="store_true", help="只为当前 Windows 用户写 xlwings 配置（程序已装好时）")
    p.add_argument("--wheels", help="离线 wheel 文件夹（默认：本文件夹下的 wheels，若存在）")
    p.add_argument("--code-page", help="写配置用的代码页（默认：本机系统代码页，如 cp936）")
    p.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    return Setup(root=a.root, home=a.home, code_page=a.code_page, wheels=a.wheels, user_only=a.user_only,
                 **overrides).run()


if __name__ == "__main__":
    sys.exit(main())
