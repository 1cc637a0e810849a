"""A corpus of bad and odd workbooks, made as a careless or hostile user would (each generated from the June
sample with one thing changed), through `bulletin check` in-process. Each case states its class of outcome:
an error at the named cell (with its rule), a value normalised to a stated figure, or the file refused with
a message naming the cause. No case may end in exit 3 or a message naming a Python exception."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import openpyxl
import pytest

from bulletin.adapters.xlsx_files import CFB_SIGNATURE, ENCRYPTED_STREAM
from bulletin.cli import main
from conftest import SAMPLE

PYTHON_WORDS = ("Error", "Exception", "Traceback", "zipfile", "KeyError", "OverflowError", "BadZip")


@dataclass(frozen=True)
class Error:
    sheet: str
    cell: str
    rule: str
    says: str = ""  # a phrase the message must hold


@dataclass(frozen=True)
class Normalised:
    sheet: str  # 总体情况 for a scalar, else an annex
    column: str
    department: str
    value: Any


@dataclass(frozen=True)
class Refused:
    says: str


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], Path]  # folder -> the workbook (or path) to check
    expect: Error | Normalised | Refused


def edit(sheet: str, cell: str, value: Any, *, number_format: str | None = None, text: bool = False):
    """A copy of the sample with one cell set (as text when `text`: a string beginning with "=" stays one)."""
    def make(folder: Path) -> Path:
        wb = openpyxl.load_workbook(SAMPLE)
        c = wb[sheet][cell]
        c.value = value
        if text:
            c.data_type = "s"
        if number_format:
            c.number_format = number_format
        path = folder / "通报数据-2023-06.xlsx"
        wb.save(path)
        return path
    return make


def patched(sheet: str, cell: str, xml: bytes, *, text: bool):
    """A copy of the sample whose cell holds what openpyxl will not write (it cuts text at 32,767
    characters and cannot write a 400-digit integer): a placeholder saved, then replaced in the XML."""
    placeholder = "PLACEHOLDER-7f3a" if text else 987654321

    def make(folder: Path) -> Path:
        edit(sheet, cell, placeholder)(folder)
        path, source = folder / "通报数据-2023-06.xlsx", folder / "placeholder.xlsx"
        path.rename(source)
        old = placeholder.encode() if text else b"<v>987654321</v>"
        new = xml if text else b"<v>" + xml + b"</v>"
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info, zin.read(info.filename).replace(old, new))
        source.unlink()
        return path
    return make


def full_width(sheet: str, cell: str):
    """The cell's own figure typed in full-width digits (１２３): read as the same number."""
    def make(folder: Path) -> Path:
        value = openpyxl.load_workbook(SAMPLE)[sheet][cell].value
        return edit(sheet, cell, str(value).translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}))(folder)
    return make


def zero_width(sheet: str, cell: str):
    """The cell's own figure with a zero-width space and a BOM pasted in: read as the same number (warned)."""
    def make(folder: Path) -> Path:
        value = str(openpyxl.load_workbook(SAMPLE)[sheet][cell].value)
        return edit(sheet, cell, f"\ufeff{value[:1]}\u200b{value[1:]}")(folder)
    return make


def raw_file(name: str, data: bytes | Callable[[], bytes]):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path
    return make


# one input count cell of each annex (the first department row): its department and column
COUNT_CELLS = [("附件1", "C4", "文广体旅局", "事项总数"), ("附件2", "F4", "退役军人事务局", "即办件事项数"),
               ("附件3", "D4", "自然资源局", "已签章数量"), ("附件4", "E4", "教育局", "资源数据总量"),
               ("附件5", "G7", "商务局", "行政检查覆盖数"), ("附件6", "C3", "人社局", "部门报送数据"),
               ("附件7", "D3", "自然资源局", "已完成事项"), ("附件8", "C3", "市场监管局", "入驻总人数")]
