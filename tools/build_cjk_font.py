"""Builds the CJK font shipped with the package (python/bulletin/fonts/), used by the charts where no installed
font can draw their Chinese text (a machine without CJK fonts, e.g. a fresh Linux or CI box).

The font is a subset of Debian's Noto Sans CJK SC Regular (package fonts-noto-cjk, SIL OFL 1.1) holding
  - ASCII, Latin-1, general punctuation and the CJK symbol block,
  - every character of GB 2312 (all 6763 hanzi and its punctuation and symbols),
  - every character the project itself uses: templates/, python/bulletin/data/ (registry, messages, chart
    titles, settings) and the Python sources (spec labels, messages written in code).
It is renamed "Noto Sans CJK SC Bulletin" (a modified version under the OFL gets its own name, and a distinct
family never shadows a full Noto Sans CJK SC that is installed) and written with a fixed timestamp, so the same
inputs give the same bytes.

Usage (needs fonts-noto-cjk: apt-get install fonts-noto-cjk):
    .venv/bin/python tools/build_cjk_font.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
Run it again after adding a department or a message with a character outside GB 2312; tests/test_fonts.py
fails until then, naming the character.
"""
from __future__ import annotations

import argparse
import sys
import unicodedata
import zipfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from bulletin.resources import BUNDLED_FONT, BUNDLED_FONT_FAMILY  # noqa: E402

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
POSTSCRIPT_NAME = BUNDLED_FONT_FAMILY.replace(" ", "") + "-Regular"
# ASCII, Latin-1, general punctuation, circled numbers, CJK symbols, full-width forms (what the source lacks of
# these blocks is left out silently)
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2010, 0x205E), (0x2460, 0x24FF), (0x3000, 0x303F), (0xFF01, 0xFF5E)]
HEAD_TIMESTAMP = 0x00000000E0000000  # a fixed head.created/modified (seconds since 1904) for reproducible bytes


def gb2312() -> set[str]:
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def _text_of(path: Path) -> str:
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return ""  # a binary file holds no text we draw


def project_chars() -> set[str]:
    """Every character of the templates, the data files and the package's Python sources."""
    files = [p for folder in (ROOT / "templates", ROOT / "python" / "bulletin") for p in folder.rglob("*")
             if p.is_file() and p.parent.name != "fonts" and "__pycache__" not in p.parts]
    return {c for p in files for c in _text_of(p)}


def drawable(chars: set[str]) -> set[str]:
    return {c for c in chars if c == " " or not (c.isspace() or unicodedata.category(c).startswith("C"))}


def source_face(path: Path) -> TTFont:
    for number in range(64):
        font = TTFont(path, fontNumber=number, recalcTimestamp=False)
        if font["name"].getDebugName(1) == SOURCE_FAMILY:
            return font
    raise SystemExit(f"{path} 中没有 {SOURCE_FAMILY}")


def rename(font: TTFont) -> None:
    version = font["name"].getDebugName(5)
    names = {1: BUNDLED_FONT_FAMILY, 2: "Regular", 3: f"{POSTSCRIPT_NAME};{version}", 4: BUNDLED_FONT_FAMILY,
             6: POSTSCRIPT_NAME, 16: BUNDLED_FONT_FAMILY, 17: "Regular"}
    table = font["name"]
    table.names = [n for n in table.names if n.nameID not in names]
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    table.setName(f"Subset of {SOURCE_FAMILY} Regular ({version}) built by tools/build_cjk_font.py", 10, 3, 1,
                  0x409)
    cff = font["CFF "].cff
    cff.fontNames = [POSTSCRIPT_NAME]
    top = cff[POSTSCRIPT_NAME]
    top.FullName = top.FamilyName = BUNDLED_FONT_FAMILY
    font["head"].created = font["head"].modified = HEAD_TIMESTAMP


def build(source: Path, out: Path) -> tuple[int, list[str]]:
    font = source_face(source)
    cmap = font.getBestCmap()
    ours = drawable(project_chars())
    missing = sorted(c for c in ours if ord(c) not in cmap)  # reported: the project uses them
    chars = ours | drawable(gb2312() | {chr(c) for a, b in RANGES for c in range(a, b + 1)})
    options = subset.Options()
    options.drop_tables += ["BASE", "VORG", "vhea", "vmtx", "GSUB", "GPOS", "GDEF"]  # horizontal, unshaped text
    options.hinting = False  # charts are drawn at 150 dpi with hinting off; saves about a third
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars if ord(c) in cmap))
    subsetter.subset(font)
    rename(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    font.save(tmp)
    tmp.replace(out)
    return len(font.getBestCmap()), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=BUNDLED_FONT)
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"找不到 {args.source}：请先安装 fonts-noto-cjk（apt-get install fonts-noto-cjk）。", file=sys.stderr)
        return 2
    count, missing = build(args.source, args.out)
    print(f"{args.out}: {count} characters, {args.out.stat().st_size / 1e6:.2f} MB")
    if missing:
        print(f"used by the project but not in {SOURCE_FAMILY} (left out): {''.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
