"""The workbook's 部门 sheet lays rows over the office registry (departments.csv), merged by 部门: each one-row
edit on the June sample ends in exactly the outcome it asked for and no other new problem; a unit added in
July is closed with July and known to August's template without any row added; long and zero-width values."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import openpyxl
import pytest

from bulletin.adapters.history_sqlite import History
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_registry
from bulletin.core.department_sheet import carried_rows
from bulletin.engine import compute

from conftest import SAMPLE, find_cell

# the sample's own two warnings (the June document's self-contradictions): every edit below keeps exactly these
BASELINE = [("附件1!F25", "printed.ratio_mismatch"), ("附件6!C34", "printed.total_mismatch")]
DEPT_COLUMNS = ["部门", "简称", "全称", "别名", "类别", "附件", "邮箱", "拼音", "应进驻大厅", "既往连续", "停用"]


def bulletin(*args, **kw):
    return subprocess.run([sys.executable, "-m", "bulletin", *map(str, args)], capture_output=True, text=True, **kw)


def book(tmp_path, rows=(), renames=(), month=None, name="book.xlsx"):
    """The June sample with rows written into 部门 (a dict per row, by column) and unit names renamed
    [(sheet, label as printed, new label)]; `month` makes it that month (its own cut-off date)."""
    wb = openpyxl.load_workbook(SAMPLE)
    ws = wb["部门"]
    for c, column in enumerate(DEPT_COLUMNS, start=1):
        ws.cell(1, c).value = column  # the sample predates the 停用 column
    for r, row in enumerate(rows, start=2):
        for column, value in row.items():
            ws.cell(r, DEPT_COLUMNS.index(column) + 1).value = value
    for sheet, label, new in renames:
        wb[sheet][find_cell(wb[sheet], label, "单位")] = new
    if month:
        for row in wb["总体情况"].iter_rows(min_row=2):
            if row[0].value == "统计截止日期":
                row[1].value = f"{month}-28"
            if row[0].value == "月份":
                row[1].value = month
    path = tmp_path / name
    wb.save(path)
    return path


def problems(path):
    data = compute(read_grids(path))
    return data, [(p.where, p.rule) for p in data.problems]


RENFANG = {"部门": "人防办", "简称": "人防办", "全称": "殷都区人民防空办公室", "附件": "1,2"}
RENFANG_RENAMES = (("附件1", "殷都区财政局", "人防办"), ("附件2", "财政局", "人防办"))


def test_unknown_unit_says_the_one_row_that_adds_it(tmp_path):
    data, found = problems(book(tmp_path, renames=RENFANG_RENAMES))
    assert found == [("附件1!B34", "department.unknown"), *BASELINE[:1], ("附件2!B9", "department.unknown"),
                     BASELINE[1]]
    message = data.problems[0].message
    assert message == ("单位“人防办”不在部门名录中。若是新单位，请在“部门”表新增一行：部门=人防办，简称=人防办，"
                       "全称=殷都区人防办，附件=1,2（按实际改写；其他列可留空）。结转后，以后各月的工作簿会带上它。")
    assert "departments.csv" not in message and "须列出全部" not in message


def test_a_variant_of_a_listed_unit_is_told_the_alias_row(tmp_path):
    data, found = problems(book(tmp_path, renames=[("附件1", "殷都区档案局", "殷都区档案馆")]))
    assert found == [("附件1!B18", "department.unknown"), *BASELINE]
    assert "若它是“档案局”的另一种写法，请在“部门”表新增一行：部门=档案局，别名=殷都区档案馆。" in data.problems[0].message


def test_new_unit_is_one_row(tmp_path):
    data, found = problems(book(tmp_path, [RENFANG], RENFANG_RENAMES))
    assert found == BASELINE
    assert data.registry.resolve("殷都区人防办") == "人防办"
    assert data.registry.get("人防办").full == "殷都区人民防空办公室" and data.registry.get("人防办").annexes == (1, 2)
    assert len(data.registry.departments) == len(load_registry().departments) + 1


def test_new_unit_without_its_required_columns_is_an_error_at_each_cell(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "人防办", "简称": "人防办"}], RENFANG_RENAMES))
    assert ("部门!C2", "department.incomplete") in found and ("部门!F2", "department.incomplete") in found
    assert next(p for p in data.problems if p.cell == "F2").message == "新增单位“人防办”须填写“附件”。"


def _same_but(data, name, **changed):
    office = next(d for d in load_registry().departments if d.name == name)
    mine = data.registry.get(name)
    for field in ("short", "full", "aliases", "category", "annexes", "emails", "pinyin", "hall", "carried"):
        expected = changed.get(field, getattr(office, field))
        assert getattr(mine, field) == expected, field
    assert [d.name for d in data.registry.departments] == [d.name for d in load_registry().departments]


def test_changed_short_name_keeps_every_other_column(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "财政局", "简称": "区财政局"}]))
    assert found == BASELINE
    _same_but(data, "财政局", short="区财政局")


def test_added_alias(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "档案局", "别名": "殷都区档案馆"}],
                                [("附件1", "殷都区档案局", "殷都区档案馆")]))
    assert found == BASELINE
    _same_but(data, "档案局", aliases=("殷都区档案馆",))


def test_a_row_may_name_its_unit_by_any_spelling(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "殷都区人力资源和社会保障局", "应进驻大厅": "否"}]))
    assert found == BASELINE
    _same_but(data, "人社局", hall=False)


def test_added_email_replaces_the_list(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "人社局", "邮箱": "rsj-new@yindu.example"}]))
    assert found == BASELINE
    _same_but(data, "人社局", emails=("rsj-new@yindu.example",))


def test_hall_duty(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "民宗局", "应进驻大厅": "是"}]))
    assert found == BASELINE
    _same_but(data, "民宗局", hall=True)
    assert data.registry.flags()["民宗局"] == {"应进驻大厅"}


def test_retired_unit_is_named_where_it_still_stands(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "民宗局", "停用": "是"}]))
    assert found == [("附件1!B9", "department.retired"), BASELINE[0], ("附件2!B10", "department.retired"),
                     ("附件6!B28", "department.retired"), BASELINE[1]]
    assert "民宗局" not in data.registry.names()
    assert data.problems[0].message.startswith("单位“殷都区民宗局”即“民宗局”，已停用")


def test_a_name_of_two_units_is_an_error_naming_both(tmp_path):
    data, found = problems(book(tmp_path, [{"部门": "人防办", "简称": "人防办", "全称": "殷都区人民防空办公室",
                                            "附件": "1,2", "别名": "人社"},
                                           {"部门": "人社局", "别名": "人社"}], RENFANG_RENAMES))
    assert found == [("部门!D3", "department.name_clash"), *BASELINE]
    assert data.problems[0].message == ("名称“人社”既属于“人防办”（D2），又写给了“人社局”（D3）：同一名称只能属于一个单位，"
                                        "请删去其中一处。")
    data, found = problems(book(tmp_path, [{"部门": "人社局", "别名": "财政局"}]))
    assert found == [("部门!D2", "department.name_clash"), *BASELINE]
    assert "既属于“财政局”（部门名录），又写给了“人社局”（D2）" in data.problems[0].message


def test_bad_values_in_the_sheet_are_errors_at_their_cells(tmp_path):
    _, found = problems(book(tmp_path, [{"部门": "人社局", "附件": "9", "邮箱": "不是邮箱", "停用": "也许"},
                                        {"简称": "无名"}, {"部门": "人社局", "简称": "x"}]))
    assert found == [("部门!K2", "department.invalid"), ("部门!F2", "department.invalid"),
                     ("部门!G2", "department.invalid"), ("部门!A3", "department.missing_name"),
                     ("部门!A4", "department.duplicate"), *BASELINE]


def test_empty_sheet_is_the_office_registry(tmp_path):
    data, found = problems(book(tmp_path))
    assert found == BASELINE
    assert data.registry.rows() == load_registry().rows()


def test_a_unit_added_in_july_is_known_to_augusts_template_without_any_row_added(tmp_path):
    july = book(tmp_path, [RENFANG], RENFANG_RENAMES, month="2023-07", name="2023-07.xlsx")
    hist = tmp_path / "history.sqlite"
    check = bulletin("check", july)
    assert check.returncode == 0, check.stdout
    closed = bulletin("close-month", july, "--history", hist)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    with History(hist) as h:
        month, stored = h.latest_registry(before="2023-08")
    assert month == "2023-07"
    assert next(r for r in stored if r["部门"] == "人防办")["_set"] == "简称、全称、附件"
    assert next(r for r in stored if r["部门"] == "财政局")["_set"] == ""

    august = tmp_path / "2023-08.xlsx"
    made = bulletin("template", "--month", "2023-08", "-o", august, "--history", hist)
    assert made.returncode == 0, made.stdout + made.stderr
    wb = openpyxl.load_workbook(august)
    header = [c.value for c in wb["部门"][1]][:len(DEPT_COLUMNS)]
    assert header == DEPT_COLUMNS
    rows = [[c.value for c in r][:len(DEPT_COLUMNS)] for r in wb["部门"].iter_rows(min_row=2) if r[0].value]
    assert rows == [["人防办", "人防办", "殷都区人民防空办公室", None, None, "1,2", None, None, None, None, None]]
    for sheet in ("附件1", "附件2"):
        assert "人防办" in [r[1].value for r in wb[sheet].iter_rows(min_row=3)], sheet

    # August's figures (July's, as the clerk would fill them) with the template's 部门 sheet as it came
    filled = openpyxl.load_workbook(july)
    for r, row in enumerate(wb["部门"].iter_rows(min_row=1), start=1):
        for c, cell in enumerate(row, start=1):
            filled["部门"].cell(r, c).value = cell.value
    for row in filled["总体情况"].iter_rows(min_row=2):
        if row[0].value == "月份":
            row[1].value = "2023-08"
        if row[0].value == "统计截止日期":
            row[1].value = "2023-08-31"
    filled.save(tmp_path / "2023-08-filled.xlsx")
    _, found = problems(tmp_path / "2023-08-filled.xlsx")
    assert found == BASELINE


def test_office_registry_wins_for_every_column_no_workbook_set(tmp_path, monkeypatch):
    """IT later puts 人防办 into departments.csv and changes 人社局's e-mail: August's 部门 sheet no longer
    repeats 人防办, and carries July's 简称 of 人社局 but not an e-mail July never set."""
    stored = [{**r, "_set": ""} for r in load_registry().rows()]
    for r in stored:
        if r["部门"] == "人社局":
            r.update(简称="区人社局", _set="简称")
    stored.append({**dict.fromkeys(DEPT_COLUMNS, ""), **RENFANG, "_set": "简称、全称、附件"})
    office = tmp_path / "office"
    office.mkdir()
    csv = (SAMPLE.parents[2] / "python" / "bulletin" / "data" / "departments.csv").read_text(encoding="utf-8")
    csv = csv.replace("rsj@yindu.example;rsj-bgs@yindu.example", "rsj2@yindu.example")
    csv += "人防办,人防办,殷都区人民防空办公室,,区直部门,\"1,2\",rfb@yindu.example,ren fang ban,,\n"
    (office / "departments.csv").write_text(csv, encoding="utf-8")
    monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(office))
    assert carried_rows(stored, load_registry()) == [{"部门": "人社局", "简称": "区人社局"}]


