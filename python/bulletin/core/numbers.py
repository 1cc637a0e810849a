"""Normalising what staff paste into a cell: numbers as text, "62.71%", full-width digits, "28,079",
stray spaces, Excel error values. Unambiguous forms are normalised; anything else is a problem."""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Zero-width characters web pages and chat tools leave in copied text: removed like stray spaces (the cell
# still gets a warning naming them); other invisible characters stay errors.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_DROP = re.compile(f"[\\s{ZERO_WIDTH}]+")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def clean_text(value: Any) -> str:
    """NFKC (full-width to half-width), no whitespace and no zero-width characters: the form names and
    headers compare in."""
    if value is None:
        return ""
    return _DROP.sub("", unicodedata.normalize("NFKC", str(value)))


def zero_width_in(value: Any) -> str:
    """The zero-width characters a text cell holds, named for a warning ("" when none): U+200B 零宽空格."""
    if not isinstance(value, str):
        return ""
    found = dict.fromkeys(ch for ch in value if ch in ZERO_WIDTH)
    return "、".join(f"U+{ord(ch):04X} {INVISIBLE_NAMES[ch]}" for ch in found)


EXCERPT_CHARS = 40  # how much of a cell's value a message quotes


def excerpt(text: Any, limit: int = EXCERPT_CHARS) -> str:
    """A value as a message quotes it: at most `limit` characters, then "…（共100000字）"."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}…（共{len(text)}字）"


def present(v: Any) -> bool:
    """A value is there: neither None nor NaN (how blank cells reach the engine)."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and clean_text(value) == "") or (
        isinstance(value, float) and value != value)


# Characters a clerk cannot see in a cell: named in messages so the problem can be found and deleted.
INVISIBLE_NAMES = {"\u200b": "零宽空格", "\u200c": "零宽非连接符", "\u200d": "零宽连接符", "\u2060": "零宽不换行空格",
                   "\ufeff": "字节顺序标记（BOM）", "\u00ad": "软连字符", "\u200e": "从左到右标记",
                   "\u200f": "从右到左标记", "\u202a": "方向控制符", "\u202c": "方向控制符", "\u202d": "方向控制符",
                   "\u202e": "方向控制符"}
EXCEL_CELL_LIMIT = 32767  # characters an Excel cell can hold


def _invisible(ch: str) -> str | None:
    if ch in INVISIBLE_NAMES:
        return INVISIBLE_NAMES[ch]
    cat = unicodedata.category(ch)
    if cat == "Cf" or (cat == "Cc" and ch not in "\t\n\r"):
        return "控制字符"
    return None


def visible(text: Any) -> str:
    """The text with every invisible character spelled out: "12\u200b3" -> "12[U+200B 零宽空格]3"."""
    out = []
    for ch in str(text):
        name = _invisible(ch)
        out.append(f"[U+{ord(ch):04X} {name}]" if name else ch)
    return "".join(out)


def has_invisible(text: Any) -> bool:
    return any(_invisible(ch) for ch in str(text))


class BadNumber(ValueError):
    def __init__(self, rule: str, shown: str):
        super().__init__(rule)
        self.rule = rule
        self.shown = shown


def parse_number(value: Any, *, percent: bool = False, percent_format: bool = False) -> float | None:
    """Parse one cell. Returns None for blank; raises BadNumber(rule) for what cannot be read.

    With ``percent`` the result is a percent number (62.71): "62.71%" and 62.71 read as such; a number
    stored in a %-formatted cell, or a bare number between 0 and 1, is a fraction and is scaled.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise BadNumber("value.not_number", str(value))
    if isinstance(value, (int, float, Decimal)):
        number = _float(value)
        if percent and (percent_format or 0 <= number <= 1):
            number = float(Decimal(str(number)) * 100)
        return number
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise BadNumber("value.not_number", str(value))
    text = clean_text(value)
    if text.upper() in EXCEL_ERRORS:
        raise BadNumber("value.excel_error", text.upper())
    is_pct = text.endswith("%")
    if is_pct:
        text = text[:-1]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        if has_invisible(text) and _PLAIN.match("".join(ch for ch in text if not _invisible(ch))):
            raise BadNumber("value.invisible_char", visible(str(value).strip()))
        raise BadNumber("value.not_number", visible(str(value).strip()))
    number = _float(text)
    if percent and not is_pct and 0 <= number <= 1:
        number = float(Decimal(text) * 100)
    return number


def _float(value: Any) -> float:
    """float() without OverflowError: a 400-digit integer is infinite here, and refused by the bounds."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if not str(value).lstrip().startswith("-") else -math.inf


def round_half_up(value: float | Decimal | None, places: int = 2) -> float | None:
    """Round as the office prints (0.125 -> 0.13), on the decimal value, not the binary float."""
    if value is None:
        return None
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    return float(d.quantize(quantum, rounding=ROUND_HALF_UP))


_QUANTA = {p: Decimal(1).scaleb(-p) for p in range(7)}  # 0.01 for 2 places…: made once, used on every figure


def to_decimal(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def parse_date(value: Any) -> dt.date | None:
    """A date cell (datetime/date) or text such as 2023-07-10, 2023/7/10, 2023年7月10日."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE.match(clean_text(value))
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
