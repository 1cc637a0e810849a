"""Laggard rules: declarative conditions (data/rules.yaml) that give each row a status 红/黄/绿.

A condition is a small expression over the row's columns, e.g. ``压缩比例 < 压缩比例红线`` or
``完成率 == 0 and 备注 != "无需排查"``. Names are the annex's columns (in `backticks` when they hold
punctuation), the rule file's parameters, and ``prev.X`` (last month), ``change.X`` (this month − last
month), ``city.X`` (annex 5's city row), ``total.X`` (the district row); functions max, min, abs and
in_sheet("附件8") (the department has a row in that annex this month) and flag("应进驻大厅") (the
registry marks the department so: what the office knows and the tables cannot show). A comparison with a missing
value is false, so a rule never fires on missing data. Expressions are parsed and checked when the
rule file is loaded: an unknown name, key or construct is an error there, not at run time.
"""
from __future__ import annotations

from ..errors import expect, check_keys

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property
from enum import Enum
from typing import Any, Callable, Iterable, Mapping

from ..spec import ANNEXES, AnnexSpec, annex
from .month import MonthData
from .numbers import present, to_decimal

STATUSES = ("红", "黄", "绿")  # worst first
RULE_KEYS = {"id", "sheet", "scope", "when", "status", "name", "explain", "list_order", "list_limit"}
PARAM_KEYS = {"value", "explain"}
PREFIXES = {"prev", "change", "city", "total"}
FUNCTIONS = {"max", "min", "abs", "in_sheet", "flag"}
FLAGS = {"应进驻大厅"}
_BACKTICK = re.compile(r"`([^`]+)`")


class Status(str, Enum):
    """A row's status from the laggard rules; the value is the label staff see and type (红/黄/绿)."""

    RED = "红"
    YELLOW = "黄"
    GREEN = "绿"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: Any) -> "Status | None":
        """红/黄/绿 (text or Status) -> Status; blank or anything else -> None."""
        try:
            return cls(str(value).strip()) if value else None
        except ValueError:
            return None

    @classmethod
    def worst_of(cls, statuses: Iterable[Any]) -> "Status | None":
        """The worst of some statuses (红 before 黄 before 绿); None when there is none."""
        found = [s for s in statuses if s]
        return cls(worst(found)) if found else None


@dataclass(frozen=True)
class RowStatus:
    """One row's status: `status` the confirmed one (staff's where they set it, else the proposal), `proposed`
    the rules' (the worst of `rules`, the rules that fired: the 触发规则 column), `by_staff` whether staff set
    it, `named_under` the rules the text names the unit under when staff chose a colour no fired rule has."""

    status: Status
    proposed: Status
    rules: tuple[str, ...] = ()
    by_staff: bool = False
    named_under: tuple[str, ...] | None = None

    @property
    def naming_rules(self) -> tuple[str, ...]:
        return self.rules if self.named_under is None else self.named_under

    def as_dict(self) -> dict[str, Any]:
        """The --json shape: {status, proposed, by_staff, rules} with the Chinese labels."""
        return {"status": self.status.value, "proposed": self.proposed.value, "by_staff": self.by_staff,
                "rules": list(self.rules)}


class RuleError(ValueError):
    """A mistake in the rule file (shown to whoever edited it)."""


class _Missing:
    """Absorbs arithmetic and makes every comparison false: a missing value never fires a rule."""

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


@dataclass(frozen=True)
class Param:
    """A threshold of rules.yaml (its value may be overridden in the 参数 sheet)."""

    name: str
    value: float
    explain: str


@dataclass(frozen=True)
class Rule:
    """One rule of rules.yaml: where it looks, its compiled condition and the status it proposes."""

    id: str
    sheet: str
    scope: str  # department | total
    when: str
    status: str
    name: str  # short Chinese wording, shown in the 触发规则 column
    explain: str  # plain words, shown next to the thresholds
    list_order: str = "annex"  # annex | pinyin: order of department lists built from this rule
    list_limit: int | None = None  # names said in full before "等N个单位" (0: all; None: settings' list_limit)
    tree: ast.Expression = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # placeholder -> column

    @cached_property
    def test(self) -> "Evaluator":
        """The condition as a function of a row's environment, made once per loaded rule."""
        return evaluator(self.tree, self.names)


