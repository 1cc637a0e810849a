"""Every message the console can show is the page's own: no command-line flag, no `bulletin` command, no staff
file the page cannot open, no English. The page's own text (console.js, the templates) is read as written; the
server's messages are walked through every step and edit on the workbooks a clerk meets (the June sample with
and without last month, with an input error, without a month, not a bulletin workbook, locked, a broken staff
file, an upload over the limit) with the real app and the real action layer."""
from __future__ import annotations

import io
import re
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import openpyxl
import pytest

from bulletin import cli, excel
from bulletin.actions import month as month_actions
from bulletin.console import wording
from bulletin.console.app import Settings, create_app
from bulletin.console.security import HEADER, Guard
from bulletin.errors import NEXT_ACTIONS

from .conftest import MAY, ROOT, SAMPLE

PORT = 48124
BASE = f"http://127.0.0.1:{PORT}"
STATIC = ROOT / "python" / "bulletin" / "console" / "static" / "console.js"
SCRIPTS = sorted(STATIC.parent.glob("*.js"))  # console.js and the other pages' scripts
PAGES = sorted((ROOT / "templates" / "console").glob("*.html"))
STAFF_FILES = re.compile(r"departments\.csv|\.ya?ml\b|\.j2\b|\.sqlite\b|通报\.docx|正文\.j2", re.I)
# what may stay in Latin letters: product names a clerk knows, units, and the words of a mail address or path
ALLOWED = {"Excel", "WPS", "Word", "PDF", "LibreOffice", "Python", "KB", "MB", "SMTP", "STARTTLS", "SSL", "OK",
           "Ctrl", "IT", "xlsx", "xlsm", "eml", "CSV"}
REMOVED = [r"[\w.+-]+@[\w.-]+",  # mail addresses
           r"(?:[A-Za-z]:\\|/)[^\s，。；（）“”]*",  # paths
           r"[\w.\-\u4e00-\u9fff]+\.(?:xlsx|xlsm|xls|docx|pdf|eml|png|log)\b",  # file names the page links or lists
           r"U\+[0-9A-F]{4,6}",  # an invisible character named by its code point
           r"\b[A-Z]{1,3}\d+\b"]  # cell addresses


def problems_of(text: str) -> list[str]:
    """What is wrong with one message a clerk reads (empty: nothing)."""
    found = []
    if "--" in text:
        found.append("a command-line flag")
    if re.search(r"\bbulletin\s", text, re.I):
        found.append("a bulletin command")
    if STAFF_FILES.search(text):
        found.append("a staff file the page cannot open")
    rest = text
    for pattern in REMOVED:
        rest = re.sub(pattern, " ", rest)
    english = [w for w in re.findall(r"[A-Za-z]{2,}", rest) if w not in ALLOWED]
    if english:
        found.append(f"English: {english}")
    return found


def test_the_checker_finds_what_it_is_for():
    for bad in ("如需覆盖请加 --overwrite-text", "请先用 bulletin import-month 存入上月数据", "请在 departments.csv 的“邮箱”列填写",
                "校验数据未完成：Failed to fetch", "Task queue depth is 3", "配置文件 rules.yaml 中“a1”有误"):
        assert problems_of(bad), bad
    for good in ("无法连接工作台，请确认启动窗口没有关闭", "已上传 通报数据-2023-06.xlsx。", "请在 Excel 或 WPS 中打开并保存",
                 "附件1!F25 填报的“即办件事项占比”为44.44%", "收件人：jtj@yindu.example", "上传的文件超过 20 MB"):
        assert not problems_of(good), good


# -- what the page itself says --------------------------------------------------------------------------

