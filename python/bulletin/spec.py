"""The bulletin's data model: every annex, every column, every formula, check and total, in one place.

Each annex is declared below as a plain dict (the ANNEX_DECLARATIONS list) and turned into frozen
spec objects by ``AnnexSpec.from_dict``, which rejects unknown keys, unknown column references and
bad values: a typo in a spec is an error at import time, never silence.

Vocabulary
- column ``type``: ``count`` (non-negative integer), ``number`` (non-negative decimal: days, hours),
  ``ratio`` (a percentage, kept as a percent number, 62.71 means 62.71%), ``text``.
- column ``role``: ``index`` (序号), ``name`` (the department cell), ``key`` (part of the row key
  besides the department), ``input``, ``computed`` (has a ``formula``; a printed value is checked).
- ``formula``: ``{"num": [terms], "den": [terms]}``; a term is a column name, ``-name`` subtracts.
  Without ``den`` the formula is a plain sum/difference. Ratios are num/den × 100.
- total rows (合计/小计/总计 or the district row) are sums of the inputs; computed columns of a total
  row are recomputed from the summed parts, never averaged.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Mapping

COLUMN_TYPES = ("count", "number", "ratio", "text")
COLUMN_ROLES = ("index", "name", "key", "input", "computed")
CHECK_RULES = ("part_le_whole", "parts_sum_to_whole")
TOTAL_POSITIONS = ("top", "bottom")
SORT_DIRECTIONS = ("desc", "asc")


# Magnitude bounds per column type (a column may set its own "max"): far above any district's figures,
# and low enough that sums of every row stay exact in binary floating point (below 2**53).
MAX_EXACT = 2 ** 53
DEFAULT_MAX = {"count": 10 ** 9, "number": 10 ** 7, "ratio": 100}


class SpecError(ValueError):
    """A mistake in a spec declaration (raised at import time, for developers and config editors)."""


def _check_keys(where: str, given: Mapping[str, Any], allowed: Iterable[str], required: Iterable[str] = ()) -> None:
    allowed = set(allowed)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(set(required) - set(given))
    if missing:
        raise SpecError(f"{where}: missing key(s) {missing}")


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SpecError(f"{where}: {value!r} is not one of {list(choices)}")
    return value


@dataclass(frozen=True)
class Formula:
    """A computed column: the `num` terms (a leading "-" subtracts) over the `den` terms when there are any (a
    ratio), else their sum."""

    num: tuple[str, ...]
    den: tuple[str, ...] = ()

    @staticmethod
    def from_dict(where: str, d: Mapping[str, Any]) -> "Formula":
        _check_keys(where, d, ("num", "den"), ("num",))
        return Formula(tuple(d["num"]), tuple(d.get("den", ())))

    def names(self) -> set[str]:
        return {t.lstrip("-") for t in (*self.num, *self.den)}

    def describe(self) -> str:
        def side(terms: tuple[str, ...]) -> str:
            out = ""
            for i, t in enumerate(terms):
                neg = t.startswith("-")
                out += (" − " if neg else (" + " if i else "")) + t.lstrip("-")
            return f"({out})" if len(terms) > 1 else out

        return side(self.num) + (f" / {side(self.den)}" if self.den else "")


@dataclass(frozen=True)
class Column:
    """One column of an annex: its printed header, value type, role (input, computed, reference…) and bounds."""

    name: str
    type: str
    role: str
    header: tuple[str, ...]
    formula: Formula | None = None
    required: bool = True
    printed: bool = True  # present in the office's printed table (else added by the output only)
    total: str = "sum"  # sum | formula | none | weighted:<column>
    max: float | None = None  # the largest plausible value (a figure beyond it is an error at its cell)

    _KEYS = ("name", "type", "role", "header", "formula", "required", "printed", "total", "max")

    @staticmethod
    def from_dict(where: str, d: Mapping[str, Any]) -> "Column":
        _check_keys(where, d, Column._KEYS, ("name", "type", "role"))
        name = d["name"]
        where = f"{where} column {name!r}"
        ctype = _choice(where, d["type"], COLUMN_TYPES)
        role = _choice(where, d["role"], COLUMN_ROLES)
        formula = Formula.from_dict(where, d["formula"]) if "formula" in d else None
        if (role == "computed") != (formula is not None):
            raise SpecError(f"{where}: a computed column needs a formula and only it may have one")
        default_total = "formula" if formula else ("sum" if ctype in ("count", "number") else "none")
        total = d.get("total", default_total)
        if not (total in ("sum", "formula", "none") or total.startswith("weighted:")):
            raise SpecError(f"{where}: total {total!r} is not sum, formula, none or weighted:<column>")
        required = d.get("required", role in ("name", "input") and ctype != "text")
        bound = d.get("max", DEFAULT_MAX.get(ctype))
        if bound is not None and not (isinstance(bound, (int, float)) and 0 < bound <= MAX_EXACT):
            raise SpecError(f"{where}: max {bound!r} must be a number between 0 and {MAX_EXACT}")
        return Column(name, ctype, role, tuple(d.get("header", (name,))), formula, bool(required),
                      bool(d.get("printed", True)), total, bound)

    @property
    def is_numeric(self) -> bool:
        return self.type in ("count", "number", "ratio")


@dataclass(frozen=True)
class Check:
    """A check within a row: the `parts` add up to `whole` (parts_sum_to_whole), or the part is at most the
    whole (part_le_whole)."""

    rule: str
    whole: str
    parts: tuple[str, ...]

    @staticmethod
    def from_dict(where: str, d: Mapping[str, Any]) -> "Check":
        rule = d.get("rule")
        where = f"{where} check {rule!r}"
        if rule == "part_le_whole":
            _check_keys(where, d, ("rule", "part", "whole"), ("rule", "part", "whole"))
            return Check(rule, d["whole"], (d["part"],))
        if rule == "parts_sum_to_whole":
            _check_keys(where, d, ("rule", "parts", "whole"), ("rule", "parts", "whole"))
            return Check(rule, d["whole"], tuple(d["parts"]))
        raise SpecError(f"{where}: unknown rule; known: {list(CHECK_RULES)}")


@dataclass(frozen=True)
class Total:
    """A total row of an annex: its printed label and whether it stands above or below the departments."""

    label: str  # "合计", "总计", or "{district}" for the district row
    position: str  # top | bottom

    @staticmethod
    def from_dict(where: str, d: Mapping[str, Any]) -> "Total":
        _check_keys(where, d, ("label", "position"), ("label", "position"))
        return Total(d["label"], _choice(f"{where} total", d["position"], TOTAL_POSITIONS))


@dataclass(frozen=True)
class AnnexSpec:
    """One annex table as the bulletin prints it: sheet, title, header rows, columns, totals, checks."""

    number: int
    sheet: str
    title: str  # may contain {district}
    columns: tuple[Column, ...]
    header_rows: int = 1
    checks: tuple[Check, ...] = ()
    total: Total | None = None
    subtotal_label: str | None = None  # per section, e.g. 小计 (annex 8)
    sections: tuple[str, ...] = ()  # first is the unnamed default; others are section lines
    reference_rows: tuple[str, ...] = ()  # settings keys of reference rows, e.g. "city" (annex 5)
    sort: tuple[tuple[str, str], ...] = ()  # printed order; empty keeps the input order
    fill_down_name: bool = False  # merged department cells (annex 3)
    one_row_per_department: bool = True
    landscape: bool = False

    _KEYS = ("number", "sheet", "title", "columns", "header_rows", "checks", "total", "subtotal_label",
             "sections", "reference_rows", "sort", "fill_down_name", "one_row_per_department", "landscape")

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "AnnexSpec":
        where = f"annex {d.get('sheet', d.get('number', '?'))}"
        _check_keys(where, d, AnnexSpec._KEYS, ("number", "sheet", "title", "columns"))
        cols = tuple(Column.from_dict(where, c) for c in d["columns"])
        names = [c.name for c in cols]
        if len(set(names)) != len(names):
            raise SpecError(f"{where}: duplicate column names")
        known = set(names)

        def need(ref: str, what: str) -> str:
            if ref not in known:
                raise SpecError(f"{where}: {what} refers to unknown column {ref!r}")
            return ref

        for c in cols:
            for n in (c.formula.names() if c.formula else ()):
                need(n, f"formula of {c.name!r}")
            if c.total.startswith("weighted:"):
                need(c.total.split(":", 1)[1], f"total of {c.name!r}")
        checks = tuple(Check.from_dict(where, x) for x in d.get("checks", ()))
        for ch in checks:
            for n in (ch.whole, *ch.parts):
                need(n, f"check {ch.rule}")
        sort = tuple((need(k, "sort"), _choice(f"{where} sort", v, SORT_DIRECTIONS)) for k, v in d.get("sort", ()))
        roles = [c.role for c in cols]
        if roles.count("name") != 1:
            raise SpecError(f"{where}: exactly one column must have role 'name'")
        header_rows = int(d.get("header_rows", 1))
        for c in cols:
            if len(c.header) > header_rows:
                raise SpecError(f"{where}: header of {c.name!r} is deeper than header_rows={header_rows}")
        return AnnexSpec(
            number=int(d["number"]), sheet=d["sheet"], title=d["title"], columns=cols,
            header_rows=header_rows, checks=checks,
            total=Total.from_dict(where, d["total"]) if d.get("total") else None,
            subtotal_label=d.get("subtotal_label"), sections=tuple(d.get("sections", ())),
            reference_rows=tuple(d.get("reference_rows", ())), sort=sort,
            fill_down_name=bool(d.get("fill_down_name", False)),
            one_row_per_department=bool(d.get("one_row_per_department", True)),
            landscape=bool(d.get("landscape", False)),
        )

    # -- conveniences (derived once: the spec is frozen, and every row of every step asks) -----------
    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        """The column of that name; KeyError for anything else (a list a staff file gave included)."""
        try:
            return self._by_name[name]
        except TypeError:
            raise KeyError(name) from None

    @cached_property
    def name_column(self) -> Column:
        return next(c for c in self.columns if c.role == "name")

    @cached_property
    def index_column(self) -> Column | None:
        return next((c for c in self.columns if c.role == "index"), None)

    @cached_property
    def key_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "key")

    @cached_property
    def computed_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "computed")

    @cached_property
    def value_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role in ("input", "key", "computed"))

    @cached_property
    def numeric_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.value_columns if c.is_numeric)

    def title_for(self, district: str) -> str:
        return self.title.format(district=district)


@dataclass(frozen=True)
class Scalar:
    """A figure the text uses that no annex holds (the 总体情况 sheet)."""

    name: str
    type: str  # count | number | text | month | date
    required: bool = True
    note: str = ""
    max: float | None = None  # the largest plausible value of a count or number

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Scalar":
        _check_keys(f"scalar {d.get('name')!r}", d, ("name", "type", "required", "note", "max"), ("name", "type"))
        _choice(f"scalar {d['name']!r}", d["type"], ("count", "number", "text", "month", "date"))
        return Scalar(d["name"], d["type"], bool(d.get("required", True)), d.get("note", ""),
                      d.get("max", DEFAULT_MAX.get(d["type"])))


def _count(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "count", "role": "input", **kw}


def _ratio(name: str, num: list[str], den: list[str], **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "ratio", "role": "computed", "formula": {"num": num, "den": den}, **kw}


_INDEX = {"name": "序号", "type": "text", "role": "index", "required": False}
_SUB_KINDS = ("行政检查", "行政处罚", "行政强制", "其他")

# The eight annexes, in the order and with the headers of the office's printed tables.
ANNEX_DECLARATIONS: list[dict[str, Any]] = [
    {
        "number": 1, "sheet": "附件1", "title": "{district}不见面审批、即办件情况统计表",
        "columns": [
            _INDEX,
            {"name": "单位", "type": "text", "role": "name"},
            _count("事项总数"),
            {"name": "不见面审批事项占比", "type": "ratio", "role": "input", "total": "weighted:事项总数"},
            _count("即办件事项数"),
            _ratio("即办件事项占比", ["即办件事项数"], ["事项总数"]),
        ],
        "checks": [{"rule": "part_le_whole", "part": "即办件事项数", "whole": "事项总数"}],
        "total": {"label": "合计", "position": "top"},
        "sort": [("即办件事项占比", "desc"), ("事项总数", "desc")],
    },
    {
        "number": 2, "sheet": "附件2", "title": "{district}政务服务事项压缩办理时限统计表",
        "columns": [
            _INDEX,
            {"name": "单位", "type": "text", "role": "name"},
            _count("事项总数"),
            _count("法定时限（工作日）"),
            _count("承诺时限（工作日）"),
            _count("即办件事项数"),
            _count("一日办结事项数"),
            _count("非一日办结事项数"),
            _ratio("压缩比例", ["法定时限（工作日）", "-承诺时限（工作日）"], ["法定时限（工作日）"]),
        ],
        "checks": [
            {"rule": "part_le_whole", "part": "承诺时限（工作日）", "whole": "法定时限（工作日）"},
            {"rule": "parts_sum_to_whole", "parts": ["即办件事项数", "一日办结事项数", "非一日办结事项数"],
             "whole": "事项总数"},
        ],
        "total": {"label": "合计", "position": "top"},
        "sort": [("压缩比例", "desc"), ("事项总数", "desc")],
    },
    {
        "number": 3, "sheet": "附件3", "title": "{district}电子证照制作完成情况统计表",
        "columns": [
            _INDEX,
            {"name": "单位名称", "type": "text", "role": "name"},
            {"name": "证照类型名称", "type": "text", "role": "key"},
            _count("已签章数量"),
            _count("未签章数量"),
            {"name": "证照总量", "type": "count", "role": "computed", "printed": False,
             "formula": {"num": ["已签章数量", "未签章数量"]}},
        ],
        "total": {"label": "{district}", "position": "top"},
        "fill_down_name": True,
        "one_row_per_department": False,
    },
    {
        "number": 4, "sheet": "附件4", "title": "{district}政务信息资源发布情况统计表",
        "columns": [
            _INDEX,
            {"name": "单位名称", "type": "text", "role": "name"},
            _count("已发布资源目录数"),
            _count("已挂载资源目录数"),
            _count("资源数据总量"),
            _ratio("资源挂载率", ["已挂载资源目录数"], ["已发布资源目录数"]),
            {"name": "资源使用情况", "type": "text", "role": "input"},
            {"name": "资源被使用情况", "type": "text", "role": "input"},
        ],
        "checks": [{"rule": "part_le_whole", "part": "已挂载资源目录数", "whole": "已发布资源目录数"}],
        "total": {"label": "{district}", "position": "top"},
        "sort": [("资源挂载率", "desc"), ("已发布资源目录数", "desc"), ("资源数据总量", "desc")],
    },
    {
        "number": 5, "sheet": "附件5", "title": "{district}“互联网+监管”数据汇集情况统计表",
        "header_rows": 3,
        "columns": [
            _INDEX,
            {"name": "区划/部门", "type": "text", "role": "name"},
            _count("事项主项数"),
            _count("主项覆盖数"),
            _ratio("主项覆盖率", ["主项覆盖数"], ["事项主项数"]),
            *[_count(f"{k}{leaf}", header=("子项数", k, leaf))
              for k in _SUB_KINDS for leaf in ("个数", "覆盖数", "汇聚数")],
            _ratio("子项覆盖率", [f"{k}覆盖数" for k in _SUB_KINDS], [f"{k}个数" for k in _SUB_KINDS]),
            {"name": "子项个数合计", "type": "count", "role": "computed", "printed": False,
             "formula": {"num": [f"{k}个数" for k in _SUB_KINDS]}},
            {"name": "子项覆盖数合计", "type": "count", "role": "computed", "printed": False,
             "formula": {"num": [f"{k}覆盖数" for k in _SUB_KINDS]}},
        ],
        "checks": [{"rule": "part_le_whole", "part": "主项覆盖数", "whole": "事项主项数"},
                   *[{"rule": "part_le_whole", "part": f"{k}覆盖数", "whole": f"{k}个数"} for k in _SUB_KINDS]],
        "total": {"label": "{district}", "position": "top"},
        "reference_rows": ["city"],
        "sort": [("主项覆盖率", "desc"), ("子项覆盖率", "desc"), ("事项主项数", "desc")],
        "landscape": True,
    },
    {
        "number": 6, "sheet": "附件6", "title": "{district}政务服务事项办件量情况统计表",
        "columns": [
            _INDEX,
            {"name": "单位名称", "type": "text", "role": "name"},
            _count("部门报送数据"),
            _count("电子监察数据"),
            _count("综窗办理数据"),
        ],
        "total": {"label": "总计", "position": "bottom"},
    },
    {
        "number": 7, "sheet": "附件7", "title": "{district}政务服务网第二批网办问题排查清单",
        "columns": [
            _INDEX,
            {"name": "单位名称", "type": "text", "role": "name"},
            _count("排查事项总数"),
            _count("已完成事项"),
            {"name": "未完成事项", "type": "count", "role": "computed",
             "formula": {"num": ["排查事项总数", "-已完成事项"]}},
            _ratio("完成率", ["已完成事项"], ["排查事项总数"]),
            {"name": "备注", "type": "text", "role": "input"},
        ],
        "checks": [{"rule": "part_le_whole", "part": "已完成事项", "whole": "排查事项总数"}],
        "total": {"label": "合计", "position": "bottom"},
    },
    {
        "number": 8, "sheet": "附件8", "title": "{district}政务服务大厅各单位派驻人员考勤情况",
        "columns": [
            _INDEX,
            {"name": "单位", "type": "text", "role": "name"},
            _count("入驻总人数"),
            _count("请假人数"),
            _ratio("请假人数比例", ["请假人数"], ["入驻总人数"]),
            {"name": "累计请假天数", "type": "number", "role": "input"},
            _count("迟到人数"),
            _count("累计迟到次数"),
            _count("缺卡人数"),
            _count("累计缺卡次数"),
            _count("旷工人数"),
            {"name": "累计旷工天数", "type": "number", "role": "input"},
            _count("公出人数"),
            {"name": "累计公出（小时）", "type": "number", "role": "input"},
        ],
        "checks": [{"rule": "part_le_whole", "part": p, "whole": "入驻总人数"}
                   for p in ("请假人数", "迟到人数", "缺卡人数", "旷工人数", "公出人数")],
        "total": {"label": "合计", "position": "bottom"},
        "subtotal_label": "小计",
        "sections": ["派驻部门", "公共服务单位"],
        "sort": [("请假人数比例", "desc"), ("入驻总人数", "desc")],
        "landscape": True,
    },
]

SCALAR_DECLARATIONS: list[dict[str, Any]] = [
    {"name": "月份", "type": "month", "note": "本期通报所属月份，如 2023-06"},
    {"name": "统计截止日期", "type": "date", "required": False, "note": "如 2023-06-30；空则取月末"},
    {"name": "网上政务服务事项总数", "type": "count", "note": "全区网上政务服务事项总数（项）"},
    {"name": "好差评主动评价量", "type": "count", "note": "截至本月“好差评”系统主动评价量（件，累计）"},
    {"name": "差评件数", "type": "count", "note": "年初至本月差评件数"},
    {"name": "差评已整改件数", "type": "count", "note": "年初至本月已整改的差评件数"},
    # figures the office states that repeat or explain an annex (checked against it, see AGREEMENTS)
    {"name": "未计入附件事项数", "type": "count", "required": False,
     "note": "网上政务服务事项中未计入附件1的事项数（附件1合计 = 总数 − 此数）"},
    {"name": "未计入原因", "type": "text", "required": False, "note": "如：公安分局1个事项不属分局权限"},
    {"name": "电子证照总量", "type": "count", "required": False, "note": "应等于附件3 已签章＋未签章数量"},
    {"name": "数据共享归集数据量", "type": "count", "required": False, "note": "累计归集数据（条），应等于附件4全区资源数据总量"},
    {"name": "发布资源目录总数", "type": "count", "required": False, "note": "应等于附件4全区已发布资源目录数"},
    {"name": "挂载资源目录数", "type": "count", "required": False, "note": "应等于附件4全区已挂载资源目录数"},
    {"name": "第二批排查事项总数", "type": "count", "required": False, "note": "省局下发的清单事项数，应等于附件7合计"},
    {"name": "锦旗数", "type": "count", "required": False, "note": "本月收到的锦旗（面）"},
    {"name": "表扬信数", "type": "count", "required": False, "note": "本月收到的表扬信（封）"},
]

# Figures printed twice must agree. A term is "总体情况.<scalar>" or "附件N.<column>" (per department:
# each department's row; else the district total row), a leading "-" subtracts it. `per: department`
# compares each department present in both annexes; otherwise the district figures. A failure is one
# error naming both cells. Terms that are blank (an optional 总体情况 row left empty) skip the check.
AGREEMENT_DECLARATIONS: list[dict[str, Any]] = [
    {"per": "department", "left": ["附件1.事项总数"], "right": ["附件2.事项总数"]},
    {"per": "department", "left": ["附件1.即办件事项数"], "right": ["附件2.即办件事项数"]},
    {"left": ["总体情况.网上政务服务事项总数", "-总体情况.未计入附件事项数"], "right": ["附件1.事项总数"]},
    {"left": ["总体情况.电子证照总量"], "right": ["附件3.已签章数量", "附件3.未签章数量"]},
    {"left": ["总体情况.数据共享归集数据量"], "right": ["附件4.资源数据总量"]},
    {"left": ["总体情况.发布资源目录总数"], "right": ["附件4.已发布资源目录数"]},
    {"left": ["总体情况.挂载资源目录数"], "right": ["附件4.已挂载资源目录数"]},
    {"left": ["总体情况.第二批排查事项总数"], "right": ["附件7.排查事项总数"]},
]


@dataclass(frozen=True)
class Term:
    """One figure of an agreement: a column of a sheet, added or subtracted."""

    sheet: str
    column: str
    sign: int = 1


@dataclass(frozen=True)
class Agreement:
    """Figures the bulletin prints twice, which must agree (per department or for the district)."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    per_department: bool = False

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Agreement":
        _check_keys("agreement", d, ("per", "left", "right"), ("left", "right"))

        def term(text: str) -> Term:
            sign = -1 if text.startswith("-") else 1
            sheet, column = text.lstrip("-").split(".", 1)
            if sheet == SCALAR_SHEET:
                if column not in {s.name for s in SCALARS}:
                    raise SpecError(f"agreement: {column!r} is not a 总体情况 figure")
            elif column not in {c.name for c in annex(sheet).columns}:
                raise SpecError(f"agreement: {column!r} is not a column of {sheet}")
            return Term(sheet, column, sign)

        return Agreement(tuple(map(term, d["left"])), tuple(map(term, d["right"])), d.get("per") == "department")