@dataclass(frozen=True)
class RuleSet:
    """rules.yaml, checked and compiled."""

    params: dict[str, Param]
    rules: tuple[Rule, ...]
    timeliness: Any = None  # core.collect.Timeliness: 报送不及时, from the submission ledger (None: not said)

    def for_sheet(self, sheet: str) -> list[Rule]:
        return [r for r in self.rules if r.sheet == sheet]

    @property
    def names(self) -> dict[str, str]:
        """rule id -> its short Chinese wording (the 触发规则 column)."""
        return {r.id: r.name for r in self.rules}

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _compile(expr: str, spec: AnnexSpec, params: Mapping[str, Param], where: str) -> tuple[ast.Expression, dict]:
    names: dict[str, str] = {}

    def quote(m: re.Match) -> str:
        placeholder = f"_c{len(names)}"
        names[placeholder] = m.group(1)
        return placeholder

    try:
        tree = ast.parse(_BACKTICK.sub(quote, expr), mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"{where}: 条件“{expr}”无法解析：{exc.msg}") from exc
    columns = {c.name for c in spec.columns}
    city_columns = {c.name for c in annex(5).columns}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.BinOp,
                             ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt,
                             ast.LtE, ast.Gt, ast.GtE, ast.Load)):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
                and not node.keywords:
            if node.func.id == "flag" and not (len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                                               and node.args[0].value in FLAGS):
                raise RuleError(f"{where}: flag() 的参数应为 {'、'.join(sorted(FLAGS))} 之一（部门名录的列）")
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in PREFIXES:
            attr = names.get(node.attr, node.attr)
            if attr not in (city_columns if node.value.id == "city" else columns):
                raise RuleError(f"{where}: “{node.value.id}.{attr}”不是{spec.sheet}的列")
            continue
        if isinstance(node, ast.Name):
            name = names.get(node.id, node.id)
            if name in columns or name in params or node.id in PREFIXES or node.id in FUNCTIONS:
                continue
            raise RuleError(f"{where}: 条件中的“{name}”既不是{spec.sheet}的列，也不是参数")
        raise RuleError(f"{where}: 条件“{expr}”使用了不支持的写法（{type(node).__name__}）")
    return tree, names


def load_rules(data: Mapping[str, Any], file: str = "rules.yaml") -> RuleSet:
    check_keys(file, data, ("params", "rules", "timeliness"))
    params = {}
    expect(file, "params", data.get("params") or {}, "mapping")
    for name, p in (data.get("params") or {}).items():
        if not isinstance(p, Mapping) or set(p) - PARAM_KEYS or "value" not in p:
            raise RuleError(f"参数“{name}”应写成 {{value: 数值, explain: 说明}}")
        expect(file, f"参数 {name} 的 value", p["value"], "number")
        params[name] = Param(name, float(p["value"]), str(p.get("explain", "")))
    rules, seen = [], set()
    sheets = {a.sheet for a in ANNEXES}
    expect(file, "rules", data.get("rules") or [], "list")
    for i, r in enumerate(data.get("rules") or []):
        where = f"规则 {r.get('id', i + 1) if isinstance(r, dict) else i + 1}"
        check_keys(file, r, sorted(RULE_KEYS), required=("id", "sheet", "when", "status", "name"), where=where)
        for key in ("id", "sheet", "when", "status", "name"):
            expect(file, f"{where} 的 {key}", r[key], "text")
        if r["id"] in seen:
            raise RuleError(f"{where}: 规则编号重复")
        seen.add(r["id"])
        if r["sheet"] not in sheets:
            raise RuleError(f"{where}: 工作表“{r['sheet']}”不存在")
        if r["status"] not in STATUSES[:2]:
            raise RuleError(f"{where}: 状态应为 红 或 黄")
        scope = r.get("scope", "department")
        if scope not in ("department", "total"):
            raise RuleError(f"{where}: scope 应为 department 或 total")
        order = r.get("list_order", "annex")
        if order not in ("annex", "pinyin"):
            raise RuleError(f"{where}: list_order 应为 annex 或 pinyin")
        limit = r.get("list_limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise RuleError(f"{where}: list_limit 应为 0 或正整数（0 表示全部列出）")
        tree, names = _compile(str(r["when"]), annex(r["sheet"]), params, where)
        rules.append(Rule(r["id"], r["sheet"], scope, str(r["when"]), r["status"], str(r["name"]),
                          str(r.get("explain", "")), order, limit, tree, names))
    timeliness = None
    if data.get("timeliness") is not None:
        from .collect import timeliness_from_dict

        timeliness = timeliness_from_dict(data["timeliness"], file)
    return RuleSet(params, tuple(rules), timeliness)


class _Env:
    def __init__(self, row: Mapping[str, Any], prev: Mapping[str, Any] | None, city: Mapping[str, Any] | None,
                 total: Mapping[str, Any] | None, params: Mapping[str, Param], present_in: Iterable[str],
                 flags: Iterable[str] = ()):
        self.row, self.prev, self.city, self.total = row, prev or {}, city or {}, total or {}
        self.params, self.present_in, self.flags = params, set(present_in), set(flags)


def _value(v: Any) -> Any:
    return v if present(v) else MISSING


_ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
               ast.Div: lambda a, b: MISSING if b == 0 else a / b}
_ORDERINGS = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
              ast.GtE: lambda a, b: a >= b}
