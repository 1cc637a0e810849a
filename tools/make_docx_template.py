"""Regenerates the default Word template templates/通报.docx (docxtpl: Jinja2 tags inside the .docx).

Usage: python tools/make_docx_template.py [-o templates/通报.docx]   (or `make docx-template`)

The shipped template is the one staff edit in Word/WPS (wording of the fixed paragraphs, styles, table
look); this script is how its default is made, so every style and measure is reviewable here. Layout
follows GB/T 9704-2012: A4, margins 37/35/28/26 mm (版心 156 × 225 mm), 22 lines × 28 characters, title
2号 方正小标宋简体, body 3号 仿宋_GB2312, 一、 headings 黑体, （一） headings 楷体_GB2312, Latin and
digits Times New Roman, page numbers "— 1 —" in 4号 宋体 (odd pages right, even pages left). Fonts are
set on the east-Asian slot (w:eastAsia) of every style and theme fonts are removed, or Word substitutes
them. Regenerating overwrites staff edits: commit the result and review the diff in Word.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from bulletin.core.tables import printed_columns, table_header  # noqa: E402
from bulletin.spec import ANNEXES, AnnexSpec, Column  # noqa: E402

OUT = ROOT / "templates" / "通报.docx"
LATIN = "Times New Roman"
RED = RGBColor(0xFF, 0x00, 0x00)
# GB/T 9704 sizes (号 -> pt) and the page.
SIZE = {"一号": 26, "二号": 22, "三号": 16, "四号": 14, "五号": 10.5, "小五": 9}
PAGE_W, PAGE_H = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
# Landscape annex pages keep the same 版心 (225 × 156 mm) turned by a quarter.
LANDSCAPE_MARGINS = {"top": Mm(28), "bottom": Mm(26), "left": Mm(37), "right": Mm(35)}
BODY_W, LANDSCAPE_BODY_W = Mm(156), Mm(225)
LINE = Pt(28.95)  # 225 mm / 22 lines
CHAR = Pt(16)  # one 3号 character: indents are counted in characters
CHAR_SPACING = -0.25  # pt per character: 28 characters of 3号 fit the 156 mm line

# Paragraph styles: name (as staff see it in Word), id, east-Asian font, size, and paragraph settings.
# align: left/center/right/justify; indent: first-line indent in characters; line: exact spacing (pt)
# or None for single spacing.
STYLES = [
    dict(name="发文机关标志", id="IssuerMark", font="方正小标宋简体", size=SIZE["一号"], align="center",
         line=40, color=RED, before=0, after=0),
    dict(name="发文字号", id="DocNumber", font="仿宋_GB2312", size=SIZE["三号"], align="center", before=28.95,
         after=6, red_rule=True),
    dict(name="公文标题", id="DocTitle", font="方正小标宋简体", size=SIZE["二号"], align="center", line=35,
         before=57.9, after=28.95),
    dict(name="主送机关", id="Recipients", font="仿宋_GB2312", size=SIZE["三号"], align="justify", indent=0),
    dict(name="一级标题", id="Heading1Zh", font="黑体", size=SIZE["三号"], align="justify", indent=2,
         keep_next=True),
    dict(name="二级标题", id="Heading2Zh", font="楷体_GB2312", size=SIZE["三号"], align="justify", indent=2,
         keep_next=True),
    dict(name="附件说明", id="AnnexList", font="仿宋_GB2312", size=SIZE["三号"], align="left", annex_list=True),
    dict(name="附件标识", id="AnnexMark", font="黑体", size=SIZE["三号"], align="left", indent=0, keep_next=True),
    dict(name="附件标题", id="AnnexTitle", font="方正小标宋简体", size=SIZE["二号"], align="center", line=35,
         before=14.5, after=14.5, keep_next=True),
    # tables: exact spacing too, roomy enough for any CJK face's ascent and descent
    dict(name="表头", id="TableHead", font="黑体", size=SIZE["五号"], align="center", line=15),
    dict(name="表格文字", id="TableText", font="仿宋_GB2312", size=SIZE["五号"], align="center", line=15),
    dict(name="表头（小）", id="TableHeadSmall", font="黑体", size=SIZE["小五"], align="center", line=13),
    dict(name="表格文字（小）", id="TableTextSmall", font="仿宋_GB2312", size=SIZE["小五"], align="center",
         line=13),
    dict(name="页码", id="PageNumber", font="宋体", size=SIZE["四号"], align="right", line=None),
    dict(name="版记", id="Imprint", font="仿宋_GB2312", size=SIZE["四号"], align="left", line=None, before=6,
         after=0),
    dict(name="分节", id="SectionBreak", font="仿宋_GB2312", size=1, align="left", line=1),
]
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
         "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")

INTRO = ("根据省、市、区“放管服”改革协调小组关于做好一体化政务服务能力提升工作部署，各政务服务部门积极采取有效措施，"
         "稳步推进政务服务工作，政务服务能力有较大提升，但也存在一些问题。现将截至{{ year }}年{{ month }}月份"
         "（统计数据截止{{ cutoff }}）各政务服务部门一体化政务服务能力提升工作情况通报如下：")
SECTIONS = (("一、总体情况", "overview"), ("二、存在问题", "problems"), ("三、下步工作要求", "requirements"))


# -- fonts and styles ---------------------------------------------------------------------------

def set_fonts(rpr, east_asia: str, latin: str = LATIN) -> None:
    """Explicit fonts on every slot (ascii/hAnsi/cs Latin, eastAsia Chinese) and no theme fonts."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def strip_theme_fonts(doc) -> None:
    for fonts in doc.styles.element.iter(qn("w:rFonts")):
        for attr in THEME_ATTRS:
            fonts.attrib.pop(qn(attr), None)


