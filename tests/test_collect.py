"""The collection loop end to end on the June sample: the master emptied of the departments' figures, one fill-in
workbook per department sent, each filled with the sample's own cells and imported back — the master then equals
the June sample cell for cell and computes June's figures; the fill-in workbook's layout; the ledger, 报送情况,
conflicts, 退回 and resubmission, forced submission, deadlines and reminders."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin import actions
from bulletin.actions import collect
from bulletin.adapters.collect_ledger import CollectLedger
from bulletin.adapters.xlsx_fillin import IDENTITY_SHEET, INFO_SHEET
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_collect_settings
from bulletin.core import collect as core
from bulletin.core.month import month_json
from bulletin.engine import compute
from bulletin.errors import WorkbookLocked
from collect_fixtures import SECRET, blank_master, office_env, fill_all, identity_of
from conftest import ROOT, SAMPLE
from result_snapshot import check_golden, workbook_cells

MAY = ROOT / "examples" / "2023-05" / "通报数据-2023-05.xlsx"
MASTER = "通报数据-2023-06.xlsx"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv(collect.SECRET_ENV, SECRET)
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    """A folder with the emptied master, a history holding May, and the fill-in workbooks sent (drafts)."""
    with office_env("2023-07-03"):
        folder = tmp_path_factory.mktemp("collect")
        master = blank_master(folder / MASTER)
        actions.import_month(MAY, None, folder / "history.sqlite")
        outcome = collect.send(master)
        returns = folder / "filled"
        fill_all(folder / "out" / "collect" / "2023-06", returns)
    return folder, outcome


@pytest.fixture
def office(sent, tmp_path):
    """A copy of the sent folder, this test's own."""
    folder = tmp_path / "office"
    shutil.copytree(sent[0], folder)
    return folder


def cells(path: Path, skip=("报送情况",)) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets if ws.title not in skip
            for row in ws.iter_rows() for c in row if c.value is not None}


def fillin(folder: Path, short: str) -> Path:
    return folder / "out" / "collect" / "2023-06" / f"报送-2023-06-{short}.xlsx"


def test_the_june_sample_split_into_returns_merges_back_cell_for_cell(office):
    master = office / MASTER
    assert cells(master) != cells(SAMPLE)  # the departments' figures are missing before
    outcome = collect.import_returns(master, [office / "filled"])
    results = outcome.extra["collect"]["returns"]
    assert len(results) == 32 and {r["outcome"] for r in results} == {"已报"}, \
        [(r["file"], r["outcome"], r["reason"], r["problems"]) for r in results if r["outcome"] != "已报"]
    assert not outcome.failed
    assert cells(master) == cells(SAMPLE)
    merged, june = compute(read_grids(master)), compute(read_grids(SAMPLE))
    assert month_json(merged)["tables"] == month_json(june)["tables"]
    assert month_json(merged)["totals"] == month_json(june)["totals"]
    assert [p.as_dict() for p in merged.problems] == [p.as_dict() for p in june.problems]
    # every return kept in the returns folder beside the master; a backup of the master in 备份/
    assert len(list((office / "returns" / "2023-06").glob("2023-06-*.xlsx"))) == 32
    assert len(list((office / "备份").glob("通报数据-2023-06.备份-*.xlsx"))) == 1
    # while Excel or WPS has the master open, nothing is done
    lock = office / f"~${MASTER}"
    lock.write_bytes(b"")
    with pytest.raises(WorkbookLocked) as err:
        collect.import_returns(master, [office / "filled"])
    assert "请先关闭工作簿" in str(err.value)
    lock.unlink()
    # the ledger: every department × annex 已报 with the file's hash
    with CollectLedger(office / "history.sqlite") as ledger:
        rows = ledger.rows("2023-06")
    assert len(rows) == 133 and {r.state for r in rows.values()} == {"已报"}
    assert rows[("交通局", "附件1")].submitted_at.startswith("2023-07-05")
    # imported again: every file a duplicate, the master not written
    before = master.read_bytes()
    again = collect.import_returns(master, [office / "filled"])
    assert {r["outcome"] for r in again.extra["collect"]["returns"]} == {"重复"}
    assert master.read_bytes() == before
    # `run` on the merged master gives June's figures, as on the sample
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}

    def run(book: Path, out: Path) -> dict:
        res = subprocess.run([sys.executable, "-m", "bulletin", "run", str(book), "--out", str(out), "--history",
                              str(office / "history.sqlite"), "--json"], capture_output=True, text=True, env=env)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    merged_run, june_run = run(master, office / "run-merged"), run(SAMPLE, office / "run-june")
    for key in ("tables", "totals", "subtotals", "changes", "statuses", "narrative"):
        assert merged_run[key] == june_run[key], key