BAD_COUNTS = [  # (id, value, rule, phrase)
    ("percent", "89%", "value.percent_not_allowed", "不能填百分数"),
    ("fraction", 12.5, "value.not_integer", "12.5"),
    ("negative", -3, "value.negative", "-3"),
    ("words", "很多", "value.not_number", "很多"),
    ("excel-error", "#DIV/0!", "value.excel_error", "#DIV/0!"),
    ("1e20", 1e20, "value.too_large", "不大于 1e+09"),
    ("400-digit-text", "9" * 400, "value.too_large", "超出合理范围"),
    ("1e308", 1e308, "value.too_large", "超出合理范围"),
    ("soft-hyphen", "12\u00ad3", "value.invisible_char", "U+00AD 软连字符"),
    ("direction-mark", "12\u200e3", "value.invisible_char", "U+200E 从左到右标记"),
    ("boolean", True, "value.not_number", "True"),
    ("scientific-text", "1e5", "value.not_number", "1e5"),
]
CASES: list[Case] = []
SAMPLE_BOOK = openpyxl.load_workbook(SAMPLE, read_only=True)
for sheet, cell, dept, column in COUNT_CELLS:
    for name, value, rule, phrase in BAD_COUNTS:
        CASES.append(Case(f"{sheet}-{cell}-{name}", edit(sheet, cell, value), Error(sheet, cell, rule, phrase)))
    CASES.append(Case(f"{sheet}-{cell}-400-digit-int", patched(sheet, cell, b"9" * 400, text=False),
                      Error(sheet, cell, "value.too_large", "超出合理范围")))
    CASES.append(Case(f"{sheet}-{cell}-full-width", full_width(sheet, cell),
                      Normalised(sheet, column, dept, SAMPLE_BOOK[sheet][cell].value)))
    CASES.append(Case(f"{sheet}-{cell}-zero-width", zero_width(sheet, cell),
                      Normalised(sheet, column, dept, SAMPLE_BOOK[sheet][cell].value)))

