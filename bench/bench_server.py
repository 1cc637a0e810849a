"""Benchmark of the office server under load, loopback only, bounded (it stops by itself): 40 department users
(部门填报员) log in, open their fill-in form and submit their June figures, while 2 clerks (科员) log in and run the
month's steps, against 2 `bulletin serve` processes sharing one PostgreSQL (started here in a temporary folder,
Debian's package, as the tests do). Reports p50/p95 of each request kind, the errors, and checks that every
submission is in the ledger exactly once. Targets (README): p95 <= 1 s for page and API calls other than the
month's steps, 0 errors, 0 lost or doubled submissions.

The users arrive spread over RAMP seconds (seeded), as an office's departments do on a deadline day."""
from __future__ import annotations

import http.cookiejar
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
DEPARTMENTS = 40
CLERKS = 2
SERVERS = 2
RAMP = 40.0  # seconds over which the department users arrive
CLERK_THINK = 10.0  # seconds a clerk looks at the page between rounds (--clerk-think; far busier than a real day)
LIMIT = 600.0  # the whole load phase stops after this, whatever happens
PASSWORD = "Bench-password-2023"
STEP_KINDS = {"step"}  # the month's steps: reported, not held to the 1 s target


class Client:
    """One browser: its own cookies, the CSRF token the login gives, timings recorded per request kind."""

    def __init__(self, base: str, record):
        self.base = base
        self.record = record
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers: dict[str, str] = {"Origin": base}

    def call(self, kind: str, method: str, path: str, body: dict | None = None, *, expect=(200,)) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=120) as res:
                status, raw = res.status, res.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except Exception as exc:  # a refused or dropped connection is an error of the run, not a crash of it
            self.record(kind, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
            return {}
        elapsed = time.perf_counter() - start
        ok = status in expect
        try:
            answer = json.loads(raw) if raw[:1] in (b"{", b"[") else {}
        except ValueError:
            answer = {}
        self.record(kind, elapsed, None if ok else f"{method} {path}: {status} {raw[:200]!r}")
        return answer if ok else {}


class Load:
    """Timings and errors of every request, from all threads."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error:
                self.errors.append((kind, error))


def bulletin(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    res = subprocess.run([sys.executable, "-m", "bulletin", *args], env=env, capture_output=True, text=True,
                         input=stdin, timeout=300)
    if res.returncode != 0:
        raise SystemExit(f"bulletin {' '.join(args[:2])} failed ({res.returncode}):\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return res.stdout


def start_server(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bulletin", "serve", "--accounts", "--host", "127.0.0.1",
                             "--port", "0", "--no-browser", "--folder", str(folder)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # the first line is the address
    if not line.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()[-2000:]}")
    return proc, line.rsplit("/", 1)[0]


def signed_in(base: str, load: Load, name: str) -> Client:
    client = Client(base, load)
    client.call("login", "POST", "/api/login", {"username": name, "password": PASSWORD})
    me = client.call("api", "GET", "/api/me")
    client.headers["X-CSRFToken"] = me.get("csrf_token", "")
    return client


def department_user(base: str, load: Load, name: str, book: str, department: str, delay: float, sample: Any,
                    done: list) -> None:
    from collect_fixtures import posted_values

    time.sleep(delay)
    client = signed_in(base, load, name)
    client.call("page", "GET", "/fill")
    client.call("api", "GET", "/api/fill/options")
    query = urllib.parse.urlencode({"workbook": book, "department": department})
    form = client.call("form", "GET", f"/api/fill?{query}")
    if not form:
        return
    body = {"workbook": book, "department": department, "values": posted_values(form, sample),
            "explanation": "按本单位台账如实填报"}
    client.call("check", "POST", "/api/fill/check", body)
    answer = client.call("submit", "POST", "/api/fill/submit", body)
    if answer.get("outcome") == "已报":
        done.append(department)
    else:
        load("submit", 0.0, f"{department}: not accepted: {answer.get('message') or answer}")
    client.call("form", "GET", f"/api/fill?{query}")  # what the page shows after: 已报


def clerk(base: str, load: Load, name: str, book: str, stop: threading.Event) -> None:
    client = signed_in(base, load, name)
    client.call("page", "GET", "/")
    quoted = urllib.parse.urlencode({"workbook": book})
    steps = ["collect-status", "check"]
    while not stop.is_set():  # a clerk watching the month fill up: looks, runs a step, thinks
        client.call("api", "GET", f"/api/fill/departments?{quoted}")
        client.call("api", "GET", f"/api/tables?{quoted}")
        client.call("api", "GET", f"/api/audit?{urllib.parse.urlencode({'month': '2023-06'})}")
        client.call("step", "POST", f"/api/{steps[0]}", {"workbook": book})
        steps.reverse()
        stop.wait(CLERK_THINK)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    import argparse

    import sqlalchemy as sa

    global CLERK_THINK, RAMP
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerk-think", type=float, default=CLERK_THINK, help="seconds between a clerk's rounds")
    parser.add_argument("--ramp", type=float, default=RAMP, help="seconds over which the departments arrive")
    args = parser.parse_args()
    CLERK_THINK, RAMP = args.clerk_think, args.ramp

    from bench_collect import master_with_40
    from collect_fixtures import SECRET, sample_data
    from pg_server import TempPostgres

    pg = TempPostgres(max_connections=100).start()
    servers: list[subprocess.Popen] = []
    try:
        url = pg.new_database()
        folder = Path(tempfile.mkdtemp(prefix="bulletin-bench-server-"))
        env = {**os.environ, "PYTHONPATH": str(ROOT / "python"), "BULLETIN_DATABASE_URL": url,
               "BULLETIN_COLLECT_SECRET": SECRET, "BULLETIN_TODAY": "2023-07-05",
               "BULLETIN_CONSOLE_SECRET": "bench-console-secret-0123456789"}
        book = "通报数据-2023-06.xlsx"
        master_with_40(folder / book)
        # the office registry knows the made-up units too (a department account is bound to a registered unit)
        config = folder / "config"
        config.mkdir()
        registry = (ROOT / "python" / "bulletin" / "data" / "departments.csv").read_text(encoding="utf-8")
        made_up = [f'测试单位{i},测试单位{i},殷都区测试单位{i},,区直部门,1,test{i}@yindu.example,ce shi dan wei {i},否,'
                   for i in range(1, 9)]
        (config / "departments.csv").write_text(registry.rstrip("\n") + "\n" + "\n".join(made_up) + "\n",
                                                encoding="utf-8")
        env["BULLETIN_CONFIG_DIR"] = str(config)
        bulletin(env, "db", "upgrade")
        bulletin(env, "collect", "send", str(folder / book))
        engine = sa.create_engine(url)
        with engine.connect() as conn:  # the departments the fill-in workbooks went to
            departments = sorted(d for (d,) in conn.execute(sa.text(
                "SELECT DISTINCT department FROM collect_ledger WHERE month = '2023-06'")))
        assert len(departments) == DEPARTMENTS, departments
        csv = folder / "accounts.csv"
        lines = ["用户名,角色,部门,初始密码", f"管理员,管理员,,{PASSWORD}"]
        lines += [f"科员{i},科员,,{PASSWORD}" for i in range(1, CLERKS + 1)]
        lines += [f"填报{i:02d},部门填报员,{d},{PASSWORD}" for i, d in enumerate(departments, 1)]
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        bulletin(env, "users", "import", str(csv))
        with engine.begin() as conn:  # accounts set up beforehand: their first-login change is not timed here
            conn.execute(sa.text("UPDATE accounts SET must_change_password = false"))
        bases = []
        for _ in range(SERVERS):
            proc, base = start_server(env, folder)
            servers.append(proc)
            bases.append(base)
        sample = sample_data()  # computed once: each user posts its unit's figures from it
        load, done, stop = Load(), [], threading.Event()
        rng = random.Random(2023)
        started = time.perf_counter()
        clerks = [threading.Thread(target=clerk, args=(bases[i % SERVERS], load, f"科员{i + 1}", book, stop))
                  for i in range(CLERKS)]
        users = [threading.Thread(target=department_user, args=(bases[i % SERVERS], load, f"填报{i + 1:02d}", book, d,
                                                                rng.uniform(0, RAMP), sample, done))
                 for i, d in enumerate(departments)]
        for t in clerks + users:
            t.start()
        for t in users:
            t.join(max(1.0, LIMIT - (time.perf_counter() - started)))
        stop.set()
        for t in clerks:
            t.join(60)
        wall = time.perf_counter() - started
        with engine.connect() as conn:
            events = dict(conn.execute(sa.text(
                "SELECT department, count(*) FROM collect_events WHERE month = '2023-06' AND outcome = '已报' "
                "GROUP BY department")).all())
            audited = dict(conn.execute(sa.text(
                "SELECT department, count(*) FROM audit_log WHERE action = 'form_submit' GROUP BY department")).all())
        engine.dispose()
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()
    print(f"{DEPARTMENTS} department users and {CLERKS} clerks on {SERVERS} server processes sharing PostgreSQL, "
          f"users arriving over {RAMP:.0f} s, a clerk's round every {CLERK_THINK:.0f} s; load phase {wall:.1f} s")
    print(f"{'request':<10}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}   target")
    for kind in ("login", "page", "api", "form", "check", "submit", "step"):
        t = load.times.get(kind, [])
        if not t:
            continue
        target = "(month step: reported only)" if kind in STEP_KINDS else "p95 <= 1000 ms"
        print(f"{kind:<10}{len(t):>6}{pct(t, .5) * 1000:>10.0f}{pct(t, .95) * 1000:>10.0f}{max(t) * 1000:>10.0f}   {target}")
    lost = [d for d in departments if events.get(d, 0) == 0]
    doubled = [d for d in departments if events.get(d, 0) > 1]
    unaudited = [d for d in departments if audited.get(d, 0) != 1]
    print(f"errors: {len(load.errors)}; submissions accepted {len(done)}/{DEPARTMENTS}; in the ledger exactly once: "
          f"{DEPARTMENTS - len(lost) - len(doubled)}/{DEPARTMENTS} (lost {len(lost)}, doubled {len(doubled)}); "
          f"audited once: {DEPARTMENTS - len(unaudited)}/{DEPARTMENTS}")
    for kind, error in load.errors[:10]:
        print(f"  {kind}: {error}")
    slow = [k for k in load.times if k not in STEP_KINDS and pct(load.times[k], .95) > 1.0]
    ok = not load.errors and not lost and not doubled and not unaudited and not slow
    print("result:", "all targets met" if ok else f"targets missed{' (p95 > 1 s: ' + ', '.join(slow) + ')' if slow else ''}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
