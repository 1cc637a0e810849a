"""The 通报 Word document: GB/T 9704 layout, fonts on the east-Asian slot, the engine's text and figures in
the annex tables, parameters from the 参数 sheet, edited paragraphs kept, loud template errors. Real files:
the June sample (with a 参数 sheet) rendered with May in a history file, read back with python-docx."""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import sys

import openpyxl
import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from bulletin import actions
from bulletin.adapters.docx_output import TEMPLATE
from bulletin.core.document import DocumentError, DocumentSettings, resolve_params, title_lines
from bulletin.spec import ANNEXES
from conftest import ROOT, SAMPLE, edit_sample
from document_fixtures import PARAMS, history_with_may, june_with_params

W = qn("w:val")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("doc")
    workbook = june_with_params(folder)
    history = history_with_may(folder)
    outcome = actions.render(workbook, folder / "out", history=history)
    engine = actions.narrate(workbook, None, history)
    return outcome, engine, Document(str(outcome.output))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()]


# -- page and styles ------------------------------------------------------------------------------

def test_pages_are_a4_with_gbt9704_margins_and_landscape_for_wide_annexes(rendered):
    _, _, doc = rendered
    sections = doc.sections
    assert len(sections) == 1 + len(ANNEXES)  # the body, then one section per annex
    for i, section in enumerate(sections):
        landscape = i > 0 and ANNEXES[i - 1].landscape
        size = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
        assert (abs(section.page_width - size[0]), abs(section.page_height - size[1])) < (Mm(0.1), Mm(0.1))
        margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
        expected = (28, 26, 37, 35) if landscape else (37, 35, 28, 26)  # the same 版心, turned
        assert [round(m / Mm(1)) for m in margins] == list(expected)
    assert [i for i, s in enumerate(sections) if s.page_width > s.page_height] == [5, 8]


STYLE_FONTS = {  # style: (east-Asian font, size in pt)
    "Normal": ("仿宋_GB2312", 16), "公文标题": ("方正小标宋简体", 22), "发文机关标志": ("方正小标宋简体", 26),
    "发文字号": ("仿宋_GB2312", 16), "一级标题": ("黑体", 16), "二级标题": ("楷体_GB2312", 16),
    "附件标识": ("黑体", 16), "附件标题": ("方正小标宋简体", 22), "页码": ("宋体", 14), "版记": ("仿宋_GB2312", 14),
    "表格文字": ("仿宋_GB2312", 10.5), "表头": ("黑体", 10.5),
}


def test_style_fonts_are_on_the_east_asian_slot_and_no_theme_fonts_remain(rendered):
    _, _, doc = rendered
    for name, (east_asia, size) in STYLE_FONTS.items():
        style = doc.styles[name]
        fonts = style.element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == east_asia, name
        assert fonts.get(qn("w:ascii")) == fonts.get(qn("w:hAnsi")) == "Times New Roman", name
        assert style.font.size == Pt(size), name
    styles_xml = doc.styles.element
    for fonts in styles_xml.iter(qn("w:rFonts")):
        assert not [a for a in fonts.attrib if a.endswith("Theme") or a.endswith("theme")]
    default = styles_xml.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert default.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    body = doc.styles["Normal"].paragraph_format
    assert body.line_spacing == Pt(28.95) and body.first_line_indent == Pt(32)  # 22 lines; 2 characters


def test_page_numbers_are_dashed_odd_right_even_left(rendered):
    _, _, doc = rendered
    assert doc.settings.odd_and_even_pages_header_footer
    odd, even = doc.sections[0].footer.paragraphs[0], doc.sections[0].even_page_footer.paragraphs[0]
    assert odd.text == even.text == "— 1 —"  # the PAGE field's placeholder between the dashes
    assert "PAGE" in "".join(t.text for t in odd._p.iter(qn("w:instrText")))
    assert (odd.alignment, even.alignment) == (2, 0)  # right, left


# -- the text -----------------------------------------------------------------------------------