def test_rows_stored_before_the_overlay_are_compared_with_the_office_registry():
    office = load_registry()
    stored = [r for r in office.rows() if r["部门"] != "民宗局"]  # an old full 部门 sheet without 民宗局
    for r in stored:
        if r["部门"] == "财政局":
            r["邮箱"] = "cz@yindu.example"
    assert carried_rows(stored, office) == [{"部门": "财政局", "邮箱": "cz@yindu.example"},
                                            {"部门": "民宗局", "停用": "是"}]


PLACEHOLDER = "PLACEHOLDER-7f3a"


def with_text(path, text):
    """The file with PLACEHOLDER replaced in its XML by `text` (openpyxl itself cuts text at 32,767)."""
    source = path.with_name("placeholder-" + path.name)
    path.rename(source)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename).replace(PLACEHOLDER.encode(), text.encode()))
    source.unlink()
    return path


def test_a_100000_character_name_is_one_error_at_its_own_cell(tmp_path):
    path = with_text(book(tmp_path, renames=[("附件1", "殷都区财政局", PLACEHOLDER)]), "局" * 100_000)
    data, found = problems(path)
    assert found == [("附件1!B34", "value.too_long"), *BASELINE]
    assert data.problems[0].message == "“单位”的内容有 100000 个字符，超过 Excel 单元格上限 32767，请删减。"
    assert len(data.problems[0].department) < 60
    res = bulletin("check", path)
    assert res.returncode == 1 and res.stdout.count("附件1!B34") == 1, res.stdout + res.stderr
    assert max(map(len, res.stdout.splitlines())) < 400
    res = bulletin("recalc", path, "--out", tmp_path / "out")
    assert res.returncode == 1, res.stdout + res.stderr
    _assert_no_long_cell(tmp_path / "out")


