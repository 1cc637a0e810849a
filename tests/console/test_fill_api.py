"""The 填报 API with Flask's test client: in local mode (the one clerk, every permission) and as signed-in
accounts of each role. The accounts are set by a test-only hook after the console's own access hook, as the
real login will set flask.g.user; the API's permission checks are the ones under test."""
from __future__ import annotations

import shutil
import sys
from types import SimpleNamespace
from urllib.parse import quote, unquote

import pytest
from flask import g, request

from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.console.app import Settings, create_app
from bulletin.console.auth import User
from bulletin.console.security import HEADER, Guard

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from collect_fixtures import MASTER, office_day, posted_values as values_for, sent_office  # noqa: E402,F401

PORT = 48123
BASE = f"http://127.0.0.1:{PORT}"
USER_HEADER = "X-Test-User"


def signed_in_accounts(app) -> None:
    """Test-only: the request's account from a header (name|role|department, URL-quoted), as the login will."""
    @app.before_request
    def account() -> None:
        if USER_HEADER in request.headers:
            name, role, department = unquote(request.headers[USER_HEADER]).split("|")
            g.user = User(name, role, department or None, request.remote_addr or "")


def as_user(name: str, role: str, department: str = "") -> dict[str, str]:
    return {USER_HEADER: quote(f"{name}|{role}|{department}")}


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    return sent_office(tmp_path_factory.mktemp("fill-api"), ["交通局", "残联"])


@pytest.fixture
def console(sent, tmp_path, office_day):
    folder = tmp_path / "工作台"
    shutil.copytree(sent, folder)
    guard = Guard(port=PORT)
    app = create_app(Settings(folder=folder), guard)
    signed_in_accounts(app)
    client = app.test_client()

    def call(method: str, path: str, user: dict[str, str] | None = None, **kw):
        return getattr(client, method)(path, base_url=BASE, headers={HEADER: guard.token, **(user or {})}, **kw)

    return SimpleNamespace(call=call, folder=folder)


DEPT = as_user("jtj", "部门填报员", "交通局")
OTHER = as_user("cl", "部门填报员", "残联")
CLERK = as_user("li", "科员")
LEADER = as_user("boss", "领导")


def test_local_clerk_fills_any_department_and_returns_it(console):
    res = console.call("get", f"/api/fill?workbook={MASTER}&department=残联")
    assert res.status_code == 200
    form = res.get_json()
    assert form["department"] == "残联" and form["can_submit"] and form["can_return"]
    body = {"workbook": MASTER, "department": "残联", "values": values_for(form), "explanation": ""}
    checked = console.call("post", "/api/fill/check", json=body).get_json()
    assert checked["problems"] == [] and not checked["accepted"]  # a check writes nothing
    res = console.call("post", "/api/fill/submit", json=body)
    assert res.status_code == 200, res.get_json()
    answer = res.get_json()
    assert answer["accepted"] and answer["message"].startswith("已提交")
    assert "form" not in answer  # the page reads its form afresh
    form = console.call("get", f"/api/fill?workbook={MASTER}&department=残联").get_json()
    assert {a["state"] for a in form["annexes"]} == {"已报"}
    res = console.call("post", "/api/collect/return", json={"workbook": MASTER, "department": "残联",
                                                              "annex": "附件7", "reason": "完成率与系统不符"})
    assert res.status_code == 200, res.get_json()
    a7 = next(a for a in res.get_json()["form"]["annexes"] if a["sheet"] == "附件7")
    assert (a7["state"], a7["reason"]) == ("退回", "完成率与系统不符")
    with CollectLedger(console.folder / "history.sqlite") as ledger:
        events = [(e.outcome, e.who) for e in ledger.events("2023-06")]
    assert events == [("已报", "本机"), ("退回", "本机")]
    assert console.call("get", "/fill").status_code == 200


def test_department_account_its_own_department_only(console):
    res = console.call("get", f"/api/fill?workbook={MASTER}", DEPT)  # no department: its own
    assert res.status_code == 200
    form = res.get_json()
    assert form["department"] == "交通局" and form["can_submit"] and not form["can_return"]
    assert console.call("get", "/api/fill", DEPT).get_json()["workbook"] == MASTER  # the folder's newest
    refused = console.call("get", f"/api/fill?workbook={MASTER}&department=残联", DEPT)
    assert refused.status_code == 403 and "无权" in refused.get_json()["error"] and "残联" in refused.get_json()["error"]
    other = values_for(console.call("get", f"/api/fill?workbook={MASTER}&department=残联").get_json())
    for body in ({"workbook": MASTER, "department": "残联", "values": other},
                 {"workbook": MASTER, "department": "没有这个局", "values": other}):
        res = console.call("post", "/api/fill/submit", DEPT, json=body)
        assert res.status_code == 403, body
    assert console.call("get", f"/api/fill/departments?workbook={MASTER}", DEPT).status_code == 403
    assert console.call("post", "/api/collect/return", DEPT, json={"workbook": MASTER, "department": "交通局",
                                                                  "reason": "x"}).status_code == 403
    res = console.call("post", "/api/fill/submit", DEPT, json={"workbook": MASTER, "values": values_for(form)})
    assert res.status_code == 200 and res.get_json()["accepted"]
    with CollectLedger(console.folder / "history.sqlite") as ledger:
        assert [(e.department, e.who) for e in ledger.events("2023-06")] == [("交通局", "jtj")]
    # the other department's account sees its own, not 交通局's
    assert console.call("get", f"/api/fill?workbook={MASTER}&department=交通局", OTHER).status_code == 403
    assert console.call("get", f"/api/fill?workbook={MASTER}", OTHER).get_json()["department"] == "残联"


