"""The department registry: every spelling the June bulletin uses resolves to one department."""
import pytest

from bulletin.config import load_registry
from bulletin.core.registry import Registry, UnknownDepartment

# department (the registry's 部门) -> spellings the June bulletin and the offices use for it
SAME_BODY = [
    ("交通局", ("殷都区交通局", "区交通运输局", "交通局", "交通运输局")),
    ("退役军人事务局", ("殷都区退役军人事务局", "退役军人事务局", "退役军人局")),
    ("公安分局", ("殷都区公安分局", "公安分局", "公安局", "区公安局")),
    ("生态环境局", ("生态环境局殷都分局", "生态环境分局", "生态环境局", "殷都区生态环境局", "区生态环境局")),
    ("人社局", ("人社局", "人力资源和社会保障局", "区人社局", "殷都区人社局")),
    ("金融局", ("金融局", "金融办", "区金融办", "殷都区金融局")),
    ("残联", ("残联", "残疾人联合会", "殷都区残疾人联合会", "殷都区残联")),
    ("应急管理局", ("应急局", "应急管理局", "殷都区应急管理局", "区应急管理局")),
    ("城市管理局", ("城管局", "城市管理局", "殷都区城市管理局", "区城管局")),
    ("医保局", ("区医疗保障局", "医保局", "殷都区医保局")),
    ("市场监管殷都大队", ("市场监管 殷都大队", "市场监管殷都大队")),
    ("房管分局", ("房管局", "房管分局", "殷都区房管分局")),
]


@pytest.mark.parametrize("department, spellings", SAME_BODY, ids=lambda s: s if isinstance(s, str) else "")
def test_spellings_resolve_to_their_department(department, spellings):
    registry = load_registry()
    assert [registry.resolve(s) for s in spellings] == [department] * len(spellings)


def test_short_names_are_what_the_text_uses():
    registry = load_registry()
    assert registry.short(registry.resolve("区金融办")) == "金融办"
    assert registry.short(registry.resolve("殷都区城市管理局")) == "城管局"
    assert registry.short(registry.resolve("区公安局")) == "公安分局"


def test_unknown_name_is_not_guessed():
    with pytest.raises(UnknownDepartment):
        load_registry().resolve("殷都区档案馆")


def test_registry_refuses_an_alias_given_to_two_departments():
    columns = ["部门", "简称", "全称", "别名", "类别"]
    rows = [dict(zip(columns, r)) for r in (["甲局", "甲局", "", "乙", "区直部门"], ["丙局", "丙局", "", "乙", "区直部门"])]
    with pytest.raises(ValueError, match="乙"):
        Registry.from_rows(rows)


def test_stored_pinyin_matches_pypinyin():
    from bulletin.core.registry import pinyin_of

    for d in load_registry().departments:
        assert d.pinyin == pinyin_of(d.short), d.short