_FUNCTIONS = {"max": max, "min": min, "abs": abs}
Evaluator = Callable[[_Env], Any]


def evaluator(node: ast.AST, names: Mapping[str, str]) -> Evaluator:
    """A checked condition (see _compile) as nested functions of the row's environment, made once when the
    rule file is loaded, so a row is not a walk over the syntax tree for every rule."""
    if isinstance(node, ast.Expression):
        return evaluator(node.body, names)
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda env: constant
    if isinstance(node, ast.Name):
        name = names.get(node.id, node.id)

        def lookup(env: _Env) -> Any:
            if name in env.row:
                return _value(env.row.get(name))
            if name in env.params:
                return env.params[name].value
            return MISSING
        return lookup
    if isinstance(node, ast.Attribute):
        attr = names.get(node.attr, node.attr)
        prefix = node.value.id  # type: ignore[attr-defined]
        if prefix == "change":
            def change(env: _Env) -> Any:
                cur, prev = _value(env.row.get(attr)), _value(env.prev.get(attr))
                if cur is MISSING or prev is MISSING:
                    return MISSING
                # the decimal difference, as the comparison's: in floats 6.08 − 16.08 is −9.999999999999998 and
                # 6.01 − 16.01 is −10.000000000000002, so a threshold of 10 would depend on the digits
                return float(to_decimal(cur) - to_decimal(prev))
            return change
        return lambda env: _value(getattr(env, prefix).get(attr))
    if isinstance(node, ast.BoolOp):
        parts = [evaluator(v, names) for v in node.values]
        # every operand is evaluated (all()/any() over a list, not short-circuit): a mistake in a later
        # operand shows on every row, not only on those the earlier operands leave undecided
        if isinstance(node.op, ast.And):
            return lambda env: all([p(env) for p in parts])
        return lambda env: any([p(env) for p in parts])
    if isinstance(node, ast.UnaryOp):
        operand = evaluator(node.operand, names)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        return lambda env: MISSING if (v := operand(env)) is MISSING else -v
    if isinstance(node, ast.BinOp):
        left, right, op = evaluator(node.left, names), evaluator(node.right, names), _ARITHMETIC[type(node.op)]

        def arithmetic(env: _Env) -> Any:
            a, b = left(env), right(env)
            return MISSING if a is MISSING or b is MISSING else op(a, b)
        return arithmetic
    if isinstance(node, ast.Compare):
        first = evaluator(node.left, names)
        steps = [(type(op), evaluator(right, names)) for op, right in zip(node.ops, node.comparators)]

        def compare(env: _Env) -> bool:
            left = first(env)
            for kind, right_of in steps:
                right = right_of(env)
                if isinstance(left, str) and right is MISSING:  # a blank text cell compares as ""
                    right = ""
                elif isinstance(right, str) and left is MISSING:
                    left = ""
                if left is MISSING or right is MISSING:
                    return False
                if kind is ast.Eq:
                    ok = left == right
                elif kind is ast.NotEq:
                    ok = left != right
                elif isinstance(left, str) or isinstance(right, str):
                    return False
                else:
                    ok = _ORDERINGS[kind](left, right)
                if not ok:
                    return False
                left = right
            return True
        return compare
    if isinstance(node, ast.Call):
        fn = node.func.id  # type: ignore[attr-defined]
        args = [evaluator(a, names) for a in node.args]
        if fn == "in_sheet":
            return lambda env: args[0](env) in env.present_in
        if fn == "flag":
            return lambda env: args[0](env) in env.flags
        call = _FUNCTIONS[fn]

        def function(env: _Env) -> Any:
            values = [a(env) for a in args]
            return MISSING if any(v is MISSING for v in values) else call(*values)
        return function
    raise RuleError(f"不支持的写法：{type(node).__name__}")


def fires(rule: Rule, row: Mapping[str, Any], *, prev: Mapping[str, Any] | None = None,
          city: Mapping[str, Any] | None = None, total: Mapping[str, Any] | None = None,
          params: Mapping[str, Param] | None = None, present_in: Iterable[str] = (),
          flags: Iterable[str] = ()) -> bool:
    return bool(rule.test(_Env(row, prev, city, total, params or {}, present_in, flags)))


def worst(statuses: Iterable[str]) -> str:
    found = set(statuses)
    return next((s for s in STATUSES if s in found), "绿")


