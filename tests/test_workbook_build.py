"""bulletin.xlsm, built from source and checked without Excel: VBA read back by olevba, buttons bound to our
Subs, RunPython strings resolving to real functions, openpyxl round trips, LibreOffice, and not stale."""
from __future__ import annotations

import importlib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
from oletools.olevba import VBA_Parser, VBA_Project

from bulletin.adapters.workbook_layout import BUTTONS
from bulletin.build.workbook import build, vba_sources
from bulletin.cli import main
from conftest import ROOT, require_tool

MASTER = ROOT / "bulletin.xlsm"
VML = re.compile(r"<v:shape .*?</v:shape>", re.S)
RUNPYTHON = re.compile(r'RunPython "import (bulletin\.excel) as x; x\.(\w+)\(')


def vba_of(path: Path) -> dict[str, str]:
    """Module name -> source, as olevba extracts it."""
    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


def buttons_of(path: Path) -> list[tuple[str, str]]:
    """(caption, macro) of every form button on the first sheet (its legacy VML drawing)."""
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        vml = re.search(r'Target="/?([^"]*vmlDrawing\d+\.vml)"', rels)
        text = z.read(vml.group(1).replace("../", "xl/")).decode() if vml else ""
    out = []
    for shape in VML.findall(text):
        if 'ObjectType="Button"' in shape:
            caption = re.sub(r"<[^>]+>", "", re.search(r"<v:textbox.*?</v:textbox>", shape, re.S).group(0)).strip()
            out.append((caption, re.search(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", shape).group(1)))
    return out


def normalise(code: str) -> str:
    return code.replace("\r\n", "\n").strip()


def test_vba_equals_the_bas_sources():
    found = vba_of(MASTER)
    for name, source in vba_sources().items():
        assert normalise(found[name]) == normalise(source)
    assert "Module1" not in found  # the template's SampleCall (module named after the workbook) is gone
    assert "XLWINGS_VERSION As String = \"0.37.8\"" in found["xlwings"]


def test_bas_sources_are_ascii_with_crlf():
    for path in (ROOT / "vba").glob("*.bas"):
        raw = path.read_bytes()
        raw.decode("ascii")
        assert raw.count(b"\r\n") == raw.count(b"\n")


def test_vba_project_carries_no_compiled_cache():
    with zipfile.ZipFile(MASTER) as z:
        ole = olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))
    streams = ["/".join(e) for e in ole.listdir()]
    assert not [s for s in streams if "__SRP_" in s]
    assert ole.get_size("VBA/_VBA_PROJECT") == 7  # header only: Excel compiles from source
    project = VBA_Project(ole, "", "PROJECT", "VBA/dir")
    project.parse_project_stream()
    for module in project.parse_modules():
        pass
    offsets = {m.name: m.textoffset for m in project.modules}
    assert offsets and all(v == 0 for v in offsets.values()), offsets


def test_every_button_runs_a_sub_of_our_module():
    buttons = buttons_of(MASTER)
    assert [b[0] for b in buttons] == [caption for caption, _sub, _fn in BUTTONS]
    subs = set(re.findall(r"^Public Sub (\w+)\(\)", vba_of(MASTER)["Bulletin"], re.M))
    for caption, macro in buttons:
        assert macro.split("!")[-1] in subs, caption


def test_every_runpython_resolves_to_a_real_function():
    calls = RUNPYTHON.findall(vba_of(MASTER)["Bulletin"])
    assert len(calls) == len(BUTTONS)
    for module, function in calls:
        assert callable(getattr(importlib.import_module(module), function))
    assert "ThisWorkbook.Name" not in vba_of(MASTER)["Bulletin"]  # never the module-named-after-the-file way


def test_sheets_in_order():
    wb = openpyxl.load_workbook(MASTER, keep_vba=True)
    assert wb.sheetnames[:15] == ["控制台", "总体情况", *(f"附件{i}" for i in range(1, 9)), "部门", "参数", "文字素材",
                                  "问题文本", "校验结果"]
    assert wb["_xlwings.conf"].sheet_state == "hidden"
    with zipfile.ZipFile(MASTER) as z:
        assert "macroEnabled" in z.read("[Content_Types].xml").decode()


def test_openpyxl_round_trip_keeps_vba_bytes_and_buttons(tmp_path):
    copy = tmp_path / "copy.xlsm"
    wb = openpyxl.load_workbook(MASTER, keep_vba=True)
    wb["总体情况"]["B2"] = "2023-06"
    wb.save(copy)
    with zipfile.ZipFile(MASTER) as a, zipfile.ZipFile(copy) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
    assert buttons_of(copy) == buttons_of(MASTER)


def test_in_place_run_keeps_vba_and_buttons_and_a_backup(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from test_ports_contract import paste_june

    book = paste_june(tmp_path / "2023年6月通报.xlsm")
    before = book.read_bytes()
    assert main(["recalc", str(book), "--in-place"]) == 0
    backups = list((tmp_path / "备份").glob("2023年6月通报.备份-*.xlsm"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    with zipfile.ZipFile(MASTER) as a, zipfile.ZipFile(book) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
    assert buttons_of(book) == buttons_of(MASTER)
    wb = openpyxl.load_workbook(book)
    assert wb["附件1"]["F3"].value == pytest.approx(0.6271)
    assert not list(tmp_path.glob(".*.partial"))


def test_not_stale_against_its_sources(tmp_path):
    fresh = build(tmp_path / "fresh.xlsm")
    assert vba_of(fresh) == vba_of(MASTER)
    assert buttons_of(fresh) == buttons_of(MASTER)
    a, b = openpyxl.load_workbook(fresh), openpyxl.load_workbook(MASTER)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        cells = lambda ws: [(c.coordinate, c.value, c.number_format, c.fill.fgColor.rgb) for row in ws.iter_rows()
                            for c in row]
        assert cells(a[name]) == cells(b[name]), f"{name}：请运行 make workbook 重新生成 bulletin.xlsm"
        assert dict(a[name].tables.items()) == dict(b[name].tables.items())


@require_tool("LibreOffice", shutil.which("soffice"), "apt-get install libreoffice-calc")
def test_libreoffice_opens_and_converts_it(tmp_path):
    res = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to",
                          "pdf", "--outdir", str(tmp_path), str(MASTER)], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "bulletin.pdf"
    assert res.returncode == 0 and pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(pdf).pages[:3])
    assert "控制台" in text and "使用步骤" in text


def test_in_place_recalc_refreshes_the_overview_after_the_console(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from test_ports_contract import paste_june

    book = paste_june(tmp_path / "2023年6月通报.xlsm")
    assert main(["recalc", str(book), "--in-place"]) == 0
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[:2] == ["控制台", "总览"]
    assert len(wb["总览"]._charts) >= 6  # one bar chart per annex ratio; no history: no trend charts
    assert buttons_of(book) == buttons_of(MASTER)
