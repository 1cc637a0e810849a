"""Where the package's own files are, in a source tree (editable install, xlwings' PYTHONPATH) and in a
non-editable install alike.

templates/ lives at the repository root, where staff edit it; a wheel carries a copy of it as
bulletin/_templates (setup.py), so the source tree's folder wins when there is one and the packaged copy is used
otherwise. The data files, the bundled CJK font and LibreOffice's fonts.conf are package data.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
FONTS_DIR = PACKAGE_DIR / "fonts"
# Subset of Noto Sans CJK SC (SIL OFL, FONTS_DIR/OFL.txt) built by tools/build_cjk_font.py: the charts' font
# where no installed font covers their text.
BUNDLED_FONT = FONTS_DIR / "NotoSansCJKsc-Bulletin.otf"
BUNDLED_FONT_FAMILY = "Noto Sans CJK SC Bulletin"
FONTS_CONF = PACKAGE_DIR / "adapters" / "fonts.conf"  # the LibreOffice run's fontconfig file


def _source_root() -> Path | None:
    """The repository when the package is imported from its python/ folder, else None (an installed copy)."""
    root = PACKAGE_DIR.parents[1]
    return root if PACKAGE_DIR == root / "python" / "bulletin" and (root / "templates").is_dir() else None


SOURCE_ROOT = _source_root()
TEMPLATES_DIR = SOURCE_ROOT / "templates" if SOURCE_ROOT else PACKAGE_DIR / "_templates"
