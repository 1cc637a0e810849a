"""Benchmark at scale: `bulletin check` and `bulletin run` on a workbook whose 附件3 holds 10,000 data rows
(the June sample with rows added), as whole processes, against a floor measured in the same run (a Python
process that imports openpyxl and loads and saves the same workbook). Medians; target check + run <= 3 s."""
from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
RUNS = 5
ROWS = 10_000
FLOOR = "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); wb.save(sys.argv[2])"


def build(path: Path, rows: int = ROWS) -> Path:
    """The June sample with `rows` more rows in 附件3: one department's certificate types, its name
    cell left blank below the first (merged-cell style, filled down by the intake)."""
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["附件3"]
    name = next(ws.cell(r, 2).value for r in range(ws.max_row, 0, -1) if ws.cell(r, 2).value)
    first = ws.max_row + 1
    for i in range(rows):
        ws.append([None, name if i == 0 else None, f"证照类型-{i + 1:05d}", i % 97, i % 13])
    assert ws.max_row == first + rows - 1
    wb.save(path)
    return path


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode not in (0, 1):  # 1: the added rows are not in the printed totals (warnings/errors)
        raise SystemExit(f"{cmd[3]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    compileall.compile_dir(str(ROOT / "python" / "bulletin"), quiet=1)  # as bench_run.py: byte-compiled, as pip leaves openpyxl
    with tempfile.TemporaryDirectory() as tmp:
        book = build(Path(tmp) / "通报数据-2023-06-万行.xlsx")
        floor, check, run = [], [], []
        for _ in range(RUNS):  # interleaved, so all three see the same machine load
            floor.append(timed([sys.executable, "-c", FLOOR, str(book), f"{tmp}/floor.xlsx"]))
            check.append(timed([sys.executable, "-m", "bulletin", "check", str(book)]))
            run.append(timed([sys.executable, "-m", "bulletin", "run", str(book), "--out", f"{tmp}/out",
                              "--history", f"{tmp}/h.sqlite"]))
    f, c, r = statistics.median(floor), statistics.median(check), statistics.median(run)
    print(f"附件3 with {ROWS} added rows; medians of {RUNS}")
    print(f"floor (import openpyxl, load+save) : {f * 1000:7.0f} ms")
    print(f"bulletin check                     : {c * 1000:7.0f} ms  ({c / f:.2f} x floor)")
    print(f"bulletin run                       : {r * 1000:7.0f} ms  ({r / f:.2f} x floor)")
    print(f"check + run                        : {(c + r) * 1000:7.0f} ms  (target <= 3000)")


if __name__ == "__main__":
    main()