NUMBER_CELL = ("附件8", "F3")  # 累计请假天数: a decimal count of days
CASES += [
    Case("days-percent", edit(*NUMBER_CELL, "50%"), Error(*NUMBER_CELL, "value.percent_not_allowed")),
    Case("days-1e20", edit(*NUMBER_CELL, 1e20), Error(*NUMBER_CELL, "value.too_large", "不大于 1e+07")),
    Case("days-thousands", edit(*NUMBER_CELL, "1,234.5"), Normalised("附件8", "累计请假天数", "市场监管局", 1234.5)),
]
RATIO_CELL = ("附件1", "D4")  # 不见面审批事项占比, a %-formatted input ratio
CASES += [
    Case("ratio-plain-in-percent-cell", edit(*RATIO_CELL, 62.71), Error(*RATIO_CELL, "value.percent_format", "6271%")),
    Case("ratio-120-percent", edit(*RATIO_CELL, "120%"), Error(*RATIO_CELL, "value.ratio_range", "0%–100%")),
    Case("ratio-150-plain", edit(*RATIO_CELL, 150, number_format="General"), Error(*RATIO_CELL, "value.ratio_range")),
    Case("ratio-negative", edit(*RATIO_CELL, "-5%"), Error(*RATIO_CELL, "value.negative")),
    Case("ratio-text-percent", edit(*RATIO_CELL, "62.71%"), Normalised("附件1", "不见面审批事项占比", "文广体旅局", 62.71)),
    Case("ratio-fraction-in-percent-cell", edit(*RATIO_CELL, 0.6271),
         Normalised("附件1", "不见面审批事项占比", "文广体旅局", 62.71)),
    Case("ratio-plain-number-general", edit(*RATIO_CELL, 62.71, number_format="General"),
         Normalised("附件1", "不见面审批事项占比", "文广体旅局", 62.71)),
]
CASES += [  # 总体情况: B2 月份, B3 统计截止日期, B4 网上政务服务事项总数, B6 差评件数, B7 差评已整改件数
    Case("cutoff-june-31", edit("总体情况", "B3", "2023-06-31"), Error("总体情况", "B3", "scalar.invalid", "不是日历上的日期")),
    Case("cutoff-feb-30-text", edit("总体情况", "B3", "2023年2月30日"), Error("总体情况", "B3", "scalar.invalid")),
    Case("cutoff-after-month", edit("总体情况", "B3", "2023-07-15"), Error("总体情况", "B3", "scalar.out_of_month", "2023-06")),
    Case("cutoff-before-month", edit("总体情况", "B3", "2023-05-31"), Error("总体情况", "B3", "scalar.out_of_month")),
    Case("cutoff-date-cell-outside", edit("总体情况", "B3", dt.datetime(2023, 7, 1)),
         Error("总体情况", "B3", "scalar.out_of_month")),
    Case("cutoff-slashes", edit("总体情况", "B3", "2023/6/30"), Normalised("总体情况", "统计截止日期", "", "2023-06-30")),
    Case("month-13", edit("总体情况", "B2", "2023-13"), Error("总体情况", "B2", "scalar.invalid")),
    Case("scalar-percent", edit("总体情况", "B4", "89%"), Error("总体情况", "B4", "scalar.invalid", "百分数")),
    Case("scalar-400-digits", patched("总体情况", "B4", b"9" * 400, text=False),
         Error("总体情况", "B4", "scalar.invalid", "合理范围")),
    Case("scalar-1e20", edit("总体情况", "B4", 1e20), Error("总体情况", "B4", "scalar.invalid", "合理范围")),
    Case("scalar-fraction", edit("总体情况", "B4", 16.5), Error("总体情况", "B4", "scalar.invalid")),
    Case("scalar-zero-width", edit("总体情况", "B4", "16\u200b45"), Normalised("总体情况", "网上政务服务事项总数", "", 1645)),
    Case("scalar-soft-hyphen", edit("总体情况", "B4", "16\u00ad45"), Error("总体情况", "B4", "scalar.invalid")),
    Case("fixed-more-than-bad", edit("总体情况", "B7", 5), Error("总体情况", "B7", "scalar.relation", "差评件数")),
    Case("scalar-full-width", edit("总体情况", "B4", "１６４５"), Normalised("总体情况", "网上政务服务事项总数", "", 1645)),
]
CASES += [  # 参数: B2 即办件占比黄线, B10 环比单位, B16 印发日期
    Case("param-words", edit("参数", "B2", "很多"), Error("参数", "B2", "param.invalid", "应为数字")),
    Case("param-unit", edit("参数", "B10", "percent"), Error("参数", "B10", "param.invalid", "个百分点")),
    Case("param-date", edit("参数", "B16", "2023-02-30"), Error("参数", "B16", "param.invalid", "日期")),
    Case("param-threshold-ok", edit("参数", "B2", "３５"), Normalised("参数", "即办件占比黄线", "", 35)),
]
for sheet, cell, _, _ in COUNT_CELLS[:4]:  # a formula saved by a program that does not calculate
    CASES.append(Case(f"{sheet}-{cell}-uncalculated", edit(sheet, cell, "=1+2"),
                      Error(sheet, cell, "value.uncalculated", "打开并保存")))
LONG = ("很长的文字" * 7000).encode()  # 35,000 characters: over Excel's 32,767
CASES += [
    Case("text-item-too-long", patched("文字素材", "B2", LONG, text=True),
         Error("文字素材", "B2", "text.too_long", "32767")),
    Case("annex-text-too-long", patched("附件4", "G4", LONG, text=True), Error("附件4", "G4", "value.too_long", "32767")),
    Case("remark-too-long", patched("附件7", "G3", LONG, text=True), Error("附件7", "G3", "value.too_long")),
    Case("department-zero-width", edit("附件1", "B4", "文广体旅局\u200b"), Normalised("附件1", "事项总数", "文广体旅局", 161)),
    Case("department-soft-hyphen", edit("附件1", "B4", "文广\u00ad体旅局"),
         Error("附件1", "B4", "department.unknown", "U+00AD 软连字符")),
]


def _zip(entries: dict[str, bytes]) -> Callable[[], bytes]:
    def data() -> bytes:
        import io
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, body in entries.items():
                z.writestr(name, body)
        return buf.getvalue()
    return data


def _folder(name: str):
    def make(folder: Path) -> Path:
        (folder / name).mkdir()
        return folder / name
    return make