ANNEXES: tuple[AnnexSpec, ...] = tuple(AnnexSpec.from_dict(d) for d in ANNEX_DECLARATIONS)
SCALARS: tuple[Scalar, ...] = tuple(Scalar.from_dict(d) for d in SCALAR_DECLARATIONS)
CONSOLE_SHEET = "控制台"  # the master workbook's first sheet: month, buttons, last-run status
SCALAR_SHEET = "总体情况"
# Parameters staff set in the workbook (sheet 参数: 参数 | 值 | 说明): rule thresholds, phrasing settings,
# the document's 发文字号/主送/印发 lines… Each consumer defines the keys it reads and their defaults.
PARAM_SHEET = "参数"
RATIO_UNIT_PARAM = "环比单位"  # 参数 row: overrides settings.yaml ratio_change_unit
# 参数 rows the document reads (their defaults are in data/document.yaml)
DOCUMENT_PARAM_KEYS = ("发文机关标志", "发文字号", "标题", "主送", "印发机关", "印发日期")
# The department registry as a sheet (same columns as data/departments.csv); when present it replaces the file.
DEPT_SHEET = "部门"
# Free-text items placed by the narrative templates (sheet 文字素材: 栏目 | 内容), one paragraph per row.
TEXT_SHEET = "文字素材"
TEXT_ITEMS = {
    "总体说明": "总体情况导语后的补充说明，如事项动态调整的原因",
    "进展较大单位": "（六）进展较大单位：锦旗、表扬信、主动邀评等",
    "报送配合": "存在问题（三）中“一是……”：报送不及时、不主动的单位",
    "大厅纪律": "存在问题（五）中的作风纪律问题（替岗、轮岗等日常巡查发现）",
}
PROBLEM_SHEET = "校验结果"
TOTAL_LABELS = ("合计", "总计", "小计")


def annex(sheet_or_number: str | int) -> AnnexSpec:
    for a in ANNEXES:
        if sheet_or_number in (a.sheet, a.number):
            return a
    raise KeyError(sheet_or_number)


AGREEMENTS: tuple[Agreement, ...] = tuple(Agreement.from_dict(d) for d in AGREEMENT_DECLARATIONS)
