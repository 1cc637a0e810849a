"""The real June 2023 tables (as extracted from the printed bulletin): every printed ratio and total is
reproduced to 2 dp, and each of the document's self-contradictions is reported with its cell."""
from __future__ import annotations

import math

import pytest

import frames

from bulletin.adapters.tsv_files import read_tsv_folder
from bulletin.adapters.xlsx_files import read_grids
from bulletin.engine import compute

from conftest import REFERENCE, SAMPLE

# Found by reading the document, not by running the engine: 公安分局 printed 44.44% = 64/144 although
# its row says 143 items; the 总计 of 部门报送数据 (90402) is not the sum of its 31 rows (88300).
CONTRADICTIONS_TSV = {("附件1", "F24", "printed.ratio_mismatch"), ("附件6", "C33", "printed.total_mismatch")}
CONTRADICTIONS_XLSX = {("附件1", "F25", "printed.ratio_mismatch"), ("附件6", "C34", "printed.total_mismatch")}


@pytest.fixture(scope="module", params=["tsv", "xlsx"])
def june(request):
    grids = read_tsv_folder(REFERENCE) if request.param == "tsv" else read_grids(SAMPLE)
    return request.param, compute(grids, month="2023-06")


def _same(printed, recomputed) -> bool:
    return round(float(printed), 2) == round(float(recomputed), 2)


def test_only_the_contradictions_are_reported(june):
    kind, data = june
    annex_problems = [p for p in data.problems if p.sheet.startswith("附件")]  # the TSVs carry no 总体情况
    found = {(p.sheet, p.cell, p.rule) for p in annex_problems}
    assert found == (CONTRADICTIONS_TSV if kind == "tsv" else CONTRADICTIONS_XLSX)
    assert all(p.severity == "warning" for p in annex_problems)


def test_every_printed_figure_is_reproduced(june):
    kind, data = june
    flagged = {(p.sheet, p.cell) for p in data.problems}
    compared = 0
    for sheet, inp in data.inputs.items():
        res = data.results[sheet]
        recomputed = {r["_row"]: r for r in frames.rows(res).to_dict("records")}
        for r in frames.rows(inp).to_dict("records"):
            if r["_kind"] in ("department", "reference"):
                target = recomputed[r["_row"]]
            elif r["_kind"] == "total":
                target = res.total
            else:
                target = res.subtotals[r["_section"]]
            for col in inp.spec.value_columns:
                printed = r[col.name]
                if not col.is_numeric or printed is None or (isinstance(printed, float) and math.isnan(printed)):
                    continue
                if (sheet, inp.cell(r["_row"], col.name)) in flagged:
                    assert not _same(printed, target[col.name])
                    continue
                assert _same(printed, target[col.name]), (sheet, r["_label"], col.name)
                compared += 1
    assert compared > 1000  # every annex took part, not a handful of cells


def test_district_figures_quoted_in_the_text(june):
    _, data = june
    assert data.result(1).total["即办件事项占比"] == 62.71
    assert data.result(2).total["压缩比例"] == 92.25
    assert data.result(3).total["证照总量"] == 41327
    assert data.result(4).total["资源挂载率"] == 62.39
    five = data.result(5).total
    assert (five["事项主项数"], five["主项覆盖数"], five["主项覆盖率"], five["子项覆盖率"]) == (383, 79, 20.63, 27.46)
    assert data.result(7).total["完成率"] == 5.5
    assert data.result(5).references["city"]["主项覆盖率"] == 47.66


def test_row_counts_match_the_document(june):
    _, data = june
    counts = {s: len(frames.departments(r)) for s, r in data.results.items()}
    assert counts == {"附件1": 31, "附件2": 31, "附件3": 63, "附件4": 16, "附件5": 25, "附件6": 31,
                      "附件7": 9, "附件8": 29}
    # printed order is reproduced by the spec's sort
    assert list(frames.departments(data.result(1))["_label"])[:2] == ["殷都区文广体旅局", "殷都区交通局"]
    assert list(frames.departments(data.result(2))["_label"])[-1] == "公安分局"
    eight = frames.departments(data.result(8))
    assert list(eight["_section"]).count("公共服务单位") == 7