def js_strings(source: str) -> Iterator[str]:
    """The string and template literals of console.js (comments skipped; a template's ${…} parts are code,
    scanned for their own literals), each with Chinese in it: a message or a part of one."""
    out: list[str] = []

    def scan(i: int, stop: str = "") -> int:
        """Literals from source[i] on; returns the index after `stop` (a "}" closing a ${…})."""
        depth = 0
        while i < len(source):
            ch = source[i]
            if source.startswith("//", i):
                i = source.find("\n", i) % (len(source) + 1)
                continue
            if source.startswith("/*", i):
                i = source.find("*/", i) + 2
                continue
            if ch in "\"'":
                j, text = i + 1, []
                while source[j] != ch:
                    text.append(source[j:j + 2] if source[j] == "\\" else source[j])
                    j += 2 if source[j] == "\\" else 1
                out.append("".join(text))
                i = j + 1
                continue
            if ch == "`":
                j, text = i + 1, []
                while source[j] != "`":
                    if source.startswith("${", j):
                        text.append(" ")
                        j = scan(j + 2, "}")
                        continue
                    text.append(source[j])
                    j += 1
                out.append("".join(text))
                i = j + 1
                continue
            if stop and ch == "{":
                depth += 1
            elif stop and ch == "}":
                if depth == 0:
                    return i + 1
                depth -= 1
            i += 1
        return i

    scan(0)
    selector = re.compile(r"^[#.][\w-]+[ \[]")  # a CSS selector naming a column, not a message
    return iter([t for t in out if re.search(r"[\u4e00-\u9fff]", t) and not selector.match(t)])


def test_the_pages_own_words_have_no_flag_command_file_or_english():
    texts = list(js_strings(STATIC.read_text(encoding="utf-8")))
    assert len(texts) > 60
    texts += [t for script in SCRIPTS if script != STATIC for t in js_strings(script.read_text(encoding="utf-8"))]
    for page in PAGES:
        html = page.read_text(encoding="utf-8")
        html = re.sub(r"\{[{%#].*?[}%#]\}", " ", html)  # Jinja expressions
        texts += [t for t in re.split(r"<[^>]+>", html) if re.search(r"[\u4e00-\u9fff]", t)]
        texts += re.findall(r'(?:placeholder|title|aria-label)="([^"]*)"', html)
    bad = {t: problems_of(t) for t in texts if problems_of(t)}
    assert not bad


def test_every_next_step_is_worded_by_every_front_end():
    for words in (wording.NEXT, cli.NEXT, excel.NEXT):
        assert set(words) == set(NEXT_ACTIONS)
    for action, text in wording.NEXT.items():
        assert not problems_of(text.format(subject="交通局")), action
    assert "--overwrite-text" in cli.NEXT["overwrite_text"] and "--reset-status" in cli.NEXT["reset_status"]
    assert "“生成问题文本”" in wording.NEXT["overwrite_text"] and "“按规则重置状态”" in wording.NEXT["reset_status"]
    assert "“部门”页" in wording.NEXT["set_email"] and "“部门”表" in excel.NEXT["set_email"]


# -- what the server says, step by step -------------------------------------------------------------------

SHOWN_REPORT = re.compile(r"^(邮件预览|发送结果|拒绝|跳过|失败|未发送|待核实)")  # the report lines console.js shows


def shown(body: Any) -> Iterator[str]:
    """Every text of an API answer the page puts on screen (console.js: error, notes, next, the mail
    summary lines, problems, the mail table, the annex tables' labels, paragraphs, backups)."""
    if not isinstance(body, dict):
        return
    if body.get("error"):
        yield body["error"]
    yield from body.get("notes") or []
    yield from (n["text"] for n in body.get("next") or [])
    yield from (line for line in body.get("report") or [] if SHOWN_REPORT.match(line))
    for p in body.get("problems") or []:
        yield from (p["message"], p.get("department") or "")
    for p in (body.get("mail") or {}).get("packages", []):
        yield from (*p["refused"], p["status"], p["subject"], p["body"])
    for t in body.get("tables") if isinstance(body.get("tables"), list) else []:  # /api/tables (a step's are figures)
        yield t["title"]
        yield from (c["name"] for c in t["columns"])
        yield from (str(r["label"] or "") for r in t["rows"])
    for p in body.get("paragraphs") or []:
        yield from (p["text"], p["heading"], p["note"], p["generated_now"])


