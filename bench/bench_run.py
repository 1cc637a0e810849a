"""Benchmark: `bulletin run` on the June sample as a whole process, against a floor measured in the
same run (a Python process that imports openpyxl and only loads and saves the workbook),
plus the in-process core computation (all annexes, no file I/O). Prints medians and the ratio."""
from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
SAMPLE = ROOT / "examples" / "2023-06" / "通报数据-2023-06.xlsx"
MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
RUNS = 11
FLOOR = ("import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); wb.save(sys.argv[2])")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    # byte-compiled first, as pip leaves openpyxl in the floor (PYTHONDONTWRITEBYTECODE would otherwise
    # have every run compile the package's edited modules again)
    compileall.compile_dir(str(ROOT / "python" / "bulletin"), quiet=1)
    from bulletin.adapters.xlsx_files import read_grids
    from bulletin.engine import analyse, compute

    with tempfile.TemporaryDirectory() as tmp:
        # the full job: June against a history holding May (comparison, rules, text, output workbook)
        subprocess.run([sys.executable, "-m", "bulletin", "import-month", str(MAY), "--history", f"{tmp}/h.sqlite"],
                       check=True, capture_output=True)
        extra = ["--history", f"{tmp}/h.sqlite"]
        floor, run = [], []
        for _ in range(RUNS):  # interleaved, so both see the same machine load
            floor.append(timed([sys.executable, "-c", FLOOR, str(SAMPLE), f"{tmp}/floor.xlsx"]))
            run.append(timed([sys.executable, "-m", "bulletin", "run", str(SAMPLE), "--out", tmp, *extra]))
        grids, may = read_grids(SAMPLE), compute(read_grids(MAY))
        analyse(compute(grids), {"2023-05": may})  # warm caches (config files) as a long Excel session would
        core, full = [], []
        for _ in range(RUNS * 3):
            start = time.perf_counter()
            data = compute(grids)
            core.append(time.perf_counter() - start)
            analyse(data, {"2023-05": may})
            full.append(time.perf_counter() - start)
    f, r, c, a = statistics.median(floor), statistics.median(run), statistics.median(core), statistics.median(full)
    print(f"floor (import openpyxl, load+save)       : {f * 1000:7.0f} ms  (median of {RUNS})")
    print(f"bulletin run --history (June vs May)     : {r * 1000:7.0f} ms  (median of {RUNS})")
    print(f"ratio run / floor                        : {r / f:7.2f}   (target <= 1.5)")
    print(f"core computation, all annexes, in-process: {c * 1000:7.1f} ms  (median of {RUNS * 3}; target <= 50)")
    print(f"core + comparison, rules, text           : {a * 1000:7.1f} ms  (median of {RUNS * 3})")


if __name__ == "__main__":
    main()