def test_head_of_the_document_from_parameters_and_defaults(rendered):
    _, _, doc = rendered
    by_style = {}
    for p in doc.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["发文机关标志"] == ["殷都区人民政府推进政府职能转变和“放管服”改革协调小组办公室文件"]
    assert by_style["发文字号"] == ["殷放管服办〔2023〕18号"]
    # GB/T 9704-2012: broken where the words end, lines balanced (not "…6月份运行情况 / 通报")
    assert by_style["公文标题"] == ["殷都区政务服务能力提升工作\n6月份运行情况通报"]
    title = next(p for p in doc.paragraphs if p.style.name == "公文标题")
    assert len(title._p.findall(".//" + qn("w:br"))) == 1
    assert by_style["主送机关"] == ["各区直有关部门、放管服改革成员单位："]
    assert by_style["版记"] == ["殷都区人民政府推进政府职能转变和“放管服”改革协调小组办公室\t2023年7月10日印发"]
    intro = texts(doc)[4]
    assert "现将截至2023年6月份（统计数据截止2023年6月30日）" in intro


def test_narrative_paragraphs_are_the_engines_text_in_order_with_heading_styles(rendered):
    outcome, engine, doc = rendered
    expected = []
    for title, section in (("一、总体情况", "总体情况"), ("二、存在问题", "存在问题"), ("三、下步工作要求", "下步工作要求")):
        expected.append(("一级标题", title))
        for row in engine.text_rows:
            if row["section"] == section:
                if row["heading"]:
                    expected.append(("二级标题", row["heading"]))
                expected += [("Normal", line) for line in row["text"].splitlines() if line.strip()]
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs if p.text.strip()]
    start = paragraphs.index(("一级标题", "一、总体情况"))
    assert paragraphs[start:start + len(expected)] == expected
    # June against May: the figures of the real bulletin's text
    body = "".join(t for _, t in expected)
    assert "即办件占比为62.71%，较5月份降低2.51%" in body
    assert "公安分局事项压缩比由5月份63.45%降至16.65%" in body


def test_annex_list_numbers_every_annex_title(rendered):
    _, _, doc = rendered
    items = [p.text for p in doc.paragraphs if p.style.name == "附件说明"]
    assert items[0] == "附件：1.\t殷都区不见面审批、即办件情况统计表"
    assert items[1:] == [f"\t{a.number}.\t{a.title_for('殷都区')}" for a in ANNEXES[1:]]
    marks = [p.text for p in doc.paragraphs if p.style.name == "附件标识"]
    titles = [p.text for p in doc.paragraphs if p.style.name == "附件标题"]
    assert marks == [f"附件{a.number}" for a in ANNEXES]
    assert titles == [a.title_for("殷都区") for a in ANNEXES]


# -- the annex tables -----------------------------------------------------------------------------

def shown(col, value) -> str:
    """The test's own rendering of a figure: 2-decimal percentages, whole counts, plain decimals."""
    if value is None or value != value:
        return ""
    if col.type == "ratio":
        return "%.2f%%" % value
    if col.type == "count":
        return "%d" % value
    if col.type == "number":
        return ("%d" % value) if value == int(value) else ("%.6f" % value).rstrip("0")
    return str(value)


