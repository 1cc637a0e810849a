"""The department registry: one canonical department per body, however a table spells it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .numbers import clean_text

def pinyin_of(text: str) -> str:
    from pypinyin import lazy_pinyin  # imported on demand: loading its dictionaries takes ~0.2 s

    return " ".join(lazy_pinyin(text))


REGISTRY_COLUMNS = ("部门", "简称", "全称", "别名", "类别")  # required
REGISTRY_OPTIONAL = ("附件", "邮箱", "拼音", "应进驻大厅", "既往连续", "停用")
YES = ("是", "应", "Y", "y", "yes", "1", "√")
NO = ("否", "不", "不应", "N", "n", "no", "0", "×")
SET_KEY = "_set"  # in a stored registry row: the columns the month's workbook set (its 部门 sheet), "、"-joined
# 既往连续: a streak known before the first month the tool holds, e.g. "事项进厅但未派驻人员 截至2023-05 连续5个月"
# (rule id or rule name; several separated by ；)
_CARRIED = re.compile(r"^\s*(?P<rule>\S+)\s*截至\s*(?P<month>\d{4}-\d{2})\s*已?连续\s*(?P<months>\d+)\s*个月\s*$")


@dataclass(frozen=True)
class CarriedStreak:
    """A rule known to have fired for a department for `months` consecutive months up to `month`."""

    rule: str  # rule id or its Chinese name as staff wrote it
    month: str  # "2023-05"
    months: int


def parse_carried(text: str, department: str = "") -> tuple[CarriedStreak, ...]:
    out = []
    for part in re.split(r"[;；\n]", text or ""):
        if not part.strip():
            continue
        m = _CARRIED.match(part)
        if not m or int(m["months"]) < 1:
            raise ValueError(f"部门“{department}”的“既往连续”列“{part.strip()}”应写成“规则名称 截至2023-05 连续5个月”")
        out.append(CarriedStreak(m["rule"], m["month"], int(m["months"])))
    return tuple(out)


@dataclass(frozen=True)
class Department:
    """One unit of the registry: its names, category, annexes, mail addresses and hall duties."""

    name: str  # canonical key
    short: str  # what the bulletin's text calls it
    full: str
    aliases: tuple[str, ...]
    category: str
    order: int
    annexes: tuple[int, ...] = ()  # annexes the department normally reports in (template prefill)
    emails: tuple[str, ...] = ()
    pinyin: str = ""  # of the short name, for lists in pinyin order ("can lian")
    hall: bool = False  # 应进驻大厅: should station staff in the hall (only such units can be "未派驻")
    carried: tuple[CarriedStreak, ...] = ()  # 既往连续: streaks known from before the history
    set_fields: tuple[str, ...] = ()  # columns this workbook's 部门 sheet set (carried to later months)


class UnknownDepartment(KeyError):
    pass


def split_list(text: Any) -> tuple[str, ...]:
    """别名: "、", "，" or "," between names."""
    return tuple(a.strip() for a in str(text or "").replace("，", "、").replace(",", "、").split("、") if a.strip())


def split_emails(text: Any) -> tuple[str, ...]:
    return tuple(e.strip() for e in str(text or "").replace("；", ";").split(";") if e.strip())


def parse_annexes(text: Any, name: str) -> tuple[int, ...]:
    """附件: "1,2,3" (also "1、2", full-width commas, a number cell 1.0); raises ValueError in Chinese."""
    if isinstance(text, float) and text == int(text):
        text = int(text)
    raw = str(text or "").replace("，", ",").replace("、", ",").replace("附件", "")
    numbers = [a.strip() for a in raw.split(",") if a.strip()]
    if not all(a.isdigit() and 1 <= int(a) <= 8 for a in numbers):
        raise ValueError(f"部门“{name}”的“附件”列“{text}”应为附件编号，如 1,2,3")
    return tuple(dict.fromkeys(int(a) for a in numbers))


def sort_prefixes(prefixes: Iterable[str]) -> tuple[str, ...]:
    # longest prefix first, so 殷都区 is stripped before 区
    return tuple(sorted((clean_text(p) for p in prefixes), key=len, reverse=True))


@dataclass
class Registry:
    """The departments and every spelling that names them (prefixes such as 殷都区 stripped)."""

    departments: tuple[Department, ...]
    prefixes: tuple[str, ...] = ()
    retired: tuple[Department, ...] = ()  # 停用: no longer listed, kept so a table naming one is told why
    _lookup: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for d in self.departments:
            for spelling in (d.name, d.short, d.full, *d.aliases):
                key = self._key(spelling)
                if not key:
                    continue
                if lookup.get(key, d.name) != d.name:
                    raise ValueError(f"部门名录：名称“{spelling}”同时指向“{lookup[key]}”和“{d.name}”")
                lookup[key] = d.name
        self._lookup = lookup

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], prefixes: Iterable[str] = ()) -> "Registry":
        """From rows of text keyed by column name (departments.csv or the workbook's 部门 sheet)."""
        rows = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
        missing = [c for c in REGISTRY_COLUMNS if rows and c not in rows[0]]
        if missing:
            raise ValueError(f"部门名录缺少列：{'、'.join(missing)}")
        deps, retired = [], []
        for i, r in enumerate(rows):
            name = str(r["部门"]).strip()
            if not name:
                continue
            if str(r.get("停用", "")).strip() not in ("", *YES, *NO):
                raise ValueError(f"部门“{name}”的“停用”列“{r.get('停用')}”应为“是”或留空")
            d = Department(name, str(r["简称"]).strip() or name, str(r["全称"]).strip() or name,
                           split_list(r["别名"]), str(r["类别"]).strip(), i, parse_annexes(r.get("附件", ""), name),
                           split_emails(r.get("邮箱", "")), str(r.get("拼音", "")).strip(),
                           str(r.get("应进驻大厅", "")).strip() in YES, parse_carried(str(r.get("既往连续", "")), name),
                           tuple(f for f in str(r.get(SET_KEY, "")).split("、") if f))
            (retired if str(r.get("停用", "")).strip() in YES else deps).append(d)
        return cls(tuple(deps), sort_prefixes(prefixes), tuple(retired))

    def _key(self, spelling: str) -> str:
        key = clean_text(spelling)
        for p in self.prefixes:
            if key.startswith(p) and len(key) > len(p):
                return key[len(p):]
        return key

    def retired_as(self, spelling: str) -> Department | None:
        """The retired unit a spelling names (when no listed unit has it)."""
        key = self._key(spelling)
        if not key or key in self._lookup:
            return None
        return next((d for d in self.retired if key in {self._key(s) for s in (d.name, d.short, d.full, *d.aliases)}),
                    None)

    def resolve(self, spelling: str) -> str:
        """Canonical name for a spelling; raises UnknownDepartment."""
        key = self._key(spelling)
        if key in self._lookup:
            return self._lookup[key]
        raise UnknownDepartment(spelling)

    def get(self, name: str) -> Department:
        for d in self.departments:
            if d.name == name:
                return d
        raise UnknownDepartment(name)

    def short(self, name: str) -> str:
        return self.get(name).short

    def names(self, category: str | None = None) -> list[str]:
        return [d.name for d in self.departments if category is None or d.category == category]

    def pinyin_key(self, short_name: str) -> str:
        """Sort key for pinyin order: the registry's 拼音 column, else computed by pypinyin (slow to load)."""
        for d in self.departments:
            if d.short == short_name and d.pinyin:
                return d.pinyin
        return pinyin_of(short_name)

    def flags(self) -> dict[str, set[str]]:
        """department -> the registry flags the rules can test with flag("…")."""
        return {d.name: {"应进驻大厅"} if d.hall else set() for d in self.departments}

    def nearest(self, spelling: str, n: int = 3) -> list[str]:
        """The existing names closest to a spelling (for the department.unknown hint)."""
        import difflib

        key = self._key(spelling)
        by_key = {self._key(s): d.short for d in self.departments for s in (d.name, d.short, d.full, *d.aliases)}
        found = difflib.get_close_matches(key, list(by_key), n=n * 3, cutoff=0.4)
        out: list[str] = []
        for k in found:
            if by_key[k] not in out:
                out.append(by_key[k])
        return out[:n]

    def rows(self, *, stored: bool = False) -> list[dict[str, str]]:
        """The registry as rows of the 部门 sheet / departments.csv. `stored`: what the history keeps, the
        retired units too (停用 = 是) and, per unit, the columns the workbook set (SET_KEY)."""
        out = [row_of(d) for d in self.departments]
        if stored:
            out += [{**row_of(d), "停用": "是"} for d in self.retired]
            for row, d in zip(out, (*self.departments, *self.retired)):
                row[SET_KEY] = "、".join(d.set_fields)
                if "停用" in d.set_fields and not row["停用"]:
                    row["停用"] = "否"  # listed again by the workbook though the office retired it
        return out

    def in_annex(self, number: int) -> list[Department]:
        return [d for d in self.departments if number in d.annexes]


def row_of(d: Department) -> dict[str, str]:
    """One unit as a row of text keyed by column (the form departments.csv and the 部门 sheet use)."""
    return {"部门": d.name, "简称": d.short, "全称": d.full, "别名": "、".join(d.aliases), "类别": d.category,
            "附件": ",".join(str(a) for a in d.annexes), "邮箱": ";".join(d.emails), "拼音": d.pinyin,
            "应进驻大厅": "是" if d.hall else "",
            "既往连续": "；".join(f"{c.rule} 截至{c.month} 连续{c.months}个月" for c in d.carried), "停用": ""}
