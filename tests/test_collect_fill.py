"""Departments fill in the browser (actions/fill.py): a form post is the same input to the same checks and the
same merge as a mailed return — the master's cells and the ledger's rows come out the same; warnings and check
errors need an explanation; errors are gathered in one pass; a corpus of hostile posts, each refused with a
message naming the field; a 退回 by the clerk, seen on the form and submitted again; every change audited."""
from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin.actions import collect, fill
from bulletin.actions.accounts import Actor
from bulletin.actions.office import open_db
from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute
from collect_fixtures import MASTER, fill as fill_return, office_day, posted_values, sent_office  # noqa: F401
from conftest import ROOT

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"

DEPT = Actor("交通局填报员", "10.0.0.7")
CLERK = Actor("李科员", "10.0.0.2")


pytestmark = pytest.mark.usefixtures("office_day")


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    return sent_office(tmp_path_factory.mktemp("fill"), ["交通局", "残联"])


@pytest.fixture
def office(sent, tmp_path):
    folder = tmp_path / "office"
    shutil.copytree(sent, folder)
    return folder


def input_cells(master: Path, department: str) -> dict:
    """Every input cell of the department's rows in the collected annexes: (sheet, row, column) -> value."""
    wb = openpyxl.load_workbook(master)
    data = compute(read_grids(master))
    out = {}
    for sheet, inp in data.inputs.items():
        if sheet not in ("附件1", "附件2", "附件3", "附件4", "附件6", "附件7"):
            continue
        for r in inp.records:
            if r["_kind"] == "department" and r.get("部门") == department:
                for name, col in inp.columns.items():
                    out[(sheet, r["_row"], name)] = wb[sheet].cell(r["_row"], col).value
    return out


def ledger_of(folder: Path, department: str):
    with CollectLedger(folder / "history.sqlite") as ledger:
        rows = {k[1]: (r.state, r.reason, r.explanation) for k, r in ledger.rows("2023-06").items()
                if k[0] == department}
        events = [(e.outcome, e.who, e.reason, e.explanation) for e in ledger.events("2023-06") if e.department == department]
        cells = ledger.cells("2023-06", department)
    return rows, events, cells


@pytest.mark.parametrize("department", ["交通局", "残联"])
def test_a_form_post_writes_what_the_mailed_return_writes(department, sent, tmp_path):
    mailed, browser = tmp_path / "mailed", tmp_path / "browser"
    shutil.copytree(sent, mailed)
    shutil.copytree(sent, browser)
    filled = fill_return(mailed / "out" / "collect" / "2023-06" / f"报送-2023-06-{department}.xlsx",
                         tmp_path / "回传.xlsx")
    imported = collect.import_returns(mailed / MASTER, [filled])
    assert imported.extra["collect"]["returns"][0]["outcome"] == "已报"
    form = fill.form(browser / MASTER, department)
    assert {r["state"] for r in form["annexes"]} == {"已发"}
    result = fill.submit(browser / MASTER, department, posted_values(form), actor=DEPT)
    assert result.accepted and result.problems == [] and result.written > 0, result.plain()
    assert result.written == imported.extra["collect"]["returns"][0]["written"]
    # the master: the same cells (every input cell of the department's rows), and the same 报送情况 rows
    assert input_cells(browser / MASTER, department) == input_cells(mailed / MASTER, department)
    status = lambda folder: [r[:3] for r in openpyxl.load_workbook(folder / MASTER)["报送情况"].iter_rows(values_only=True)]
    assert status(browser) == status(mailed)
    # the ledger: the same states and baseline cells; the event's who is the account
    b_rows, b_events, b_cells = ledger_of(browser, department)
    m_rows, m_events, m_cells = ledger_of(mailed, department)
    assert b_rows == m_rows and set(r[0] for r in b_rows.values()) == {"已报"}
    assert b_cells == m_cells
    assert [e[0] for e in b_events] == [e[0] for e in m_events] == ["已报"]
    assert b_events[0][1] == "交通局填报员" if department == "交通局" else b_events[0][1] == DEPT.name
    # the post is kept beside the returns, as every return is
    with CollectLedger(browser / "history.sqlite") as ledger:
        (event,) = [e for e in ledger.events("2023-06") if e.department == department]
    assert event.file_name == fill.FORM_NAME and (browser / "returns" / "2023-06" / event.stored).is_file()


