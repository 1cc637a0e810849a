"""Benchmark of the collection loop, whole-process timings: `bulletin collect send` making 40 fill-in workbooks
(the June sample, its collected annexes emptied, with 8 more units added to 附件1 so there are 40 departments),
and `bulletin collect import` checking and merging 30 returns (the June sample's own cells) into the master.
The import is timed against a floor measured in the same run: one process in which openpyxl loads the same 30
returns and loads and saves the master once. Target: import <= 1.5 × floor. Median of RUNS, interleaved."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))
RUNS = 3
EXTRA = 8
RETURNS = 30

FLOOR = """
import sys, openpyxl
from pathlib import Path
for p in sorted(Path(sys.argv[2]).iterdir()):
    openpyxl.load_workbook(p, data_only=False).close()
wb = openpyxl.load_workbook(sys.argv[1])
wb.save(sys.argv[1] + ".floor.xlsx")
"""


def master_with_40(path: Path) -> None:
    """The emptied June master with EXTRA made-up units (部门 rows, one 附件1 row each, after the last row)."""
    import openpyxl

    from bulletin.config import load_registry
    from collect_fixtures import blank_master

    blank_master(path)
    wb = openpyxl.load_workbook(path)
    dept = wb["部门"]
    header = [c.value for c in dept[1]]
    if not any(v is not None for r in dept.iter_rows(min_row=2, values_only=True) for v in r):  # an empty 部门 sheet: the registry is departments.csv, which a filled sheet replaces
        for row in load_registry().rows():
            dept.append([row.get(h, "") for h in header])
    a1 = wb["附件1"]
    for i in range(1, EXTRA + 1):
        name = f"测试单位{i}"
        row = {"部门": name, "简称": name, "全称": f"殷都区{name}", "别名": "", "类别": "区直部门", "附件": "1",
               "邮箱": f"test{i}@yindu.example"}
        dept.append([row.get(h, "") for h in header])
        a1.append([None, name])
    wb.save(path)


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    res = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if res.returncode not in (0,):
        raise SystemExit(f"{args[3:5]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return elapsed


def main() -> None:
    from collect_fixtures import SECRET, fill

    env = {**os.environ, "PYTHONPATH": str(ROOT / "python"), "BULLETIN_COLLECT_SECRET": SECRET,
           "BULLETIN_TODAY": "2023-07-05"}
    os.environ.update({"BULLETIN_COLLECT_SECRET": SECRET, "BULLETIN_TODAY": "2023-07-05"})
    py = [sys.executable, "-m", "bulletin"]
    timings: dict[str, list[float]] = {"send": [], "import": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        master = base / "通报数据-2023-06.xlsx"
        master_with_40(master)
        timed([*py, "collect", "send", str(master)], env)
        made = sorted((base / "out" / "collect" / "2023-06").glob("报送-*.xlsx"))
        assert len(made) == 40, len(made)
        returns = base / "returns-in"
        returns.mkdir()
        filled = 0
        for p in made:
            if filled == RETURNS:
                break
            if "测试单位" in p.name:
                continue  # the made-up units have no June figures to fill in
            fill(p, returns / p.name)
            filled += 1
        assert filled == RETURNS, filled
        for k in range(RUNS):
            run = Path(tmp) / f"run{k}"
            shutil.copytree(base, run, ignore=shutil.ignore_patterns("out", "history.sqlite", "collect.secret"))
            timings["send"].append(timed([*py, "collect", "send", str(run / master.name)], env))
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", FLOOR, str(run / master.name), str(run / "returns-in")], check=True)
            timings["floor"].append(time.perf_counter() - start)
            start = time.perf_counter()
            res = subprocess.run([*py, "collect", "import", str(run / master.name), str(run / "returns-in")], env=env,
                                 capture_output=True, text=True)
            timings["import"].append(time.perf_counter() - start)
            assert res.returncode == 0 and f"已报 {RETURNS}" in res.stdout, res.stdout[-1500:] + res.stderr[-1500:]
    s, i, f = (statistics.median(timings[k]) for k in ("send", "import", "floor"))
    print(f"collect send, 40 fill-in workbooks:        {s:6.2f} s  ({s / 40 * 1000:.0f} ms per workbook)")
    print(f"collect import, {RETURNS} returns merged:         {i:6.2f} s")
    print(f"floor (openpyxl loads the {RETURNS} returns, loads and saves the master): {f:6.2f} s")
    print(f"import / floor: {i / f:.2f}  (target <= 1.5)  median of {RUNS}")


if __name__ == "__main__":
    main()