def set_defaults(doc) -> None:
    """Document defaults: 仿宋_GB2312 3号, Chinese language, no theme fonts."""
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    set_fonts(rpr, "仿宋_GB2312")
    for tag in ("w:sz", "w:szCs", "w:lang"):
        old = rpr.find(qn(tag))
        if old is not None:
            rpr.remove(old)
    for tag in ("w:sz", "w:szCs"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), str(int(SIZE["三号"] * 2)))
        rpr.append(el)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")
    rpr.append(lang)


def chars_indent(ppr, first_chars: float = 0, left_chars: float = 0, hanging_chars: float = 0) -> None:
    """Indents in characters (w:*Chars, what Word's 字符 unit writes) with the twips equivalent beside."""
    ind = ppr.find(qn("w:ind"))
    if ind is None:
        ind = OxmlElement("w:ind")
        ppr.append(ind)
    twips = lambda n: str(int(round(n * CHAR.pt * 20)))  # noqa: E731
    if left_chars:
        ind.set(qn("w:leftChars"), str(int(left_chars * 100)))
        ind.set(qn("w:left"), twips(left_chars))
    if hanging_chars:
        ind.set(qn("w:hangingChars"), str(int(hanging_chars * 100)))
        ind.set(qn("w:hanging"), twips(hanging_chars))
    elif first_chars:
        ind.set(qn("w:firstLineChars"), str(int(first_chars * 100)))
        ind.set(qn("w:firstLine"), twips(first_chars))
    else:
        ind.set(qn("w:firstLineChars"), "0")
        ind.set(qn("w:firstLine"), "0")


def bottom_rule(ppr, color: str = "FF0000", size_eighths: int = 12, sides=("bottom",)) -> None:
    bdr = OxmlElement("w:pBdr")
    for side in sides:
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size_eighths))
        el.set(qn("w:space"), "4")
        el.set(qn("w:color"), color)
        bdr.append(el)
    ppr.append(bdr)


def make_styles(doc) -> None:
    normal = doc.styles["Normal"]
    set_fonts(normal.element.get_or_add_rPr(), "仿宋_GB2312")
    normal.font.size = Pt(SIZE["三号"])
    normal.font.spacing = Pt(CHAR_SPACING)
    pf = normal.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    pf.space_before = pf.space_after = Pt(0)
    pf.widow_control = False  # a page keeps its 22 lines
    chars_indent(normal.element.get_or_add_pPr(), first_chars=2)
    for spec in STYLES:
        style = doc.styles.add_style(spec["name"], WD_STYLE_TYPE.PARAGRAPH)
        style.element.set(qn("w:styleId"), spec["id"])
        style.base_style = normal
        style.quick_style = True
        set_fonts(style.element.get_or_add_rPr(), spec["font"])
        style.font.size = Pt(spec["size"])
        if spec.get("color") is not None:
            style.font.color.rgb = spec["color"]
        if spec["size"] != SIZE["三号"]:
            style.font.spacing = Pt(0)
        pf = style.paragraph_format
        pf.alignment = ALIGN[spec["align"]]
        line = spec.get("line", LINE.pt)
        if line is None:
            pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        else:
            pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(line)
        pf.space_before, pf.space_after = Pt(spec.get("before", 0)), Pt(spec.get("after", 0))
        if spec.get("keep_next"):
            pf.keep_with_next = True
        ppr = style.element.get_or_add_pPr()
        if spec.get("annex_list"):
            # "附件：1.名称" starts 2 characters in; "2." stands under "1."; wrapped names align with
            # the first character of the name: tab stops at 5 characters (the number) and 6 (the name).
            chars_indent(ppr, left_chars=6, hanging_chars=4)
            pf.tab_stops.add_tab_stop(Emu(CHAR * 5))
            pf.tab_stops.add_tab_stop(Emu(CHAR * 6))
        elif "indent" in spec:
            chars_indent(ppr, first_chars=spec["indent"])
        elif spec["font"] != "仿宋_GB2312" or spec["size"] != SIZE["三号"]:
            chars_indent(ppr)
        if spec.get("red_rule"):
            bottom_rule(ppr)
    strip_theme_fonts(doc)