def test_form_shows_rows_last_month_and_specs(office):
    subprocess.run([sys.executable, "-m", "bulletin", "import-month", str(MAY), "--history",
                    str(office / "history.sqlite")], check=True, capture_output=True)
    form = fill.form(office / MASTER, "残联")
    assert form["month"] == "2023-06" and form["deadline"] == "2023-07-07"
    sheets = [a["sheet"] for a in form["annexes"]]
    assert "附件7" in sheets and "附件5" not in sheets  # office annexes are never a department's form
    a7 = next(a for a in form["annexes"] if a["sheet"] == "附件7")
    roles = {c["name"]: c["role"] for c in a7["columns"]}
    assert roles["排查事项总数"] == "input" and roles["完成率"] == "computed"
    assert {"rule": "part_le_whole", "whole": "排查事项总数", "parts": ["已完成事项"]} in a7["checks"]
    assert a7["rows"][0]["values"]["排查事项总数"] is None  # the blank master's cell
    may = compute(read_grids(MAY)).results["附件7"].records
    (last,) = [r for r in may if r["_kind"] == "department" and r.get("部门") == "残联"]
    assert a7["rows"][0]["previous"]["排查事项总数"] == last["排查事项总数"] is not None
    assert a7["rows"][0]["previous"]["完成率"] == last["完成率"]  # computed figures beside too
    with pytest.raises(Exception) as refused:
        fill.form(office / MASTER, "不存在的局")
    assert "部门名录中没有" in str(refused.value)


def test_check_errors_and_warnings_need_an_explanation(office):
    master = office / MASTER
    form = fill.form(master, "交通局")
    values = posted_values(form)
    values["附件2"][0]["一日办结事项数"] = 999  # parts no longer add up to 事项总数
    before = master.read_bytes()
    refused = fill.submit(master, "交通局", values, actor=DEPT)
    assert not refused.accepted and refused.needs_explanation
    (p,) = [p for p in refused.problems if p["rule"] == "check.parts_sum_mismatch"]
    assert p["sheet"] == "附件2" and p["label"] == "交通局" and p["row"] == 0 and p["message"]
    assert master.read_bytes() == before and ledger_of(office, "交通局")[1] == []
    why = "本月有3个事项暂停办理，经与市局核对，数据无误"
    accepted = fill.submit(master, "交通局", values, explanation=why, actor=DEPT)
    assert accepted.accepted and accepted.forced, accepted.plain()
    rows, events, _ = ledger_of(office, "交通局")
    assert rows["附件2"] == ("已报", "强制上报：" + why, why)
    assert events == [("已报", DEPT.name, "", why)]
    shown = {r["sheet"]: r for r in collect.status(master, write=False).extra["collect"]["rows"] if r["short"] == "交通局"}
    assert shown["附件2"]["reason"] == "强制上报：" + why  # what the clerk sees, as for a mailed return


def test_value_errors_are_all_listed_at_once_and_not_forced(office):
    master = office / MASTER
    values = posted_values(fill.form(master, "交通局"))
    values["附件1"][0]["事项总数"] = "很多"
    values["附件1"][0]["不见面审批事项占比"] = 150
    values["附件3"][1]["已签章数量"] = -3
    values["附件6"][0]["电子监察数据"] = 1.5
    values["附件6"][0]["综窗办理数据"] = "=SUM(1,2)"
    result = fill.submit(master, "交通局", values, explanation="都对", actor=DEPT)
    assert not result.accepted and not result.needs_explanation
    found = {(p["sheet"], p["row"], p["column"]): p for p in result.problems if p["severity"] == "error"}
    assert len(found) == len([p for p in result.problems if p["severity"] == "error"])  # each said once
    assert {("附件1", 0, "事项总数"), ("附件1", 0, "不见面审批事项占比"), ("附件3", 1, "已签章数量"),
            ("附件6", 0, "电子监察数据"), ("附件6", 0, "综窗办理数据")} <= set(found)
    assert found[("附件6", 0, "综窗办理数据")]["rule"] == "collect.formula"
    assert "SUM(1,2)" in found[("附件6", 0, "综窗办理数据")]["message"]
    assert "交通局" in found[("附件3", 1, "已签章数量")]["label"]  # the row named by department and 证照类型
    for p in result.problems:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in p["message"]), p
    assert "未提交" in result.message()


