"""The CJK font shipped with the package: it covers GB 2312 and every character the project draws, carries its
licence, and the charts fall back to it where no listed font is installed -- also in a process whose matplotlib
sees no font but its own (a machine without CJK fonts)."""
from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager

from bulletin.actions.charts import overview_of
from bulletin.adapters.png_charts import render_pngs
from bulletin.adapters.xlsx_files import read_grids
from bulletin.config import load_registry, load_settings
from bulletin.engine import analyse, compute
from bulletin.resources import BUNDLED_FONT, BUNDLED_FONT_FAMILY, DATA_DIR, FONTS_DIR
from bulletin.spec import ANNEXES, SCALARS

from conftest import ROOT, SAMPLE, charts_without_system_fonts

REBUILD = "run .venv/bin/python tools/build_cjk_font.py (needs fonts-noto-cjk) and commit the font"


@pytest.fixture(scope="module")
def cmap() -> set[int]:
    return set(TTFont(BUNDLED_FONT, lazy=True).getBestCmap())


def _drawable(text: str) -> set[str]:
    return {c for c in text if not c.isspace() and not unicodedata.category(c).startswith("C")}


def _template_texts() -> dict[str, str]:
    texts = {}
    for path in (ROOT / "templates").rglob("*"):
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                texts[str(path)] = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/"))
        elif path.is_file():
            texts[str(path)] = path.read_text(encoding="utf-8")
    return texts


def _spec_labels() -> str:
    district = load_settings().district
    parts = [district, load_settings().city]
    for a in ANNEXES:
        parts += [a.sheet, a.title_for(district), *a.sections, a.subtotal_label or "",
                  a.total.label.format(district=district) if a.total else ""]
        for c in a.columns:
            parts += [c.name, *c.header]
    parts += [s.name for s in SCALARS]
    return "".join(parts)


def test_the_font_has_every_character_of_templates_registry_messages_and_spec_labels(cmap):
    sources = {**_template_texts(), **{str(p): p.read_text(encoding="utf-8-sig") for p in DATA_DIR.iterdir()},
               "spec labels": _spec_labels(),
               "registry": "".join(d.short + d.full + "".join(d.aliases) for d in load_registry().departments)}
    assert len(sources) > 10 and "殷都区" in sources["spec labels"]
    missing = {where: "".join(sorted(c for c in _drawable(text) if ord(c) not in cmap))
               for where, text in sources.items()}
    missing = {where: chars for where, chars in missing.items() if chars}
    assert not missing, f"characters missing from {BUNDLED_FONT.name}: {missing}; {REBUILD}"


def test_the_font_covers_gb2312_and_ascii(cmap):
    gb2312 = set()
    for hi in range(0xB0, 0xF8):  # the hanzi rows: 3755 level-1 and 3008 level-2 characters
        for lo in range(0xA1, 0xFF):
            try:
                gb2312.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    assert len(gb2312) == 6763
    assert gb2312 <= cmap
    assert set(range(0x21, 0x7F)) <= cmap
    assert {ord(c) for c in "，。、；：？！“”‘’（）《》〔〕【】—…·％－０１２３４５６７８９"} <= cmap


def test_the_font_is_renamed_small_and_licensed():
    font = TTFont(BUNDLED_FONT, lazy=True)
    assert font["name"].getDebugName(1) == BUNDLED_FONT_FAMILY  # never shadows an installed Noto Sans CJK SC
    assert "Source" not in font["name"].getDebugName(1)  # Adobe's reserved font name
    assert BUNDLED_FONT.stat().st_size < 3_000_000
    licence = (FONTS_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and BUNDLED_FONT.name in licence


@pytest.fixture(scope="module")
def june_overview():
    data = compute(read_grids(SAMPLE))
    return overview_of(analyse(data, {}), {})


def test_charts_use_the_bundled_font_when_no_listed_font_is_installed(june_overview, tmp_path):
    listed = ["No Such Font SC", "Another Missing Hei"]
    for family in listed:
        with pytest.raises(ValueError):
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    paths, font = render_pngs(june_overview, tmp_path, listed)
    assert (font.family, Path(font.path)) == (BUNDLED_FONT_FAMILY, BUNDLED_FONT)
    assert len(paths) == 6 and all(p.stat().st_size > 10_000 for p in paths)


@pytest.fixture
def installed_font(tmp_path, monkeypatch):
    """A CJK font matplotlib sees as installed (the bundled one under another name), on any machine."""
    font = TTFont(BUNDLED_FONT)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = "Installed Test Hei"
    font.save(tmp_path / "installed.otf")
    monkeypatch.setattr(font_manager.fontManager, "ttflist", list(font_manager.fontManager.ttflist))
    font_manager.fontManager.addfont(tmp_path / "installed.otf")
    yield "Installed Test Hei"
    font_manager.fontManager._findfont_cached.cache_clear()


def test_an_installed_listed_font_still_wins(june_overview, tmp_path, installed_font):
    _, font = render_pngs(june_overview, tmp_path, ["No Such Font SC", installed_font])
    assert font.family == installed_font and Path(font.path) == tmp_path / "installed.otf"


def test_charts_render_on_a_machine_without_cjk_fonts(tmp_path):
    res = charts_without_system_fonts(tmp_path)
    assert res.returncode == 0, res.stderr
    assert "图表图片（字体：Noto Sans CJK SC Bulletin）" in res.stdout
    assert len(list((tmp_path / "png").glob("bar-*.png"))) == 6
    assert "Glyph" not in res.stderr and "missing from font" not in res.stderr