# -- page setup and page numbers ----------------------------------------------------------------

def page_setup(section, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (PAGE_H, PAGE_W) if landscape else (PAGE_W, PAGE_H)
    for side, value in (LANDSCAPE_MARGINS if landscape else MARGINS).items():
        setattr(section, f"{side}_margin", value)
    # the page number's rule line sits 7 mm below the 版心 (GB/T 9704 7.5)
    section.footer_distance = (LANDSCAPE_MARGINS if landscape else MARGINS)["bottom"] - Mm(7) - Pt(SIZE["四号"])
    section.header_distance = Mm(15)


def add_field(paragraph, instruction: str, shown: str) -> None:
    def fld(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    fld("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    fld("separate")
    paragraph.add_run(shown)
    fld("end")


def page_numbers(doc, section) -> None:
    """"— 1 —": odd pages right, even pages left, one character from the edge of the 版心."""
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.style = doc.styles["页码"]
        p.alignment = ALIGN[align]
        if align == "right":
            p.paragraph_format.right_indent = Pt(SIZE["四号"])
        else:
            p.paragraph_format.left_indent = Pt(SIZE["四号"])
        p.add_run("— ")
        add_field(p, "PAGE", "1")
        p.add_run(" —")


# -- body -----------------------------------------------------------------------------------------

def para(doc, text: str = "", style: str | None = None):
    p = doc.add_paragraph(style=doc.styles[style] if style else None)
    if text:
        p.add_run(text)
    return p


def narrative_block(doc, key: str) -> None:
    """One section's paragraphs: a 楷体 heading when the paragraph has one, then its lines."""
    para(doc, f"{{%p for p in {key} %}}")
    para(doc, "{%p if p.heading %}")
    para(doc, "{{ p.heading }}", "二级标题")
    para(doc, "{%p endif %}")
    para(doc, "{%p for line in p.lines %}")
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endfor %}")


def annex_list(doc) -> None:
    para(doc, "{%p for a in annex_list %}")
    p = para(doc, style="附件说明")
    p.add_run("{% if loop.first %}附件：{% else %}")
    p.add_run().add_tab()
    p.add_run("{% endif %}{{ a.number }}.")
    p.add_run().add_tab()
    p.add_run("{{ a.title }}")
    para(doc, "{%p endfor %}")


# -- annex tables ----------------------------------------------------------------------------------

WEIGHTS = {"index": 0.7, "name": 2.6, "key": 4.5, "ratio": 1.5, "count": 1.2, "number": 1.2, "text": 1.5}


def column_widths(cols: list[Column], total: int) -> list[int]:
    weights = [WEIGHTS["index"] if c.role == "index" else WEIGHTS["name"] if c.role == "name"
               else WEIGHTS["key"] if c.role == "key" else WEIGHTS[c.type] for c in cols]
    unit = total / sum(weights)
    widths = [int(w * unit) for w in weights]
    widths[-1] += total - sum(widths)
    return widths


def _tbl_pr_child(tbl, tag: str):
    el = OxmlElement(tag)
    tbl.tblPr.append(el)
    return el


def table_look(table, widths: list[int]) -> None:
    """Fixed layout, centred, thin borders on every cell, narrow cell margins, rows never split."""
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl = table._tbl
    borders = _tbl_pr_child(tbl, "w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    margins = _tbl_pr_child(tbl, "w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), "57")  # 1 mm
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    for gc, w in zip(tbl.tblGrid.gridCol_lst, widths):
        gc.w = Emu(w)
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for cell, w in zip(row.cells, widths):
            cell.width = Emu(w)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def write_cell(cell, text: str, style, bold: bool = False, align=None) -> None:
    p = cell.paragraphs[0]
    p.style = style
    if align is not None:
        p.alignment = align
    run = p.add_run(text)
    if bold:
        run.bold = True


def annex_table(doc, spec: AnnexSpec, i: int, width: int) -> None:
    cols = list(printed_columns(spec))
    small = spec.landscape
    head, text = doc.styles["表头（小）" if small else "表头"], doc.styles["表格文字（小）" if small else "表格文字"]
    depth = spec.header_rows
    var = f"annexes[{i}]"
    # rows: header rows, then docxtpl row tags around the three kinds of body row
    layout = ["{%tr for r in " + var + ".rows %}"]
    if spec.sections:
        layout += ["{%tr if r.kind == 'section' %}", "section", "{%tr elif r.bold %}"]
    else:
        layout += ["{%tr if r.bold %}"]
    layout += ["bold", "{%tr else %}", "plain", "{%tr endif %}", "{%tr endfor %}"]
    table = doc.add_table(rows=depth + len(layout), cols=len(cols))
    widths = column_widths(cols, width)
    table_look(table, widths)
    for r in range(depth):
        table.rows[r]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for h in table_header(spec):
        cell = table.cell(h.row, h.col)
        if h.merged:
            cell = cell.merge(table.cell(h.last_row, h.last_col))
        write_cell(cell, h.text, head)
    for k, kind in enumerate(layout):
        row = table.rows[depth + k]
        if kind == "section":
            cell = row.cells[0].merge(row.cells[-1])
            write_cell(cell, "{{ r.label }}", text, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
        elif kind in ("bold", "plain"):
            for j, cell in enumerate(row.cells):
                write_cell(cell, "{% cellbg r.fill %}{{ r.cells[" + str(j) + "] }}", text, bold=kind == "bold")
        else:
            write_cell(row.cells[0], kind, text)


def annex_pages(doc) -> None:
    for i, spec in enumerate(ANNEXES):
        section = doc.add_section(WD_SECTION.NEW_PAGE)
        # the paragraph python-docx adds to carry the previous section's settings: tiny, so a table
        # that fills its page does not push it onto a blank page
        doc.paragraphs[-1].style = doc.styles["分节"]
        page_setup(section, spec.landscape)
        para(doc, f"附件{{{{ annexes[{i}].number }}}}", "附件标识")
        para(doc, f"{{{{ annexes[{i}].title }}}}", "附件标题")
        width = LANDSCAPE_BODY_W if spec.landscape else BODY_W
        annex_table(doc, spec, i, width)
        if i == len(ANNEXES) - 1:
            imprint(doc, width)


def imprint(doc, width: int) -> None:
    """版记: 印发机关 one character in from the left, 印发日期 one character in from the right, between rules."""
    p = para(doc, style="版记")
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = Pt(SIZE["四号"])
    p.paragraph_format.tab_stops.add_tab_stop(Emu(width - Pt(SIZE["四号"])), WD_TAB_ALIGNMENT.RIGHT)
    bottom_rule(p._p.get_or_add_pPr(), color="000000", size_eighths=8, sides=("top", "bottom"))
    p.add_run("{{ printer }}")
    p.add_run().add_tab()
    p.add_run("{{ print_date }}印发")


def build(out: Path = OUT) -> Path:
    doc = Document()
    doc.core_properties.title = "通报"
    doc.core_properties.author = "通报工作簿"
    set_defaults(doc)
    make_styles(doc)
    first = doc.sections[0]
    page_setup(first, landscape=False)
    page_numbers(doc, first)
    body = doc.paragraphs[0] if doc.paragraphs else None
    if body is not None:  # python-docx's default document starts empty; keep it that way
        body._p.getparent().remove(body._p)
    para(doc, "{{ issuer_mark }}", "发文机关标志")
    para(doc, "{{ doc_number }}", "发文字号")
    para(doc, "{{ title }}", "公文标题")
    para(doc, "{{ recipients }}：", "主送机关")
    para(doc, INTRO)
    for heading, key in SECTIONS:
        para(doc, heading, "一级标题")
        narrative_block(doc, key)
    para(doc)
    annex_list(doc)
    annex_pages(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}")
    doc.save(tmp)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="重新生成默认的通报 Word 模板（会覆盖工作人员对模板的修改）")
    ap.add_argument("-o", "--output", type=Path, default=OUT, help=f"输出文件（默认 {OUT.relative_to(ROOT)}）")
    args = ap.parse_args(argv)
    print(f"已生成模板：{build(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