LONG = "长" * 40000


def _set(sheet, row, column, value):
    def change(values):
        values[sheet][row][column] = value
        return values
    return change


# name -> (how the sample post is made hostile, the rule, words the problem's column/sheet/message must hold)
HOSTILE = {
    "unknown_annex": (lambda v: {**v, "附件9": [{}]}, "form.unknown_annex", "附件9"),
    "annex_of_the_office": (lambda v: {**v, "附件5": [{"事项主项数": 1}]}, "form.unknown_annex", "附件5"),
    "annex_the_department_does_not_report": (lambda v: {**v, "附件7": [{"排查事项总数": 1}]}, "form.unknown_annex", "附件7"),
    "unknown_column": (_set("附件1", 0, "<script>", 1), "form.unknown_column", "<script>"),
    "computed_column": (_set("附件1", 0, "即办件事项占比", 0.5), "form.not_input", "即办件事项占比"),
    "another_departments_name": (_set("附件1", 0, "单位", "民宗局"), "form.not_input", "单位"),
    "index_column": (_set("附件1", 0, "序号", "=1"), "form.not_input", "序号"),
    "another_departments_row_added": (lambda v: {**v, "附件1": v["附件1"] + [dict(v["附件1"][0])]}, "form.rows", "附件1"),
    "rows_not_a_list": (lambda v: {**v, "附件1": {"0": {}}}, "form.rows", "附件1"),
    "row_not_an_object": (lambda v: {**v, "附件6": ["1823"]}, "form.shape", "附件6"),
    "bool": (_set("附件6", 0, "部门报送数据", True), "form.type", "部门报送数据"),
    "list": (_set("附件6", 0, "部门报送数据", [1, 2]), "form.type", "部门报送数据"),
    "object": (_set("附件6", 0, "部门报送数据", {"value": 1}), "form.type", "部门报送数据"),
    "nan": (_set("附件6", 0, "部门报送数据", math.nan), "form.type", "部门报送数据"),
    "infinity": (_set("附件6", 0, "部门报送数据", math.inf), "form.type", "部门报送数据"),
    "huge_integer": (_set("附件6", 0, "部门报送数据", 10 ** 40), "form.type", "部门报送数据"),
    "huge_text_in_text_column": (_set("附件4", 0, "资源使用情况", LONG), "form.too_long", "资源使用情况"),
    "huge_text_in_count": (_set("附件6", 0, "部门报送数据", LONG), "form.too_long", "部门报送数据"),
    "formula": (_set("附件6", 0, "部门报送数据", "=1+1"), "collect.formula", "部门报送数据"),
    "formula_after_spaces": (_set("附件6", 0, "电子监察数据", "  =A1*2"), "collect.formula", "电子监察数据"),
    "hyperlink_formula_in_text": (_set("附件4", 0, "资源使用情况", '=HYPERLINK("http://evil.example","点我")'),
                                  "collect.formula", "资源使用情况"),
    "text_in_count": (_set("附件6", 0, "部门报送数据", "很多"), "value.not_number", "部门报送数据"),
    "negative": (_set("附件6", 0, "部门报送数据", -5), "value.negative", "部门报送数据"),
    "fraction_in_count": (_set("附件6", 0, "部门报送数据", 2.5), "value.not_integer", "部门报送数据"),
    "ratio_over_100": (_set("附件1", 0, "不见面审批事项占比", "150%"), "form.ratio_range", "不见面审批事项占比"),
    "values_not_an_object": (lambda v: [v], "form.shape", ""),
    "values_empty": (lambda v: {}, "form.shape", ""),
    "values_text": (lambda v: "附件1", "form.shape", ""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_post_refused_naming_the_field(case, office):
    master = office / MASTER
    change, rule, field = HOSTILE[case]
    values = change(posted_values(fill.form(master, "交通局")))
    before = master.read_bytes()
    result = fill.submit(master, "交通局", values, actor=DEPT)
    assert not result.accepted, result.plain()
    hits = [p for p in result.problems if p["rule"] == rule]
    assert hits, result.problems
    assert all(field in f"{p['sheet']} {p['column']} {p['message']}" for p in hits), hits
    assert all(p["message"] and p["severity"] == "error" for p in result.problems)
    assert master.read_bytes() == before
    assert ledger_of(office, "交通局")[1] == []  # nothing recorded: the department corrects it on the page


@pytest.mark.parametrize("explanation", [{"x": 1}, ["说明"], "说" * (fill.MAX_EXPLANATION + 1)])
def test_hostile_explanation(explanation, office):
    master = office / MASTER
    values = posted_values(fill.form(master, "交通局"))
    result = fill.submit(master, "交通局", values, explanation=explanation, actor=DEPT)
    assert not result.accepted and [p["column"] for p in result.problems] == ["说明"]


def test_text_that_looks_dangerous_is_written_as_text(office):
    master = office / MASTER
    values = posted_values(fill.form(master, "交通局"))
    values["附件4"][0]["资源使用情况"] = "+cmd|' /C calc'!A0"
    values["附件4"][0]["资源被使用情况"] = "@SUM(1)"
    assert fill.submit(master, "交通局", values, actor=DEPT).accepted
    ws = openpyxl.load_workbook(master)["附件4"]
    found = {c.value: c.data_type for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(("+cmd", "@SUM"))}
    assert found == {"+cmd|' /C calc'!A0": "s", "@SUM(1)": "s"}


def test_returned_by_the_clerk_then_submitted_again(office):
    master = office / MASTER
    values = posted_values(fill.form(master, "交通局"))
    assert fill.submit(master, "交通局", values, actor=DEPT).accepted
    with pytest.raises(Exception, match="退回须写明原因"):
        collect.mark(master, "交通局", "退回", annexes=["附件6"], actor=CLERK)
    collect.mark(master, "交通局", "退回", annexes=["附件6"], reason="电子监察数据与系统不符，请核对", actor=CLERK)
    form = fill.form(master, "交通局")
    a6 = next(a for a in form["annexes"] if a["sheet"] == "附件6")
    assert a6["state"] == "退回" and a6["reason"] == "电子监察数据与系统不符，请核对"
    assert a6["rows"][0]["values"]["电子监察数据"] == values["附件6"][0]["电子监察数据"]  # what it submitted
    assert form["submissions"][-1]["outcome"] == "退回" and form["submissions"][-1]["who"] == CLERK.name
    values["附件6"][0]["电子监察数据"] = 160
    again = fill.submit(master, "交通局", values, actor=DEPT)
    assert again.accepted and again.written == 1
    rows, events, _ = ledger_of(office, "交通局")
    assert {r[0] for r in rows.values()} == {"已报"}
    assert [e[:2] for e in events] == [("已报", DEPT.name), ("退回", CLERK.name), ("已报", DEPT.name)]
    # a 退回 needs something submitted
    with pytest.raises(Exception, match="只能把已报的附件标为退回"):
        collect.mark(master, "残联", "退回", reason="没报", actor=CLERK)
    # the audit log: each submission and the 退回, by whom, from where
    with open_db(office / "history.sqlite") as db:
        _, entries = db.audit(month="2023-06", limit=50)
    seen = [(e.username, e.action, e.department, e.target, e.new_value) for e in reversed(entries)]
    assert seen == [(DEPT.name, "form_submit", "交通局", "附件1、附件2、附件3、附件4、附件6", "已报"),
                    (CLERK.name, "collect_mark", "交通局", "附件6", "退回"),
                    (DEPT.name, "form_submit", "交通局", "附件1、附件2、附件3、附件4、附件6", "已报")]
    assert entries[0].from_address == DEPT.from_address


def test_dry_run_checks_without_writing(office):
    master = office / MASTER
    values = posted_values(fill.form(master, "交通局"))
    values["附件1"][0]["即办件事项数"] = 10 ** 6
    before = master.read_bytes()
    result = fill.submit(master, "交通局", values, actor=DEPT, dry_run=True)
    assert {p["rule"] for p in result.problems} >= {"check.part_exceeds_whole"}
    assert master.read_bytes() == before and ledger_of(office, "交通局")[1] == []


def test_cli_returns_a_submission_with_its_reason(office):
    """The CLI's part of 填报: the clerk's 退回 (`collect mark --state 退回`); the form itself is the browser's, the
    CLI's way in being the mailed return."""
    master = office / MASTER
    assert fill.submit(master, "交通局", posted_values(fill.form(master, "交通局")), actor=DEPT).accepted
    run = lambda *extra: subprocess.run([sys.executable, "-m", "bulletin", "collect", "mark", str(master), "交通局",
                                         "--state", "退回", "--annex", "附件2", *extra], capture_output=True, text=True)
    bare = run()
    assert bare.returncode == 2 and "退回须写明原因" in bare.stderr and "Traceback" not in bare.stderr
    done = run("--reason", "承诺时限与系统不符")
    assert done.returncode == 0, done.stderr
    rows, events, _ = ledger_of(office, "交通局")
    assert rows["附件2"][:2] == ("退回", "承诺时限与系统不符") and rows["附件1"][0] == "已报"
    assert events[-1][0] == "退回" and events[-1][2] == "承诺时限与系统不符"


def test_posts_submitted_together_write_what_they_write_one_by_one(sent, tmp_path):
    """The server gathers posts that arrive while the master is busy (fill.submit_many): one read, one save, one
    ledger transaction — and the same cells, states and events as the same posts submitted one after another."""
    together, apart = tmp_path / "together", tmp_path / "apart"
    shutil.copytree(sent, together)
    shutil.copytree(sent, apart)
    departments = ["交通局", "残联"]
    posts = [fill.Post(d, posted_values(fill.form(together / MASTER, d)), "", Actor(f"{d}填报员")) for d in departments]
    results = fill.submit_many(together / MASTER, posts)
    assert [r.outcome for r in results] == ["已报", "已报"]
    for post in posts:
        assert fill.submit(apart / MASTER, post.department, post.values, actor=post.actor).outcome == "已报"
    for d in departments:
        assert input_cells(together / MASTER, d) == input_cells(apart / MASTER, d)
        rows_t, events_t, cells_t = ledger_of(together, d)
        rows_a, events_a, cells_a = ledger_of(apart, d)
        assert rows_t == rows_a and events_t == events_a and cells_t == cells_a
        assert [e[0] for e in events_t] == ["已报"] and events_t[0][1] == f"{d}填报员"
    assert len(list((together / "备份").iterdir())) == 1  # one save for both


def test_a_program_error_judging_one_post_is_that_posts_alone(sent, tmp_path, monkeypatch):
    """A post that trips a program fault while it is judged fails alone: the other departments' posts of the same
    batch are merged and recorded."""
    folder = tmp_path / "office"
    shutil.copytree(sent, folder)
    values = posted_values(fill.form(folder / MASTER, "交通局"))
    judge = fill._judge

    def faulty(master, importer, dept, post):  # a fault injected where a hostile post could meet a bug
        if dept == "残联":
            raise RuntimeError("injected")
        return judge(master, importer, dept, post)

    monkeypatch.setattr(fill, "_judge", faulty)
    results = fill.submit_many(folder / MASTER, [fill.Post("残联", {}, "", CLERK), fill.Post("交通局", values, "", DEPT)])
    assert isinstance(results[0], RuntimeError) and results[1].outcome == "已报"
    assert [e[0] for e in ledger_of(folder, "交通局")[1]] == ["已报"] and ledger_of(folder, "残联")[1] == []
    with pytest.raises(ValueError):  # one post per department in a batch
        fill.submit_many(folder / MASTER, [fill.Post("交通局", values), fill.Post("交通局", values)])