class Walk:
    """The app on a working folder; every answer's shown texts collected with where they came from."""

    def __init__(self, folder: Path, **settings: Any) -> None:
        self.folder = folder
        guard = Guard(port=PORT)
        self.client = create_app(Settings(folder=folder, **settings), guard).test_client()
        self.auth = {HEADER: guard.token}
        self.seen: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        res = getattr(self.client, method)(path, base_url=BASE, headers=self.auth, **kw)
        body = res.get_json(silent=True)
        assert body is not None, (path, res.status_code)  # always JSON for the page
        self.seen += [(f"{method.upper()} {path} {res.status_code}", t) for t in shown(body) if t]
        return SimpleNamespace(status=res.status_code, body=body)

    def step(self, step: str, book: str, **fields: Any) -> Any:
        return self("post", f"/api/{step}", data={"workbook": book, **fields})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed: a refused connection at once


def june(folder: Path, name: str = SAMPLE.name, edit: Any = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["参数"] if "参数" in wb.sheetnames else wb.create_sheet("参数")
    for row in (["邮件服务器", "127.0.0.1", None], ["邮件端口", closed_port(), None], ["邮件加密", "STARTTLS", None]):
        ws.append(row)
    if edit:
        edit(wb)
    wb.save(folder / name)
    return name


def with_may(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    month_actions.import_month(MAY, history=folder / "history.sqlite")


def set_cell(sheet: str, department: str, column: int, value: Any):
    def edit(wb: Any) -> None:
        ws = wb[sheet]
        row = next(r for r in ws.iter_rows() if r[1].value == department)
        row[column - 1].value = value
    return edit


def clear_month(wb: Any) -> None:
    ws = wb["总体情况"]
    for row in ws.iter_rows():
        for c in row:
            if c.value == "月份":
                ws.cell(c.row, c.column + 1).value = None


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    root = tmp_path_factory.mktemp("walk")

    # June without last month in the history: every step, 结转 twice, next month before and after
    w = Walk(root / "无历史")
    book = june(w.folder)
    w("get", "/api/tables")  # nothing chosen yet
    for step in ("check", "recalc", "compare", "narrate", "run", "render", "charts", "mail-preview", "next-month",
                 "environment"):
        w.step(step, book)
    w("get", f"/api/month?workbook={book}")
    first, again = w.step("close-month", book), w.step("close-month", book)
    assert "2023-06 已存入历史库" in first.body["notes"][-1]
    assert again.body["notes"][-1] == "已重新存入 2023-06（替换先前存入的 2023-06，其他月份不变）。"
    w.step("mail-send", book)  # no server listening: refused at once, said in Chinese
    for step in ("collect-send", "collect-status", "collect-remind"):  # 报送: drafts, the table, reminders
        w.step(step, book)
    status = w.step("collect-status", book)
    assert "remind" in {n["action"] for n in status.body["next"]}
    w("post", "/api/collect-import", data={"workbook": book})  # nothing chosen
    w("post", "/api/collect-import", data={"workbook": book, "imap": "1"})  # no mailbox set up
    seen += w.seen

    # June with May: staff edits kept (next: reset, overwrite), resets, restores, backups, next month unclosed
    w = Walk(root / "有上月")
    with_may(w.folder)
    book = june(w.folder)
    w.step("run", book)
    w("post", "/api/status", json={"workbook": book, "sheet": "附件2", "department": "统计局", "status": "黄"})
    w("get", f"/api/tables?workbook={book}")
    para = w("get", f"/api/text?workbook={book}").body["paragraphs"][0]["id"]
    w("post", "/api/text", json={"workbook": book, "paragraph": para, "text": "工作人员改写的段落。"})
    w("post", "/api/text", json={"workbook": book, "paragraph": para, "text": "=1+1"})
    w("post", "/api/text", json={"workbook": book, "paragraph": "没有这段", "text": "文字"})
    recalc = w.step("recalc", book)
    assert [n["action"] for n in recalc.body["next"]] == ["reset_status"]
    narrate = w.step("narrate", book)
    assert [n["action"] for n in narrate.body["next"]] == ["overwrite_text"]
    w("get", f"/api/text?workbook={book}")
    w("post", "/api/status/reset", json={"workbook": book, "sheet": "附件2", "department": "统计局"})
    w("post", "/api/status/reset", json={"workbook": book, "sheet": "附件2", "department": ""})
    w("post", "/api/status/reset", json={"workbook": book, "sheet": "总体情况", "department": ""})
    w("post", "/api/status", json={"workbook": book, "sheet": "附件2", "department": "统计局", "status": "紫"})
    w("post", "/api/text/restore", json={"workbook": book, "paragraph": para})
    listed = w("get", f"/api/backups?workbook={book}").body["backups"]
    w("post", "/api/backups/restore", json={"workbook": book, "backup": listed[-1]["name"]})
    w("post", "/api/backups/restore", json={"workbook": book, "backup": "不存在.xlsx"})
    w.step("compare", book)
    nxt = w.step("next-month", book)  # June not closed: said, with what to do
    assert [n["action"] for n in nxt.body["next"]] == ["close_month"]
    mail = w.step("mail-preview", book)
    assert "set_email" in {n["action"] for n in mail.body["next"]}
    (w.folder / f"~${book}").write_bytes(b"owner")  # open in Excel/WPS
    locked = w.step("recalc", book)
    assert locked.status == 409
    (w.folder / f"~${book}").unlink()
    w.step("check", "别的工作簿.xlsx")
    w("post", "/api/no-such-step", data={"workbook": book})
    seen += w.seen

    # an input error, no month, not a bulletin workbook, a damaged file, an upload over the limit
    w = Walk(root / "有问题", max_upload_mb=1)
    with_may(w.folder)
    bad = june(w.folder, "有错误.xlsx", set_cell("附件1", "殷都区交通局", 3, "很多"))
    for step in ("check", "recalc", "compare", "narrate", "render", "charts", "mail-preview", "close-month"):
        w.step(step, bad)
    nomonth = june(w.folder, "没有月份.xlsx", clear_month)
    for step in ("close-month", "next-month", "mail-preview"):
        w.step(step, nomonth)
    other = openpyxl.Workbook()
    other.active.title = "工资表"
    buffer = io.BytesIO()
    other.save(buffer)
    refused = w("post", "/api/upload", data={"workbook": (io.BytesIO(buffer.getvalue()), "工资表.xlsx")})
    assert refused.status == 400 and refused.body["error"].startswith("这不是通报数据工作簿")
    w("post", "/api/upload", data={"workbook": (io.BytesIO(b"not a zip"), "坏文件.xlsx")})
    w("post", "/api/upload", data={"workbook": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "很大.xlsx")})
    w("post", "/api/upload", data={})
    seen += w.seen
    return seen


def test_a_broken_staff_file_is_a_message_for_it_not_its_file_name(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "rules.yaml").write_text("rules: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(config))
    w = Walk(tmp_path / "工作台")
    book = june(w.folder)
    res = w.step("check", book)
    assert res.status == 500 and "请发给信息科" in res.body["error"]
    log = next(w.folder.glob("bulletin-error-*.log")).read_text(encoding="utf-8")
    assert "rules.yaml" in log.splitlines()[0]  # IT reads the file and key in the log
    assert not [(where, t, problems_of(t)) for where, t in w.seen if problems_of(t)]


def test_every_message_of_every_step_is_the_pages_own(walked):
    assert len(walked) > 300
    bad = [(where, text, problems_of(text)) for where, text in walked if problems_of(text)]
    assert not bad, "\n".join(f"{w}: {t} -> {p}" for w, t, p in bad[:20])


def test_the_walk_met_the_messages_the_issue_names(walked):
    texts = [t for _, t in walked]
    joined = "\n".join(texts)
    for expected in ("这不是通报数据工作簿", "上传的文件超过 1 MB", "请先关闭工作簿", "已重新存入 2023-06（替换先前存入的 2023-06，其他月份不变）",
                     "请先存入上月（2023-05）的数据", "本月（2023-06）尚未结转", "在“部门”页填写", "“按规则重置状态”",
                     "“恢复为生成文字”", "点“校验数据”", "部门名录中未登记邮箱", "无法连接邮件服务器"):
        assert expected in joined, expected
    assert sum("这不是通报数据工作簿" in t for t in texts) == 1  # one message, not one per missing sheet
