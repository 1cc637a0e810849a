"""The 通报 rendered to PDF by real LibreOffice with the repo's fontconfig file: A4 pages, landscape pages for
annexes 5 and 8, the key lines, "— 1 —", and every CJK character drawn with a font that has CJK glyphs
(a fallback font without them prints boxes). Skips only where LibreOffice is absent, and fails there with CI=true
(conftest.require_tool)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from bulletin import actions
from bulletin.adapters.pdf_libreoffice import FONTS_CONF, soffice
from bulletin.spec import ANNEXES
from conftest import require_tool
from document_fixtures import history_with_may, june_with_params

pytestmark = require_tool("LibreOffice", soffice(), "apt-get install libreoffice-writer")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
A4 = (595.3, 841.9)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    workbook = june_with_params(folder)
    outcome = actions.render(workbook, folder / "out", history=history_with_may(folder), pdf=True)
    path = folder / "out" / "通报-2023-06.pdf"
    assert outcome.extra["pdf"] == str(path) and path.exists()
    return PdfReader(str(path)), path


def test_pages_are_a4_and_wide_annexes_are_landscape(pdf):
    reader, _ = pdf
    sizes = [(round(float(p.mediabox.width), 1), round(float(p.mediabox.height), 1)) for p in reader.pages]
    assert set(sizes) <= {A4, A4[::-1]}
    texts = [p.extract_text() for p in reader.pages]
    for spec in ANNEXES:
        first = next(i for i, t in enumerate(texts) if t.lstrip().startswith(f"附件{spec.number}\n"))
        assert (sizes[first] == A4[::-1]) == spec.landscape, spec.sheet
    assert 10 <= len(sizes) <= 30


def test_key_lines_and_page_numbers_are_in_the_pdf(pdf):
    reader, _ = pdf
    pages = [p.extract_text() for p in reader.pages]
    flat = re.sub(r"\s+", "", "".join(pages))
    for line in ("殷放管服办〔2023〕18号", "殷都区政务服务能力提升工作6月份运行情况通报", "各区直有关部门、放管服改革成员单位：",
                 "一、总体情况", "二、存在问题", "三、下步工作要求", "即办件占比为62.71%，较5月份降低2.51%",
                 "附件：1.殷都区不见面审批、即办件情况统计表", "2023年7月10日印发",
                 *(a.title_for("殷都区") for a in ANNEXES)):
        assert line in flat, line
    assert "— 1 —" in pages[0]
    # the title on two lines broken where GB/T 9704 asks (…能力提升工作 / 6月份运行情况通报)
    lines = [re.sub(r"\s+", "", ln) for ln in pages[0].splitlines()]
    assert "殷都区政务服务能力提升工作" in lines and "6月份运行情况通报" in lines, lines[:8]
    assert f"— {len(pages)} —" in pages[-1]


def cjk_capable_fonts() -> set[str]:
    """PostScript names of the installed fonts that cover Chinese, as fontconfig sees them for the run."""
    out = subprocess.run(["fc-list", ":lang=zh", "postscriptname"], capture_output=True, text=True, check=True,
                         env={"FONTCONFIG_FILE": str(FONTS_CONF), "PATH": "/usr/bin:/bin"}).stdout
    return {line.split("=", 1)[1].strip() for line in out.splitlines() if "=" in line}


@require_tool("LibreOffice and poppler-utils (pdffonts)", soffice() and shutil.which("pdffonts"),
              "apt-get install libreoffice-writer poppler-utils")
def test_every_cjk_character_is_drawn_with_a_cjk_font(pdf):
    reader, path = pdf
    capable = cjk_capable_fonts()
    assert capable, "fontconfig lists no Chinese font"
    used: dict[str, str] = {}

    def visit(text, cm, tm, font, size):
        if font is not None and CJK.search(text or ""):
            name = str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1]
            used.setdefault(name, text)

    for page in reader.pages:
        page.extract_text(visitor_text=visit)
    assert used
    wrong = {name: sample for name, sample in used.items() if not any(name.startswith(ps) for ps in capable)}
    assert not wrong, f"CJK text drawn with fonts lacking CJK glyphs: {wrong}"
    # the official faces were substituted as mapped: 仿宋 body, 小标宋 titles, 黑体 and 楷体 headings
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    for face in ("FandolFang", "NotoSerifCJK", "NotoSansCJK", "UKai", "LiberationSerif"):
        assert face in fonts, face
    assert "DejaVu" not in fonts  # fontconfig's last-resort fallback
