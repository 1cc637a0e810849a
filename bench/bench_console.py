"""Benchmark: a warm console's `POST /api/check` and `POST /api/run` on the June sample (May in history),
server-side: the Flask app in-process (interpreter, configuration and templates loaded, the WSGI stack
and the real action layer on real files, no socket), median of RUNS, against a floor measured in the same
run (openpyxl loading and saving the same workbook in-process). Targets: check <= 150 ms, run <= 400 ms."""
from __future__ import annotations

import shutil
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
RUNS = 9
PORT = 8000  # only in the Host header: the test client does not listen


def main() -> None:
    import openpyxl

    from bulletin.console.app import Settings, create_app
    from bulletin.console.security import HEADER, Guard

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, "-m", "bulletin", "import-month", str(MAY), "--history",
                        str(folder / "history.sqlite")], check=True, capture_output=True)
        book = folder / SAMPLE.name
        guard = Guard(port=PORT)
        client = create_app(Settings(folder=folder), guard).test_client()
        headers = {HEADER: guard.token}

        def call(step: str) -> float:
            shutil.copy(SAMPLE, book)  # the June sample as saved by Excel, each time
            start = time.perf_counter()
            res = client.post(f"/api/{step}", base_url=f"http://127.0.0.1:{PORT}", headers=headers,
                              data={"workbook": SAMPLE.name})
            elapsed = time.perf_counter() - start
            assert res.status_code == 200, res.get_json()
            return elapsed

        def floor() -> float:
            start = time.perf_counter()
            openpyxl.load_workbook(SAMPLE).save(folder / "floor.xlsx")
            return time.perf_counter() - start

        for step in ("check", "run"):  # warm: imports, configuration, templates, caches
            call(step)
        timings: dict[str, list[float]] = {"floor": [], "check": [], "run": []}
        for _ in range(RUNS):  # interleaved, so all see the same machine load
            timings["floor"].append(floor())
            timings["check"].append(call("check"))
            timings["run"].append(call("run"))
    f, c, r = (statistics.median(timings[k]) * 1000 for k in ("floor", "check", "run"))
    print(f"floor (openpyxl load + save of the June sample): {f:6.0f} ms  (median of {RUNS})")
    print(f"POST /api/check (校验数据 into the workbook)      : {c:6.0f} ms  ({c / f:.2f} x floor; target <= 150 ms)")
    print(f"POST /api/run (the whole job into the workbook)  : {r:6.0f} ms  ({r / f:.2f} x floor; target <= 400 ms)")


if __name__ == "__main__":
    main()