def test_a_long_name_is_quoted_by_its_head(tmp_path):
    data, _ = problems(book(tmp_path, renames=[("附件1", "殷都区财政局", "某" * 5000)]))
    message = next(p.message for p in data.problems if p.rule == "department.unknown")
    assert "某" * 40 + "…（共5000字）" in message and len(message) < 600


def test_an_over_long_text_cell_is_never_copied_into_an_output(tmp_path):
    wb = openpyxl.load_workbook(SAMPLE)
    wb["文字素材"]["B2"] = PLACEHOLDER
    path = tmp_path / "long-text.xlsx"
    wb.save(path)
    with_text(path, "字" * 40_000)
    res = bulletin("recalc", path, "--out", tmp_path / "out")
    assert res.returncode == 1 and "文字素材!B2" in res.stdout, res.stdout + res.stderr
    _assert_no_long_cell(tmp_path / "out")


def _assert_no_long_cell(folder):
    outputs = list(folder.glob("*.xlsx"))
    assert outputs
    for out in outputs:
        for ws in openpyxl.load_workbook(out).worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert not (isinstance(c.value, str) and len(c.value) > 32767), (out.name, ws.title, c.coordinate)


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_removed_with_a_warning(tmp_path, char):
    wb = openpyxl.load_workbook(SAMPLE)
    wb["附件1"]["C4"] = f"16{char}1"  # 文广体旅局 事项总数, 161 in the sample
    wb["附件2"][find_cell(wb["附件2"], "财政局", "单位")] = f"财政{char}局"
    wb["总体情况"]["B4"] = f"{char}1645"  # 网上政务服务事项总数
    path = tmp_path / "zw.xlsx"
    wb.save(path)
    data, found = problems(path)
    assert found == [("总体情况!B4", "value.zero_width"), ("附件1!C4", "value.zero_width"), BASELINE[0],
                     ("附件2!B9", "value.zero_width"), BASELINE[1]]
    assert data.scalars["网上政务服务事项总数"] == 1645
    assert next(r for r in data.inputs["附件1"].records if r["部门"] == "文广体旅局")["事项总数"] == 161
    assert f"U+{ord(char):04X}" in data.problems[1].message
    assert all(p.severity == "warning" for p in data.problems)