@dataclass
class Assessment:
    """The month's statuses: sheet -> department -> RowStatus; district rows under 全区. Text, mail and charts
    read the confirmed `status` only; `rules` keep the proposal."""

    statuses: dict[str, dict[str, RowStatus]]

    def fired(self, rule_id: str) -> list[str]:
        return [d for sheet in self.statuses.values() for d, s in sheet.items() if rule_id in s.rules]

    def keys(self) -> set[tuple[str, str, str]]:
        return {(sheet, d, rule) for sheet, rows in self.statuses.items() for d, s in rows.items()
                for rule in s.rules}

    def of(self, sheet: str, department: str) -> RowStatus | None:
        return self.statuses.get(sheet, {}).get(department)

    def as_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {sheet: {d: s.as_dict() for d, s in rows.items()} for sheet, rows in self.statuses.items()}

    def named(self, rule: "Rule") -> list[str]:
        """Departments the text names under a rule: confirmed 红 or 黄, and the rule fired for them — or staff
        raised them to a colour on the rule's sheet that no fired rule has (the sheet's first rule of that
        colour then stands for their choice)."""
        return [d for d, s in self.statuses.get(rule.sheet, {}).items()
                if s.status in (Status.RED, Status.YELLOW) and rule.id in s.naming_rules]

    def confirm(self, staff: Mapping[str, Mapping[str, str]], rules: "RuleSet") -> "Assessment":
        """The statuses staff set (sheet -> department -> 红/黄/绿) replace the proposal where given."""
        out: dict[str, dict[str, RowStatus]] = {}
        for sheet, rows in self.statuses.items():
            out[sheet] = {}
            for d, s in rows.items():
                chosen = Status.of((staff.get(sheet) or {}).get(d))
                if chosen is None or chosen is s.proposed:
                    out[sheet][d] = s
                    continue
                named = list(s.rules)
                if chosen is not Status.GREEN and not any(rules.get(i).status == chosen for i in named):
                    first = next((r.id for r in rules.for_sheet(sheet)
                                  if r.status == chosen and r.scope == "department"), None)
                    if first:
                        named.append(first)
                out[sheet][d] = RowStatus(chosen, s.proposed, s.rules, True, tuple(named))
        return Assessment(out)


def assess(data: MonthData, rules: RuleSet, previous: MonthData | None = None, district: str = "全区",
           flags: Mapping[str, Iterable[str]] | None = None) -> Assessment:
    """The rules' proposal. `flags`: department -> registry flags (flag("应进驻大厅"))."""
    statuses: dict[str, dict[str, RowStatus]] = {}
    flags = flags or {}
    present = {sheet: {r["部门"] for r in res.records if r["_kind"] == "department"}
               for sheet, res in data.results.items()}
    city = data.results["附件5"].references.get("city") if "附件5" in data.results else None
    for sheet, res in data.results.items():
        prev_res = previous.results.get(sheet) if previous else None
        prev_by = {r["部门"]: r for r in prev_res.records if r["_kind"] == "department"} if prev_res else {}
        sheet_rules = rules.for_sheet(sheet)
        fired: dict[str, list[str]] = {}
        department_rules = [rule for rule in sheet_rules if rule.scope == "department"]
        for r in res.records:
            if r["_kind"] != "department":
                continue
            ids = fired.setdefault(r["部门"], [])
            env = _Env(r, prev_by.get(r["部门"]), city, res.total, rules.params,
                       [s for s, depts in present.items() if r["部门"] in depts], flags.get(r["部门"], ()))
            for rule in department_rules:
                if rule.id not in ids and rule.test(env):
                    ids.append(rule.id)
        if res.total is not None:
            ids = fired.setdefault(district, [])
            env = _Env(res.total, prev_res.total if prev_res else None, city, res.total, rules.params, ())
            for rule in sheet_rules:
                if rule.scope == "total" and rule.test(env):
                    ids.append(rule.id)
        statuses[sheet] = {}
        for who, ids in fired.items():
            proposed = Status(worst(rules.get(i).status for i in ids))
            statuses[sheet][who] = RowStatus(proposed, proposed, tuple(ids))
    return Assessment(statuses)


def _months_between(earlier: str, later: str) -> int:
    y1, m1 = map(int, earlier.split("-"))
    y2, m2 = map(int, later.split("-"))
    return (y2 - y1) * 12 + (m2 - m1)


def streaks(history: list[Assessment], current: Assessment, *, month: str | None = None,
            carried: Mapping[tuple[str, str], Iterable[Any]] | None = None) -> dict[tuple[str, str, str], int]:
    """(sheet, department, rule) -> consecutive months the rule has fired, ending this month.
    `history` holds the previous months' assessments, oldest first, without gaps. `carried`: (department,
    rule id) -> streaks known from before the history (each with .month and .months): one that ends where
    the history's streak starts (or inside it) lengthens it."""
    out = {}
    for key in current.keys():
        n = 1
        for past in reversed(history):
            if key not in past.keys():
                break
            n += 1
        if month and carried:
            for c in carried.get((key[1], key[2]), ()):
                gap = _months_between(c.month, month)  # months from the carried month to this one
                if 1 <= gap <= n:  # the carried month is the one before the streak's first, or inside it
                    n = max(n, gap + c.months)
        out[key] = n
    return out