CASES += [
    Case("encrypted", raw_file("加密.xlsx", CFB_SIGNATURE + b"\0" * 1000 + ENCRYPTED_STREAM + b"\0" * 1000),
         Refused("打开密码")),
    Case("xls-renamed", raw_file("旧版.xlsx", CFB_SIGNATURE + b"\0" * 1000 + "Workbook".encode("utf-16-le")),
         Refused("另存为 .xlsx")),
    Case("xls-suffix", raw_file("旧版.xls", CFB_SIGNATURE + b"\0" * 100), Refused("另存为 .xlsx")),
    Case("folder", _folder("文件夹.xlsx"), Refused("文件夹")),
    Case("empty", raw_file("空.xlsx", b""), Refused("不是 Excel 工作簿")),
    Case("random-bytes", raw_file("乱码.xlsx", bytes(range(256)) * 20), Refused("不是 Excel 工作簿")),
    Case("truncated", raw_file("截断.xlsx", lambda: SAMPLE.read_bytes()[:20000]), Refused("损坏")),
    Case("zip-not-workbook", raw_file("压缩包.xlsx", _zip({"a.txt": b"hello"})), Refused("损坏")),
    Case("csv-renamed", raw_file("表格.xlsx", "单位,事项总数\n公安分局,12\n".encode()), Refused("不是 Excel 工作簿")),
    Case("csv-suffix", raw_file("表格.csv", b"a,b\n"), Refused("另存为 .xlsx")),
    Case("pdf-renamed", raw_file("通报.xlsm", b"%PDF-1.7\n" + b"\0" * 100), Refused("不是 Excel 工作簿")),
    Case("missing", lambda folder: folder / "没有这个文件.xlsx", Refused("找不到文件")),
]


def check(path: Path, capsys) -> tuple[int, dict | None, str]:
    code = main(["check", str(path), "--json"])
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except json.JSONDecodeError:
        return code, None, err + out


def test_corpus_is_large_and_covers_every_class():
    assert len(CASES) >= 100, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)
    kinds = {type(c.expect) for c in CASES}
    assert kinds == {Error, Normalised, Refused}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys):
    path = case.make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    code, report, err = check(path, capsys)
    assert code != 3, err
    if path.is_file():
        assert path.read_bytes() == before  # the input is never written
    expect = case.expect
    if isinstance(expect, Refused):
        assert code == 2 and report is None and expect.says in err, err
        assert not any(w in err for w in PYTHON_WORDS), err
        return
    assert report is not None, err
    problems = report["problems"]
    if isinstance(expect, Error):
        hits = [p for p in problems if (p["sheet"], p["cell"], p["rule"]) == (expect.sheet, expect.cell, expect.rule)]
        assert hits, [(p["sheet"], p["cell"], p["rule"], p["message"]) for p in problems]
        assert hits[0]["severity"] == "error" and code == 1
        assert expect.says in hits[0]["message"], hits[0]["message"]
        assert not any(w in hits[0]["message"] for w in PYTHON_WORDS)
        return
    assert not [p for p in problems if p["severity"] == "error"], problems
    if expect.sheet == "总体情况":
        assert report["scalars"][expect.column] == expect.value
    elif expect.sheet == "参数":
        assert not [p for p in problems if p["sheet"] == "参数"]  # the value in force: test_param_normalised_is_used
    else:
        rows = [r for r in report["tables"][expect.sheet] if r["部门"] == expect.department]
        assert rows and rows[0][expect.column] == expect.value, rows[:1]


def test_param_normalised_is_used(tmp_path, capsys):
    path = edit("参数", "B2", "３５")(tmp_path)
    code = main(["check", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and "即办件占比黄线 = 35（工作簿“参数”表 B2）" in out


def test_bad_out_folders_are_messages_not_faults(tmp_path, capsys):
    book = tmp_path / "通报数据-2023-06.xlsx"
    shutil.copy(SAMPLE, book)
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile", tmp_path / "afile" / "below", Path("/proc/通报输出")):
        code = main(["recalc", str(book), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and "无法写入" in err and not any(w in err for w in PYTHON_WORDS), (out, err)
