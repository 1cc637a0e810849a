"""The audit log from the action layer (actions/audit.py) on SQLite and a real PostgreSQL: filtered by month,
user, department and action, newest first, page by page, as the JSON `GET /api/audit` will answer; wrong
query values refused in Chinese; the export to .xlsx with every text as text, never a formula."""
from __future__ import annotations

import openpyxl
import pytest

from bulletin.actions import accounts, audit
from bulletin.actions.accounts import Actor, LoginRefused
from bulletin.adapters.office_db import AuditEvent, OfficeDB
from bulletin.errors import UsageError

ADMIN = Actor("管理员甲", "10.0.0.5")


@pytest.fixture
def db(db_url):
    with OfficeDB(db_url) as opened:
        accounts.add(opened, "交通局填报", "部门填报员", "交通局", "password1", ADMIN)   # id 1
        accounts.add(opened, "住建局填报", "部门填报员", "住建局", "password1", ADMIN)   # id 2
        accounts.login(opened, "交通局填报", "password1", "10.0.0.21")               # id 3
        with pytest.raises(LoginRefused):
            accounts.login(opened, "住建局填报", "wrong-one", "10.0.0.22")             # id 4
        with opened.transaction() as tx:  # events of the month, as later steps will write them
            tx.audit([AuditEvent("科员甲", "status_change", "10.0.0.30", month="2023-06", department="交通局",
                                 target="附件1 状态", old_value="正常", new_value="落后"),         # id 5
                      AuditEvent("科员甲", "status_change", "10.0.0.30", month="2023-05", department="住建局",
                                 target="附件2 状态", old_value="落后", new_value="正常")])        # id 6
        yield opened


def ids(page: dict) -> list[int]:
    return [e["id"] for e in page["entries"]]


def test_query_filters_newest_first_paginated(db, monkeypatch):
    monkeypatch.setitem(audit.ACTIONS, "status_change", "修改状态")  # a later step's action, named like the rest
    everything = audit.query(db)
    assert everything["total"] == 6 and ids(everything) == [6, 5, 4, 3, 2, 1] and everything["pages"] == 1
    first = everything["entries"][-1]
    assert (first["username"], first["from_address"], first["action"], first["action_label"], first["target"],
            first["department"], first["detail"]) == ("管理员甲", "10.0.0.5", "account_add", "添加账号",
                                                      "交通局填报", "交通局", {"角色": "部门填报员", "部门": "交通局"})
    assert len(first["time"]) == 19 and first["at"].endswith("+00:00")

    assert ids(audit.query(db, month="2023-06")) == [5]
    assert ids(audit.query(db, user="科员甲")) == [6, 5]
    assert ids(audit.query(db, department="交通局")) == [5, 3, 1]
    assert ids(audit.query(db, department="住建局", action="login_failed")) == [4]
    assert ids(audit.query(db, user="管理员甲", month="2023-06")) == []
    assert ids(audit.query(db, month="", user=" ", department=None)) == [6, 5, 4, 3, 2, 1]  # blank: no filter

    pages = [audit.query(db, page=p, per_page="4") for p in ("1", 2, 3)]
    assert [ids(p) for p in pages] == [[6, 5, 4, 3], [2, 1], []]
    assert all(p["total"] == 6 and p["pages"] == 2 and p["per_page"] == 4 for p in pages)


@pytest.mark.parametrize("kwargs, words", [
    ({"month": "2023-13"}, "月份“2023-13”格式不对"),
    ({"month": "六月"}, "格式不对"),
    ({"page": "0"}, "页码至少为 1"),
    ({"page": "x"}, "页码应为整数"),
    ({"per_page": 501}, "每页条数应在 1 到 500 之间"),
    ({"action": "drop"}, "不认识的操作“drop”"),
])
def test_wrong_query_values_are_chinese_errors(db, kwargs, words):
    with pytest.raises(UsageError, match=words):
        audit.query(db, **kwargs)


def test_export_to_xlsx_writes_text_as_text(db, tmp_path):
    accounts.add(db, "=1+2", "科员", None, "password1", Actor("@SUM(A1)", "+10.0.0.1"))
    with db.transaction() as tx:
        tx.audit([AuditEvent("科员甲", "status_change", "10.0.0.30", month="2023-06", department="交通局",
                             target="-cmd", old_value="=HYPERLINK(\"http://x\")", new_value="落后",
                             detail={"说明": "=A1"})])
    out = audit.export_xlsx(db, tmp_path / "审计日志.xlsx")
    assert out == (tmp_path / "审计日志.xlsx").resolve() and not list(tmp_path.glob("*.tmp*"))
    ws = openpyxl.load_workbook(out)["审计日志"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == audit.COLUMNS and len(rows) == 9
    newest, added = rows[1], rows[2]
    assert newest[0] == 8 and newest[7:10] == ("-cmd", "=HYPERLINK(\"http://x\")", "落后")
    assert newest[10] == '{"说明": "=A1"}' and newest[4] == "status_change"  # an action without a name: its code
    assert added[0] == 7 and added[2:5] == ("@SUM(A1)", "+10.0.0.1", "添加账号") and added[7] == "=1+2"
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert [r[0] for r in rows[1:]] == [8, 7, 6, 5, 4, 3, 2, 1]  # newest first, as the page shows it

    only = openpyxl.load_workbook(audit.export_xlsx(db, tmp_path / "六月.xlsx", month="2023-06"))["审计日志"]
    assert [r[0] for r in only.iter_rows(min_row=2, values_only=True)] == [8, 5]