def cell_texts(table, first: int) -> list[list[str]]:
    out = []
    for tr in table._tbl.tr_lst[first:]:
        out.append(["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.tc_lst])
    return out


def test_each_annex_table_shows_the_engines_figures_in_printed_order(rendered):
    outcome, engine, doc = rendered
    assert len(doc.tables) == len(ANNEXES)
    data = engine.data
    for spec, table in zip(ANNEXES, doc.tables):
        cols = [c for c in spec.columns if c.printed]
        res = data.result(spec.sheet)
        body = cell_texts(table, spec.header_rows)
        departments = [r for r in body if r[0].isdigit()]
        assert [r[0] for r in departments] == [str(i) for i in range(1, len(res.ordered) + 1)], spec.sheet
        for row, rec in zip(departments, res.ordered):
            for j, col in enumerate(cols):
                if col.role == "name":
                    assert row[j] in (rec["_label"], ""), (spec.sheet, rec["_label"])
                elif col.role != "index":
                    assert row[j] == shown(col, rec.get(col.name)), (spec.sheet, rec["_label"], col.name)
        total_label = spec.total.label.format(district="殷都区")
        totals = [r for r in body if total_label in r]
        assert len(totals) == 1, spec.sheet
        for j, col in enumerate(cols):
            if col.role not in ("index", "name", "key") and col.type != "text":
                assert totals[0][j] == shown(col, res.total.get(col.name)), (spec.sheet, col.name)
        where = body.index(totals[0])
        assert where == (len(body) - 1 if spec.total.position == "bottom" else len(res.references)), spec.sheet


def test_tables_match_the_printed_june_figures(rendered):
    _, _, doc = rendered
    a1, a5, a6, a8 = (cell_texts(doc.tables[i - 1], ANNEXES[i - 1].header_rows) for i in (1, 5, 6, 8))
    assert a1[0] == ["", "合计", "1644", "100.00%", "1031", "62.71%"]
    assert a1[1] == ["1", "殷都区文广体旅局", "161", "100.00%", "161", "100.00%"]
    assert a1[22][1:] == ["殷都区公安分局", "143", "100.00%", "64", "44.76%"]  # printed 44.44%: recomputed
    assert a5[0][1:5] == ["安阳市", "4234", "2018", "47.66%"] and a5[0][-1] == "45.39%"
    assert a5[1][1:5] == ["殷都区", "383", "79", "20.63%"] and a5[1][-1] == "27.46%"
    assert a6[-1] == ["", "总计", "88300", "205762", "1816"]  # printed 90402, the rows add up to 88300
    assert [r[1] for r in (a8[22], a8[24])] == ["小计", "中国人寿"]
    assert a8[23] == ["公共服务单位"]  # the section line, one cell across the table
    assert a8[22][2:4] == ["105", "49"] and a8[-1][1:4] == ["合计", "118", "52"]
    assert a8[-1][5] == "121.5" and a8[-1][-1] == "713.8"


def test_header_rows_repeat_on_every_page_and_annex5_header_is_merged(rendered):
    _, _, doc = rendered
    for spec, table in zip(ANNEXES, doc.tables):
        rows = table._tbl.tr_lst
        repeat = [tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None for tr in rows]
        assert repeat == [True] * spec.header_rows + [False] * (len(rows) - spec.header_rows), spec.sheet
    head = cell_texts(doc.tables[4], 0)[:3]
    assert head[0][:6] == ["序号", "区划/部门", "事项主项数", "主项覆盖数", "主项覆盖率", "子项数"]
    assert "行政检查" in head[1] and "行政处罚" in head[1] and head[2].count("个数") == 4
    spans = [tc.tcPr.find(qn("w:gridSpan")) for tc in doc.tables[4]._tbl.tr_lst[0].tc_lst]
    assert 12 in [int(s.get(W)) for s in spans if s is not None]  # 子项数 over 4 × 3 columns


def fill_of(tr) -> str:
    shd = tr.tc_lst[0].tcPr.find(qn("w:shd"))
    return "" if shd is None else shd.get(qn("w:fill"))


def test_laggard_rows_are_shaded_by_status(rendered):
    _, engine, doc = rendered
    statuses = engine.analysis.assessment.statuses
    for spec, table in zip(ANNEXES, doc.tables):
        res = engine.data.result(spec.sheet)
        rows = [tr for tr in table._tbl.tr_lst[spec.header_rows:]
                if "".join(t.text or "" for t in tr.tc_lst[0].iter(qn("w:t"))).isdigit()]
        for tr, rec in zip(rows, res.ordered):
            status = statuses[spec.sheet][rec["部门"]].status
            assert fill_of(tr) == {"红": "F8CBAD", "黄": "FFE699"}.get(status, "auto"), (spec.sheet, rec["部门"])
    a7 = doc.tables[6]._tbl.tr_lst
    assert fill_of(a7[1 + 3]) == "F8CBAD"  # 公安分局: 第二批网办问题排查 not started


def test_cell_properties_keep_schema_order(rendered):
    _, _, doc = rendered
    order = ["tcW", "gridSpan", "vMerge", "tcBorders", "shd", "noWrap", "tcMar", "textDirection", "vAlign"]
    for tc_pr in doc.element.body.iter(qn("w:tcPr")):
        names = [el.tag.split("}")[1] for el in tc_pr]
        assert names == sorted(names, key=order.index)


def test_annex3_department_cells_are_merged_down(rendered):
    _, _, doc = rendered
    rows = doc.tables[2]._tbl.tr_lst[1:]
    merges = []
    for tr in rows:
        vm = tr.tc_lst[1].tcPr.find(qn("w:vMerge"))
        merges.append(None if vm is None else (vm.get(W) or "continue"))
    assert merges[:8] == [None, "restart"] + ["continue"] * 5 + [None]  # 殷都区, 自然资源局 × 6, 生态环境局


# -- parameters, edits, errors ------------------------------------------------------------------------

def _run_june(tmp_path):
    """The June sample (with 参数) run against May: (workbook, history, out folder, result workbook)."""
    workbook = june_with_params(tmp_path)
    history = history_with_may(tmp_path)
    out = tmp_path / "out"
    actions.run(workbook, out, history=history)
    return workbook, history, out, out / "通报结果-2023-06.xlsx"


def test_staff_edits_in_an_earlier_output_are_printed(tmp_path):
    workbook, history, out, result = _run_june(tmp_path)
    wb = openpyxl.load_workbook(result)
    ws = wb["问题文本"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "存在问题.数据共享")
    row[3].value = "工作人员改写的一段话。\n第二行另起一段。"
    wb.save(result)
    outcome = actions.render(workbook, out, history=history)
    paragraphs = texts(Document(str(outcome.output)))
    i = paragraphs.index("工作人员改写的一段话。")
    assert paragraphs[i - 1] == "（二）数据资源目录少、挂载率低、应用场景不丰富"
    assert paragraphs[i + 1] == "第二行另起一段。"
    assert any("修改后的文本" in n for n in outcome.notes)


@pytest.mark.parametrize("title, lines", [
    ("殷都区政务服务能力提升工作6月份运行情况通报", ["殷都区政务服务能力提升工作", "6月份运行情况通报"]),
    ("殷都区政务服务能力提升工作12月份运行情况通报", ["殷都区政务服务能力提升工作", "12月份运行情况通报"]),
    ("殷都区6月份通报", ["殷都区6月份通报"]),  # fits on one line
    ("殷都区政务服务|能力提升工作6月份运行情况通报", ["殷都区政务服务", "能力提升工作6月份运行情况通报"]),  # as written
    ("关于殷都区政务服务能力提升工作和数据共享工作开展情况及下一步工作安排的通报",
     ["关于殷都区政务服务能力提升工作", "和数据共享工作开展情况", "及下一步工作安排的通报"]),
])
def test_title_lines_keep_words_whole_and_balance_the_lines(title, lines):
    assert title_lines(title, "殷都区") == lines


def test_a_title_break_written_in_the_parameters_is_kept(tmp_path):
    workbook = june_with_params(tmp_path, {**PARAMS, "标题": "{区}政务服务能力提升工作{月}月份｜运行情况通报"})
    outcome = actions.render(workbook, tmp_path / "out", history=history_with_may(tmp_path))
    doc = Document(str(outcome.output))
    title = next(p.text for p in doc.paragraphs if p.style.name == "公文标题")
    assert title == "殷都区政务服务能力提升工作6月份\n运行情况通报"


def test_defaults_fill_placeholders_and_the_sheet_overrides_them():
    settings = DocumentSettings.from_dict({
        "发文机关标志": "X", "发文字号": "殷放管服办〔{发文年}〕　号", "标题": "{区}{年}年{月}月份通报", "主送": "各单位",
        "印发机关": "办公室", "印发日期": "", "状态底色": {"红": "F8CBAD", "黄": "FFE699"}})
    got = resolve_params(settings, {}, month="2023-12", district="殷都区", today=dt.date(2024, 1, 9))
    assert (got["发文字号"], got["标题"], got["印发日期"]) == ("殷放管服办〔2024〕　号", "殷都区2023年12月份通报",
                                                       "2024年1月9日")
    got = resolve_params(settings, {"印发日期": "2024年1月10日", "主送": "  各乡镇  ", "其他参数": 3},
                         month="2023-12", district="殷都区", today=dt.date(2024, 1, 9))
    assert (got["印发日期"], got["主送"]) == ("2024年1月10日", "各乡镇")


@pytest.mark.parametrize("change, named", [
    ({"多余的项": 1}, "多余的项"),
    ({"状态底色": {"红": "red"}}, "状态底色"),
])
def test_document_settings_reject_unknown_keys_and_bad_values(change, named):
    base = {"发文机关标志": "X", "发文字号": "Y", "标题": "Z", "主送": "A", "印发机关": "B", "印发日期": "",
            "状态底色": {"红": "F8CBAD", "黄": "FFE699"}}
    with pytest.raises(DocumentError, match=named):
        DocumentSettings.from_dict({**base, **change})


@pytest.mark.parametrize("params, named", [
    ({"印发日期": "七月十日"}, "印发日期"),
    ({"标题": "{区}{季度}通报"}, "{季度}"),
])
def test_bad_parameters_fail_with_a_chinese_message(tmp_path, params, named):
    workbook = june_with_params(tmp_path, params)
    res = subprocess.run([sys.executable, "-m", "bulletin", "render", str(workbook), "--out", str(tmp_path / "o"),
                          "--history", str(tmp_path / "none.sqlite")], capture_output=True, text=True)
    if named == "印发日期":  # a value no step could use is an input error at its 参数 cell, from `check` on
        assert res.returncode == 1 and "参数" in res.stdout and named in res.stdout and "param.invalid" in res.stdout
    else:
        assert res.returncode == 2 and res.stderr.startswith("错误：") and named in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o" / "通报-2023-06.docx").exists()


def test_a_template_variable_the_engine_does_not_supply_fails_naming_it(tmp_path):
    template = tmp_path / "通报.docx"
    doc = Document(str(TEMPLATE))
    doc.add_paragraph("{{ 未提供的变量 }}")
    doc.save(str(template))
    with pytest.raises(DocumentError, match="未提供的变量"):
        actions.render(SAMPLE, tmp_path / "o", history=tmp_path / "none.sqlite", template=template)
    assert not (tmp_path / "o" / "通报-2023-06.docx").exists()


def test_cli_render_writes_the_document_keeps_a_backup_and_never_touches_the_input(tmp_path):
    workbook = june_with_params(tmp_path)
    before = hashlib.sha256(workbook.read_bytes()).hexdigest()
    args = [sys.executable, "-m", "bulletin", "render", str(workbook), "--out", str(tmp_path / "o")]
    first = subprocess.run(args, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert f"输出文件：{tmp_path / 'o' / '通报-2023-06.docx'}" in first.stdout
    assert "不含环比" in first.stdout  # no history beside the workbook
    second = subprocess.run(args, capture_output=True, text=True)
    assert second.returncode == 0
    assert len(list((tmp_path / "o" / ".backup").glob("通报-2023-06.*.docx"))) == 1
    assert hashlib.sha256(workbook.read_bytes()).hexdigest() == before


def test_cli_render_refuses_input_with_errors(tmp_path):
    workbook, _ = edit_sample(tmp_path, [("附件1", "殷都区交通局", "事项总数", "八十九")])
    res = subprocess.run([sys.executable, "-m", "bulletin", "render", str(workbook), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "不能生成通报文档" in res.stdout
    assert not (tmp_path / "o").exists()


def test_cli_pdf_without_libreoffice_says_so(tmp_path):
    venv_bin = str(ROOT / ".venv" / "bin") if (ROOT / ".venv" / "bin").exists() else str(tmp_path)
    env = {"PATH": venv_bin, "HOME": str(tmp_path)}  # a PATH on which there is no LibreOffice
    assert shutil.which("soffice", path=venv_bin) is None
    res = subprocess.run([sys.executable, "-m", "bulletin", "render", str(SAMPLE), "--out", str(tmp_path / "o"),
                          "--history", str(tmp_path / "none.sqlite"), "--pdf"], capture_output=True, text=True,
                         env=env)
    assert res.returncode == 2 and "未找到 LibreOffice" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "o" / "通报-2023-06.docx").exists()  # the Word file is there all the same


def test_statuses_staff_confirmed_in_the_result_workbook_are_printed(tmp_path):
    """税务局 set from 红 to 绿 in the run's result workbook: the document rendered from the input workbook
    no longer names it under 时限压缩 and no longer shades its 附件2 row."""
    workbook, history, out, result = _run_june(tmp_path)
    wb = openpyxl.load_workbook(result)
    ws = wb["附件2"]
    head = [c.value for c in ws[2]]
    status_col = head.index("状态") + 1
    row = next(r[0].row for r in ws.iter_rows(min_row=3) if r[1].value == "税务局")
    assert ws.cell(row, status_col).value == "红"
    ws.cell(row, status_col).value = "绿"
    wb.save(result)
    outcome = actions.render(workbook, out, history=history)
    doc = Document(str(outcome.output))
    body = "\n".join(texts(doc))
    assert "如：公安分局，6月份" in body and "如：税务局" not in body
    a2 = doc.tables[1]._tbl.tr_lst
    tax = next(tr for tr in a2 if "税务局" in "".join(t.text or "" for t in tr.iter(qn("w:t"))))
    police = next(tr for tr in a2 if "公安分局" in "".join(t.text or "" for t in tr.iter(qn("w:t"))))
    assert fill_of(tax) == "auto" and fill_of(police) == "F8CBAD"