def test_clerk_and_leader(console):
    form = console.call("get", f"/api/fill?workbook={MASTER}&department=交通局", CLERK).get_json()
    assert not form["can_submit"] and form["can_return"]
    body = {"workbook": MASTER, "department": "交通局", "values": values_for(form)}
    assert console.call("post", "/api/fill/submit", CLERK, json=body).status_code == 403
    assert console.call("post", "/api/fill/submit", DEPT, json=body).status_code == 200
    assert console.call("get", f"/api/fill/departments?workbook={MASTER}", CLERK).status_code == 200
    leader = console.call("get", f"/api/fill?workbook={MASTER}&department=交通局", LEADER).get_json()
    assert not leader["can_submit"] and not leader["can_return"]
    back = {"workbook": MASTER, "department": "交通局", "annex": "附件1", "reason": "请核对事项总数"}
    assert console.call("post", "/api/collect/return", LEADER, json=back).status_code == 403
    res = console.call("post", "/api/collect/return", CLERK, json={**back, "reason": "  "})
    assert res.status_code == 400 and "原因" in res.get_json()["error"]
    res = console.call("post", "/api/collect/return", CLERK, json=back)
    assert res.status_code == 200
    states = {a["sheet"]: a["state"] for a in res.get_json()["form"]["annexes"]}
    assert states["附件1"] == "退回" and states["附件2"] == "已报"
    again = console.call("get", f"/api/fill?workbook={MASTER}", DEPT).get_json()
    a1 = next(a for a in again["annexes"] if a["sheet"] == "附件1")
    assert a1["reason"] == "请核对事项总数" and again["submissions"][-1]["who"] == "li"


@pytest.mark.parametrize("body, status, words", [
    ("not json", 400, "JSON"),
    ([1, 2], 400, "JSON"),
    ({"workbook": MASTER, "department": "交通局", "values": {"附件9": []}}, 400, "附件9"),
    ({"workbook": MASTER, "department": "交通局", "values": {"附件1": [{"事项总数": "=1+1"}]}}, 400, "公式"),
    ({"workbook": MASTER, "department": "没有这个局", "values": {}}, 400, "部门名录中没有"),
    ({"workbook": "../../etc/passwd", "department": "交通局", "values": {}}, 404, "没有工作簿"),
    ({"workbook": MASTER, "department": ["交通局"], "values": {}}, 400, "请选择部门"),
])
def test_hostile_posts_get_chinese_messages(console, body, status, words):
    before = (console.folder / MASTER).read_bytes()
    kw = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    res = console.call("post", "/api/fill/submit", **kw)
    assert res.status_code == status, res.get_json()
    answer = res.get_json()
    text = answer.get("error", "") + " ".join(p["message"] for p in answer.get("problems", []))
    assert words in text, answer
    assert (console.folder / MASTER).read_bytes() == before


def test_a_check_error_asks_for_an_explanation(console):
    form = console.call("get", f"/api/fill?workbook={MASTER}", DEPT).get_json()
    values = values_for(form)
    values["附件2"][0]["一日办结事项数"] = 999
    body = {"workbook": MASTER, "values": values}
    res = console.call("post", "/api/fill/submit", DEPT, json=body)
    assert res.status_code == 422 and res.get_json()["needs_explanation"]
    res = console.call("post", "/api/fill/submit", DEPT, json={**body, "explanation": "暂停办理3项，已与市局核对"})
    assert res.status_code == 200 and res.get_json()["forced"]


def test_posts_arriving_together_are_each_merged_and_recorded_once(console):
    """Posts of several departments at the same moment (threads, as waitress serves them): each answered with its
    own result, and each post in the ledger exactly once (a department's second post in a later batch)."""
    import threading

    forms = {d: console.call("get", f"/api/fill?workbook={MASTER}&department={d}").get_json() for d in ("交通局", "残联")}
    answers: dict[str, object] = {}
    start = threading.Barrier(len(forms) * 2)

    def post(department: str, copy: int) -> None:
        body = {"workbook": MASTER, "department": department, "values": values_for(forms[department]),
                "explanation": ""}
        start.wait()
        res = console.call("post", "/api/fill/submit", json=body)
        answers[(department, copy)] = (res.status_code, res.get_json()["outcome"])

    threads = [threading.Thread(target=post, args=(d, k)) for d in forms for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(answers.values()) == [(200, "已报")] * 4  # a department's second post is its own, later batch
    with CollectLedger(console.folder / "history.sqlite") as ledger:
        events = [(e.department, e.outcome) for e in ledger.events("2023-06")]
    assert sorted(events) == [("交通局", "已报")] * 2 + [("残联", "已报")] * 2


def test_a_department_downloads_its_own_extract_not_anothers(console, tmp_path):
    """The extract its mail carries (the month's text and its rows), from the 填报 page: its own, never another's."""
    import openpyxl

    from collect_fixtures import SAMPLE

    waiting = console.call("get", f"/api/fill/extract?workbook={MASTER}&department=交通局", DEPT)
    assert waiting.status_code == 400 and "尚未汇总完成" in waiting.get_json()["error"]  # units still to report
    shutil.copy(SAMPLE, console.folder / "通报数据-2023-06-汇总.xlsx")  # the month complete
    res = console.call("get", "/api/fill/extract?workbook=通报数据-2023-06-汇总.xlsx&department=交通局", DEPT)
    assert res.status_code == 200, res.get_data()[:300]
    assert "attachment" in res.headers["Content-Disposition"]
    (tmp_path / "摘录.xlsx").write_bytes(res.get_data())
    wb = openpyxl.load_workbook(tmp_path / "摘录.xlsx")
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert "交通局" in cells
    refused = console.call("get", "/api/fill/extract?workbook=通报数据-2023-06-汇总.xlsx&department=残联", DEPT)
    assert refused.status_code == 403 and "无权" in refused.get_json()["error"]