def test_fill_in_workbook_layout_identity_and_last_month(sent):
    folder, outcome = sent
    data = outcome.extra["collect"]
    assert data["deadline"] == "2023-07-07"  # the 5th working day of July 2023
    assert len(data["departments"]) == 32
    path = fillin(folder, "交通局")
    wb = openpyxl.load_workbook(path)
    # 说明 first, then only its annexes (collected ones it has rows in: not 附件5/8, the office's), identity hidden
    assert wb.sheetnames == [INFO_SHEET, "附件1", "附件2", "附件3", "附件4", "附件6", IDENTITY_SHEET]
    assert wb[IDENTITY_SHEET].sheet_state == "veryHidden"
    info = {r[0]: r[1] for r in wb[INFO_SHEET].iter_rows(values_only=True) if r[0]}
    assert info["单位"] == "殷都区交通运输局" and info["月份"] == "2023-06" and info["报送截止"] == "2023年7月7日"
    assert info["回传邮箱"] == "fgb@yindu.example" and "强制上报说明" in info
    ws = wb["附件1"]
    assert ws.protection.sheet is True
    assert ws["B3"].value == "交通局" and ws["B4"].value is None  # its own row only
    assert ws["C3"].protection.locked is False and ws["B3"].protection.locked is True
    assert ws["F3"].value.startswith("=IF(") and ws["F3"].protection.locked is True  # computed: a locked formula
    assert {str(dv.sqref) for dv in ws.data_validations.dataValidation} == {"C3", "D3", "E3"}
    # last month's figures beside the inputs, from the history (May)
    may = compute(read_grids(MAY)).result("附件1")
    may_row = next(r for r in may.records if r.get("部门") == "交通局")
    header = [c.value for c in ws[2]]
    assert ws.cell(3, header.index("上月事项总数") + 1).value == may_row["事项总数"]
    # annex 3: one row per 证照类型, keys prefilled
    a3 = wb["附件3"]
    ident = identity_of(path)
    keys = dict(ident.sheets)["附件3"]
    assert [a3.cell(3 + i, 3).value for i in range(len(keys))] == [k[0] for k in keys] and len(keys) > 1
    # the identity is signed with the office secret
    assert core.signature_ok(wb[IDENTITY_SHEET]["B1"].value, wb[IDENTITY_SHEET]["B2"].value, SECRET.encode())
    # a draft per department, addressed from the registry, the fill-in attached
    eml = path.with_suffix(".eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["X-Unsent"] == "1" and msg["To"] == "jtj@yindu.example" and "2023年7月7日" in msg["Subject"]
    assert [p.get_filename() for p in msg.iter_attachments()] == [path.name]
    # the whole fill-in workbook as a reader sees it (values, formats, fills, merges), its identity aside
    check_golden("collect-fillin-2023-06-交通局", workbook_cells(path, skip_sheets=(IDENTITY_SHEET,)))


def test_the_secret_file_is_made_once_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(collect.SECRET_ENV)
    key = collect.secret_for(tmp_path / "history.sqlite")
    path = tmp_path / collect.SECRET_NAME
    assert path.stat().st_mode & 0o777 == 0o600 and len(key) == 64
    assert collect.secret_for(tmp_path / "history.sqlite") == key


def test_status_and_reminders_follow_the_ledger(office, monkeypatch):
    master = office / MASTER
    returns = office / "filled"
    collect.import_returns(master, [returns / "报送-2023-06-交通局.xlsx"])
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-04")  # 3 days before the deadline
    st = collect.status(master)
    rows = {(r["short"], r["sheet"]): r for r in st.extra["collect"]["rows"]}
    assert rows[("交通局", "附件1")]["state"] == "已报" and rows[("交通局", "附件1")]["days_late"] == 0
    assert rows[("民宗局", "附件1")]["state"] == "已发"
    wb = openpyxl.load_workbook(master)
    sheet = [r for r in wb["报送情况"].iter_rows(values_only=True)]
    assert sheet[0] == ("单位", "附件", "状态", "下发日期", "报送日期", "逾期天数", "说明")
    assert ("交通局", "附件1", "已报", "2023-07-03", "2023-07-05", 0, None) in sheet
    assert all(c.data_type != "f" for row in wb["报送情况"].iter_rows() for c in row)
    first = collect.remind(master)
    assert first.extra["collect"]["due"] == "截止前3天"
    reminded = {r["department"] for r in first.extra["collect"]["reminded"]}
    assert "交通局" not in reminded and "民宗局" in reminded and len(reminded) == 31
    draft = office / "out" / "collect" / "2023-06" / "催报-2023-06-民宗局-截止前3天.eml"
    body = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default).get_body().get_content()
    assert "附件1" in body and "2023年7月7日" in body
    again = collect.remind(master)  # the same due date: nobody reminded twice
    assert again.extra["collect"]["reminded"] == [] and len(again.extra["collect"]["skipped"]) == 31
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-05")  # not on the schedule (3 and 1 days before)
    assert collect.remind(master).extra["collect"]["due"] is None
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-10")  # late: 逾期未报 with days late, a daily reminder
    st = collect.status(master, write=False)
    rows = {(r["short"], r["sheet"]): r for r in st.extra["collect"]["rows"]}
    assert rows[("民宗局", "附件1")]["state"] == "逾期未报" and rows[("民宗局", "附件1")]["days_late"] == 3
    late = collect.remind(master)
    assert late.extra["collect"]["due"] == "逾期2023-07-10" and len(late.extra["collect"]["reminded"]) == 31
    # a late return: 已报 with its days late
    collect.import_returns(master, [returns / "报送-2023-06-民宗局.xlsx"])
    rows = {(r["short"], r["sheet"]): r for r in collect.status(master, write=False).extra["collect"]["rows"]}
    assert rows[("民宗局", "附件1")]["state"] == "已报" and rows[("民宗局", "附件1")]["days_late"] == 3


