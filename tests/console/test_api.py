"""The console's API and its protections, in-process (Flask's test client against the real app and the
real action layer on real files); the browser tests drive the same app through Chromium."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from bulletin.console.app import Settings, create_app
from bulletin.console.security import COOKIE, HEADER, Guard
from bulletin.console.workspace import safe_name

from .conftest import MAY, SAMPLE

PORT = 48123  # only in the Host header: the test client does not listen
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def console(tmp_path):
    folder = tmp_path / "工作台"
    guard = Guard(port=PORT)
    client = create_app(Settings(folder=folder, max_upload_mb=2), guard).test_client()
    return SimpleNamespace(client=client, guard=guard, folder=folder, auth={HEADER: guard.token})


def cli_json(tmp_path: Path, *args) -> dict:
    res = subprocess.run([sys.executable, "-m", "bulletin", *map(str, args), "--json"], capture_output=True,
                         text=True, cwd=tmp_path)
    return json.loads(res.stdout)


def cli_error(tmp_path: Path, *args) -> str:
    res = subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True,
                         cwd=tmp_path)
    assert res.returncode == 2
    return res.stderr.strip().removeprefix("错误：")


def upload(path: Path, name: str | None = None) -> dict:
    return {"workbook": (io.BytesIO(path.read_bytes()), name or path.name)}


# -- the token ------------------------------------------------------------------------------------------

def test_without_the_token_every_page_and_api_request_is_refused(console):
    page = console.client.get("/", base_url=BASE)
    assert page.status_code == 401 and "需要令牌" in page.get_data(as_text=True)
    for method, path in (("get", "/api/workbooks"), ("post", "/api/check"), ("post", "/api/run"),
                         ("get", "/api/tables"), ("get", "/out/通报-2023-06.docx"), ("post", "/api/upload")):
        res = getattr(console.client, method)(path, base_url=BASE)
        assert res.status_code == 401, path
    assert console.client.post("/api/check", base_url=BASE).get_json() == {"error": "需要令牌：请使用启动时显示的地址打开工作台"}


def test_a_wrong_token_is_forbidden(console):
    assert console.client.get("/?token=guess", base_url=BASE).status_code == 403
    assert console.client.get("/api/workbooks", base_url=BASE, headers={HEADER: "guess"}).status_code == 403
    console.client.set_cookie(COOKIE, "guess", domain="127.0.0.1")
    assert console.client.get("/", base_url=BASE).status_code == 403


def test_the_first_load_turns_the_token_into_a_strict_httponly_cookie(console):
    res = console.client.get(f"/?token={console.guard.token}", base_url=BASE)
    assert res.status_code == 302 and res.headers["Location"] == "/"  # the token leaves the address bar
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={console.guard.token}") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = console.client.get("/", base_url=BASE)
    assert page.status_code == 200 and "通报工作台" in page.get_data(as_text=True)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"


def test_another_host_name_is_refused_even_with_the_token(console):
    # a DNS-rebinding page reaches 127.0.0.1 under its own name: the Host header gives it away
    res = console.client.get("/api/workbooks", base_url=f"http://evil.example:{PORT}", headers=console.auth)
    assert res.status_code == 403 and "主机名" in res.get_json()["error"]
    assert console.client.get("/api/workbooks", base_url=f"http://localhost:{PORT}", headers=console.auth).status_code == 200


def test_a_cross_site_post_with_the_cookie_is_refused(console):
    console.client.get(f"/?token={console.guard.token}", base_url=BASE)  # the browser now holds the cookie
    data = lambda: upload(SAMPLE)  # noqa: E731
    for headers in ({"Origin": "http://evil.example"}, {}, {"Origin": BASE, "Sec-Fetch-Site": "cross-site"}):
        res = console.client.post("/api/upload", base_url=BASE, data=data(), headers=headers)
        assert res.status_code == 403 and res.get_json()["error"] == "拒绝来自其他网站的请求", headers
    assert not console.folder.exists() or not list(console.folder.glob("*.xlsx"))
    res = console.client.post("/api/upload", base_url=BASE, data=data(), headers={"Origin": BASE})
    assert res.status_code == 200 and res.get_json()["workbook"] == SAMPLE.name


def test_state_changes_are_post_only(console):
    assert console.client.get("/api/check", base_url=BASE, headers=console.auth).status_code == 405


# -- the API: the CLI's JSON ----------------------------------------------------------------------------

def test_api_check_returns_what_bulletin_check_json_prints(console, tmp_path):
    res = console.client.post("/api/check", base_url=BASE, headers=console.auth, data=upload(SAMPLE))
    assert res.status_code == 200
    body, cli = res.get_json(), cli_json(tmp_path, "check", SAMPLE)
    for key in cli:  # the console's notes start with the upload's
        assert (body[key][-len(cli[key]):] if key == "notes" else body[key]) == cli[key], key
    assert body["notes"][0] == f"已上传 {SAMPLE.name}。"
    assert [f"{p['sheet']}!{p['cell']}" for p in body["problems"]] == ["附件1!F25", "附件6!C34"]
    assert body["notes"][-1] == "校验完成：错误 0 条、警告 2 条。"
    # like the 校验数据 button: 校验结果 is written into the workbook (a backup kept in 备份/)
    book = openpyxl.load_workbook(console.folder / SAMPLE.name)
    assert [r[1] for r in book["校验结果"].iter_rows(min_row=2, values_only=True)] == ["附件1", "附件6"]
    assert len(list((console.folder / "备份").glob("*.备份-*.xlsx"))) == 1 and not list(console.folder.glob("*.备份-*"))


def test_api_run_returns_what_bulletin_run_json_prints(console, tmp_path):
    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    cli_json(tmp_path, "import-month", MAY, "--history", console.folder / "history.sqlite")
    shutil.copy(console.folder / "history.sqlite", tmp_path / "cli.sqlite")
    res = console.client.post("/api/run", base_url=BASE, headers=console.auth, data={"workbook": SAMPLE.name})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    cli = cli_json(tmp_path, "run", SAMPLE, "--history", tmp_path / "cli.sqlite", "--out", tmp_path / "out")
    for key in ("month", "tables", "totals", "subtotals", "references", "problems", "previous_month", "statuses",
                "narrative"):
        assert body[key] == cli[key], key
    assert "较5月份降低2.51%" in body["narrative"]["总体情况"]
    assert body["statuses"]["附件2"]["公安分局"]["status"] == "红"


def test_a_long_step_runs_as_a_job_with_progress(console):
    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    res = console.client.post("/api/recalc", base_url=BASE, data={"workbook": SAMPLE.name},
                              headers={**console.auth, "Prefer": "respond-async"})
    assert res.status_code == 202
    job = res.get_json()
    import time

    for _ in range(300):
        job = console.client.get(f"/api/jobs/{job['job']}", base_url=BASE, headers=console.auth).get_json()
        if job["state"] != "running":
            break
        time.sleep(0.1)
    assert job["state"] == "done" and "正在重新计算……" in job["progress"]
    assert job["result"]["notes"][0].startswith("重新计算完成")


# -- files in, files out ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content", [("坏文件.xlsx", b"not a zip"), ("数据.xls", b"\xd0\xcf\x11\xe0old excel"),
                                           ("说明.txt", b"hello")])
def test_a_bad_file_gets_the_same_message_as_the_cli(console, tmp_path, name, content):
    bad = tmp_path / name
    bad.write_bytes(content)
    res = console.client.post("/api/check", base_url=BASE, headers=console.auth, data=upload(bad))
    assert res.status_code == 400
    assert res.get_json() == {"error": cli_error(tmp_path, "check", bad)}
    assert not [p for p in console.folder.iterdir()]  # nothing stored, no temp file left


def test_an_upload_over_the_limit_is_refused(console, tmp_path):
    big = tmp_path / "大.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"0" * (3 * 1024 * 1024))
    res = console.client.post("/api/upload", base_url=BASE, headers=console.auth, data=upload(big))
    assert res.status_code == 413 and "超过 2 MB" in res.get_json()["error"]


@pytest.mark.parametrize("path", ["/out/../history.sqlite", "/out/%2e%2e/history.sqlite", "/out/..%2fhistory.sqlite",
                                  "/out//etc/passwd", "/out/.backup/x.xlsx", "/workbook?name=../history.sqlite",
                                  "/workbook?name=history.sqlite"])
def test_files_are_served_only_from_the_out_folder(console, path):
    console.folder.mkdir(exist_ok=True)
    (console.folder / "history.sqlite").write_bytes(b"secret")
    (console.folder / "out" / ".backup").mkdir(parents=True)
    (console.folder / "out" / ".backup" / "x.xlsx").write_bytes(b"old")
    res = console.client.get(path, base_url=BASE, headers=console.auth, follow_redirects=True)
    assert res.status_code == 404 and b"secret" not in res.data


def test_an_upload_name_is_made_safe():
    assert safe_name("../../etc/通报数据-2023-06.xlsx") == "通报数据-2023-06.xlsx"
    assert safe_name("C:\\Users\\张三\\~$通报.XLSX") == "通报.xlsx"
    assert safe_name('<script>"a"</script>.xlsm') == "script.xlsm"  # the part after the last slash
    assert safe_name(".xlsx") == "工作簿.xlsx"


def test_user_text_is_escaped(tmp_path):
    guard = Guard(port=PORT)
    client = create_app(Settings(folder=tmp_path / "<b>x</b>"), guard).test_client()
    page = client.get("/", base_url=BASE, headers={HEADER: guard.token}).get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_a_workbook_open_in_excel_is_not_written(console):
    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    (console.folder / f"~${SAMPLE.name}").write_bytes(b"owner")
    before = (console.folder / SAMPLE.name).read_bytes()
    res = console.client.post("/api/recalc", base_url=BASE, headers=console.auth, data={"workbook": SAMPLE.name})
    assert res.status_code == 409 and res.get_json()["error"].startswith(f"请先关闭工作簿 {SAMPLE.name}")
    assert (console.folder / SAMPLE.name).read_bytes() == before
    assert [b["name"] for b in console.client.get("/api/workbooks", base_url=BASE, headers=console.auth)
            .get_json()["workbooks"]] == [SAMPLE.name]  # the lock file is no workbook


def test_an_unexpected_error_is_a_short_message_and_a_log(console, monkeypatch):
    from bulletin.console import steps

    def broken(*a, **k):
        raise RuntimeError("boom")

    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    monkeypatch.setitem(steps.FILE_STEPS, "charts", broken)
    res = console.client.post("/api/charts", base_url=BASE, headers=console.auth, data={"workbook": SAMPLE.name})
    error = res.get_json()["error"]
    assert res.status_code == 500 and error.startswith("程序内部错误（RuntimeError）") and "Traceback" not in error
    log = next(console.folder.glob("bulletin-error-*.log"))
    assert str(log) in error and "RuntimeError: boom" in log.read_text(encoding="utf-8")


# -- another bind address: only with --allow-remote, and then with accounts (tests/console/test_office.py) -----

def test_another_bind_address_needs_allow_remote(tmp_path):
    res = subprocess.run([sys.executable, "-m", "bulletin", "serve", "--host", "0.0.0.0", "--no-browser",
                          "--folder", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--allow-remote" in res.stderr and not res.stdout


def test_allow_remote_needs_an_administrator_account_in_the_office_database(tmp_path):
    # refused before anything listens: the shared password of earlier versions is no way in any more
    env = {**__import__("os").environ, "BULLETIN_DATABASE_URL": f"sqlite:///{(tmp_path / 'o.sqlite').as_posix()}",
           "BULLETIN_CONSOLE_PASSWORD": "办公室的密码-2023"}
    res = subprocess.run([sys.executable, "-m", "bulletin", "serve", "--host", "0.0.0.0", "--allow-remote",
                          "--no-browser", "--folder", str(tmp_path)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert res.returncode == 2 and "还没有可用的管理员账号" in res.stderr and "bulletin users add" in res.stderr
    assert not res.stdout


def test_after_closing_the_month_the_console_makes_next_months_workbook(console, tmp_path):
    """结转下月 then 生成下月工作簿: 通报数据-2023-07.xlsx beside the workbook, 部门 and the annex rows from the
    closed June (a second call does not replace it)."""
    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    closed = console.client.post("/api/close-month", base_url=BASE, headers=console.auth,
                                 data={"workbook": SAMPLE.name})
    assert closed.status_code == 200, closed.get_json()
    made = console.client.post("/api/next-month", base_url=BASE, headers=console.auth, data={"workbook": SAMPLE.name})
    assert made.status_code == 200, made.get_json()
    assert any("2023-07" in n for n in made.get_json()["notes"])
    book = openpyxl.load_workbook(console.folder / "通报数据-2023-07.xlsx")
    month = next(r[1] for r in book["总体情况"].iter_rows(values_only=True) if r[0] == "月份")
    assert month == "2023-07"
    # 部门 carries only what workbooks set (June set nothing); the annexes carry June's units
    assert not [r for r in book["部门"].iter_rows(min_row=2, values_only=True) if r[0]]
    units = [r[1] for r in book["附件1"].iter_rows(min_row=3, values_only=True) if r[1]]
    assert "水利局" in units and len(units) > 30
    again = console.client.post("/api/next-month", base_url=BASE, headers=console.auth, data={"workbook": SAMPLE.name})
    assert again.status_code != 200 and "已存在" in again.get_json()["error"]


def test_collection_steps_from_the_console(console, monkeypatch):
    """下发报送表, 报送情况 and 催报 through the console's API: the same actions as `bulletin collect`."""
    from bulletin.actions import collect

    monkeypatch.setenv(collect.SECRET_ENV, "console-test-secret-0123456789")
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-04")
    console.folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, console.folder / SAMPLE.name)
    sent = console.client.post("/api/collect-send", base_url=BASE, headers=console.auth,
                               data={"workbook": SAMPLE.name})
    assert sent.status_code == 200, sent.get_json()
    assert len(sent.get_json()["collect"]["departments"]) == 32
    assert (console.folder / "out" / "collect" / "2023-06" / "报送-2023-06-交通局.xlsx").is_file()
    status = console.client.post("/api/collect-status", base_url=BASE, headers=console.auth,
                                 data={"workbook": SAMPLE.name})
    assert status.status_code == 200, status.get_json()
    assert {r["state"] for r in status.get_json()["collect"]["rows"]} == {"已发"}
    assert "报送情况" in openpyxl.load_workbook(console.folder / SAMPLE.name).sheetnames
    remind = console.client.post("/api/collect-remind", base_url=BASE, headers=console.auth,
                                 data={"workbook": SAMPLE.name})
    assert remind.status_code == 200 and remind.get_json()["collect"]["due"] == "截止前3天"


