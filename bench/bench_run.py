"""Benchmark: `bulletin run` on the June sample as a whole process, against a floor measured in the
same run (a Python process that imports pandas and openpyxl and only loads and saves the workbook),
plus the in-process core computation (all annexes, no file I/O). Prints medians and the ratio."""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
RUNS = 7
FLOOR = ("import sys, pandas, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); wb.save(sys.argv[2])")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import compute

    with tempfile.TemporaryDirectory() as tmp:
        extra = sys.argv[1:]  # e.g. --history DB, once part 2's options exist
        floor, run = [], []
        for _ in range(RUNS):  # interleaved, so both see the same machine load
            floor.append(timed([sys.executable, "-c", FLOOR, str(SAMPLE), f"{tmp}/floor.xlsx"]))
            run.append(timed([sys.executable, "-m", "bulletin", "run", str(SAMPLE), "--out", tmp, *extra]))
        grids = read_grids(SAMPLE)
        compute(grids)  # warm caches (config files) as a long-lived Excel session would have
        core = []
        for _ in range(RUNS * 3):
            start = time.perf_counter()
            compute(grids)
            core.append(time.perf_counter() - start)
    f, r, c = statistics.median(floor), statistics.median(run), statistics.median(core)
    print(f"floor (import pandas+openpyxl, load+save): {f * 1000:7.0f} ms  (median of {RUNS})")
    print(f"bulletin run                             : {r * 1000:7.0f} ms  (median of {RUNS})")
    print(f"ratio run / floor                        : {r / f:7.2f}   (target <= 1.5)")
    print(f"core computation, all annexes, in-process: {c * 1000:7.1f} ms  (median of {RUNS * 3}; target <= 50)")


if __name__ == "__main__":
    main()
