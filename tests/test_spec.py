"""Spec declarations are checked against known keys and known columns."""
import copy

import pytest

from bulletin.spec import ANNEX_DECLARATIONS, ANNEXES, AnnexSpec, SpecError


def _decl(n=1):
    return copy.deepcopy(ANNEX_DECLARATIONS[n - 1])


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(sortt=[]), "unknown key"),
    (lambda d: d["columns"][2].update(requird=True), "unknown key"),
    (lambda d: d["columns"][2].update(type="integer"), "not one of"),
    (lambda d: d["columns"][5]["formula"].update(num=["即办件数"]), "unknown column"),
    (lambda d: d.update(sort=[("占比", "desc")]), "unknown column"),
    (lambda d: d["checks"].append({"rule": "part_le_whole", "part": "x", "whole": "事项总数"}), "unknown column"),
    (lambda d: d["checks"].append({"rule": "less_than"}), "unknown rule"),
    (lambda d: d.update(total={"label": "合计", "position": "middle"}), "not one of"),
])
def test_a_typo_in_a_spec_is_an_error(mutate, match):
    d = _decl()
    mutate(d)
    with pytest.raises(SpecError, match=match):
        AnnexSpec.from_dict(d)


def test_the_model_covers_eight_annexes():
    assert [a.sheet for a in ANNEXES] == [f"附件{i}" for i in range(1, 9)]
    assert ANNEXES[1].column("压缩比例").formula.describe() == "(法定时限（工作日） − 承诺时限（工作日）) / 法定时限（工作日）"
    assert ANNEXES[4].header_rows == 3 and ANNEXES[4].reference_rows == ("city",)