def test_returns_uploaded_many_at_once_are_imported(console, monkeypatch, tmp_path):
    """导入回传: several returned workbooks in one upload, each judged; a hostile name stays a name."""
    import io

    from bulletin.actions import collect
    from collect_fixtures import blank_master, fill

    monkeypatch.setenv(collect.SECRET_ENV, "console-test-secret-0123456789")
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-04")
    console.folder.mkdir(exist_ok=True)
    master = blank_master(console.folder / SAMPLE.name)
    sent = console.client.post("/api/collect-send", base_url=BASE, headers=console.auth, data={"workbook": master.name})
    assert sent.status_code == 200, sent.get_json()
    made = console.folder / "out" / "collect" / "2023-06"
    (tmp_path / "filled").mkdir()
    files = [(io.BytesIO(fill(made / f"报送-2023-06-{d}.xlsx", tmp_path / "filled" / f"{d}.xlsx").read_bytes()), name)
             for d, name in (("交通局", "交通局.xlsx"), ("残联", "../../残联.xlsx"))]
    files.append((io.BytesIO(b"not a workbook"), "说明.xls"))
    res = console.client.post("/api/collect-import", base_url=BASE, headers=console.auth,
                              data={"workbook": master.name, "returns": files}, content_type="multipart/form-data")
    assert res.status_code == 200, res.get_json()
    results = res.get_json()["collect"]["returns"]
    assert [r["outcome"] for r in results] == ["已报", "已报", "拒绝"]
    assert "另存为 .xlsx" in results[2]["reason"]
    assert not (console.folder.parent / "残联.xlsx").exists() and not (tmp_path.parent / "残联.xlsx").exists()
    assert results[1]["file"] == "残联.xlsx"  # the name as the clerk's browser sent it, without the path
    none = console.client.post("/api/collect-import", base_url=BASE, headers=console.auth, data={"workbook": master.name})
    assert none.status_code == 400 and "请选择要导入的回传文件" in none.get_json()["error"]
