"""Fixtures of the console tests: the console as a real process (`bulletin serve`) on a working folder,
and Debian's Chromium driven by playwright (conftest.require_tool: under CI=true a missing Chromium fails)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class Console:
    """`bulletin serve` in its own process; the URL is the first line it prints."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.proc = subprocess.Popen([sys.executable, "-m", "bulletin", "serve", "--no-browser", "--folder",
                                      str(folder), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})}, cwd=folder)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        if not line or not line[0].startswith("http://"):
            self.stop()
            raise AssertionError(f"bulletin serve did not start: {line} {self.proc.stderr.read()}")
        self.url = line[0].strip()
        self.base = self.url.split("/?", 1)[0].removesuffix("/login")  # local: ?token=…; accounts: /login
        self.token = self.url.split("token=", 1)[1] if "token=" in self.url else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # requirements-dev.txt: always installed

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def working_folder(tmp_path_factory, name: str = "console") -> Path:
    """A working folder whose history holds May, imported as staff do (bulletin import-month)."""
    folder = tmp_path_factory.mktemp(name)
    subprocess.run([sys.executable, "-m", "bulletin", "import-month", str(MAY), "--history",
                    str(folder / "history.sqlite")], check=True, capture_output=True)
    return folder


def chromium_mark():
    """The browser tests need Debian's Chromium: skipped where it is missing, failed under CI=true."""
    from conftest import require_tool

    return require_tool("Chromium", Path(CHROMIUM).exists(), "apt-get install chromium chromium-driver")