def test_deadline_rule_and_schedule():
    s = load_collect_settings()
    assert core.deadline_for("2023-06", s) == dt.date(2023, 7, 7)
    # October 2023: the 2nd–6th are holidays, the weekend of the 7th/8th is worked (调休)
    assert core.deadline_for("2023-09", s) == dt.date(2023, 10, 11)
    assert core.deadline_for("2023-12", s) == dt.date(2024, 1, 5)
    assert core.deadline_for("2023-06", s, dt.date(2023, 7, 12)) == dt.date(2023, 7, 12)
    d = dt.date(2023, 7, 7)
    assert [core.reminder_due(d - dt.timedelta(days=k), d, s) for k in (4, 3, 2, 1, 0, -1, -2)] == [
        None, "截止前3天", None, "截止前1天", "截止当天", "逾期2023-07-08", "逾期2023-07-09"]


def test_cli_collect_steps(office):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    master = office / MASTER
    res = subprocess.run([sys.executable, "-m", "bulletin", "collect", "import", str(master),
                          str(office / "filled" / "报送-2023-06-交通局.xlsx")], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert "报送-2023-06-交通局.xlsx | 交通局 | 已报" in res.stdout
    res = subprocess.run([sys.executable, "-m", "bulletin", "collect", "status", str(master), "--json", "--no-sheet"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["collect"]["rows"]
    assert {r["state"] for r in rows if r["short"] == "交通局"} == {"已报"}
    res = subprocess.run([sys.executable, "-m", "bulletin", "collect", "send", str(master), "--deadline", "2023-7-x"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2 and "--deadline" in res.stderr and "Traceback" not in res.stderr


def test_marks_confirmed_and_nothing_to_report(office, monkeypatch):
    master = office / MASTER
    collect.import_returns(master, [office / "filled" / "报送-2023-06-交通局.xlsx"])
    with pytest.raises(actions.UsageError) as err:
        collect.mark(master, "民宗局", "已确认")  # nothing came from it to confirm
    assert "只能把已报的附件标为已确认" in str(err.value)
    collect.mark(master, "交通局", "已确认", reason="已电话核实")
    collect.mark(master, "民宗局", "无需报送", annexes=["附件1"], reason="本月无办件")
    monkeypatch.setenv("BULLETIN_TODAY", "2023-07-10")
    rows = {(r["short"], r["sheet"]): r for r in collect.status(master, write=False).extra["collect"]["rows"]}
    assert {rows[("交通局", s)]["state"] for s in ("附件1", "附件2", "附件6")} == {"已确认"}
    assert rows[("民宗局", "附件1")]["state"] == "无需报送" and rows[("民宗局", "附件1")]["days_late"] == 0
    assert rows[("民宗局", "附件2")]["state"] == "逾期未报"
    reminded = collect.remind(master).extra["collect"]
    draft = office / "out" / "collect" / "2023-06" / "催报-2023-06-民宗局-逾期2023-07-10.eml"
    body = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default).get_body().get_content()
    assert "民宗局" in {x["department"] for x in reminded["reminded"]} and "附件2" in body and "附件1　" not in body
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    res = subprocess.run([sys.executable, "-m", "bulletin", "collect", "mark", str(master), "不存在局", "--state",
                          "已确认"], capture_output=True, text=True, env=env)
    assert res.returncode == 2 and "部门名录中没有“不存在局”" in res.stderr
