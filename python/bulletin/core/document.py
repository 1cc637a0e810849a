"""The 通报 document's content, ready for the Word template: parameters resolved, the adopted paragraphs,
and each annex table's printed strings, drawn from the printed-table model (core/tables.py).

Pure: month data, statuses, the adopted 问题文本 rows and the document settings in, plain dicts and
strings out (the context of templates/通报.docx). Nothing here knows about Word.
"""
from __future__ import annotations

from ..errors import UserError

import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..spec import ANNEXES, DOCUMENT_PARAM_KEYS, AnnexSpec
from .month import MonthData, last_day
from .numbers import clean_text, is_blank, parse_date
from .tables import PrintedTable, RowKind, build_tables

PARAM_KEYS = DOCUMENT_PARAM_KEYS  # the 参数 rows the document reads
SETTING_KEYS = (*PARAM_KEYS, "状态底色")
PLACEHOLDERS = ("区", "年", "月", "发文年")
SECTION_KEYS = {"总体情况": "overview", "存在问题": "problems", "下步工作要求": "requirements"}
_HEX = re.compile(r"^[0-9A-Fa-f]{6}$")
NO_FILL = "auto"  # w:shd fill of an unshaded cell


class DocumentError(UserError):
    """A problem with the document's settings, parameters or template (Chinese message, for the user)."""


@dataclass(frozen=True)
class DocumentSettings:
    """document.yaml, checked: the defaults of the document's 参数 rows and the status shading."""

    defaults: dict[str, str]  # PARAM_KEYS -> default text (may hold {placeholders})
    fills: dict[str, str]  # status (红/黄) -> RGB hex

    @staticmethod
    def from_dict(d: Mapping[str, Any], where: str = "document.yaml") -> "DocumentSettings":
        if not isinstance(d, Mapping):
            raise DocumentError(f"{where} 应是“名称: 值”的列表")
        unknown = sorted(set(d) - set(SETTING_KEYS))
        if unknown:
            raise DocumentError(f"{where} 中有不认识的项：{'、'.join(map(str, unknown))}；可用的项："
                                f"{'、'.join(SETTING_KEYS)}")
        missing = [k for k in SETTING_KEYS if k not in d]
        if missing:
            raise DocumentError(f"{where} 缺少：{'、'.join(missing)}")
        fills = d["状态底色"]
        if not isinstance(fills, Mapping) or set(fills) - {"红", "黄"}:
            raise DocumentError(f"{where} 的“状态底色”只能有“红”“黄”两项")
        for status, color in fills.items():
            if not _HEX.match(str(color)):
                raise DocumentError(f"{where} 的“状态底色”中“{status}”应为六位十六进制颜色，如 F8CBAD")
        return DocumentSettings({k: "" if d[k] is None else str(d[k]) for k in PARAM_KEYS},
                                {k: str(v).upper() for k, v in fills.items()})


def date_zh(d: dt.date) -> str:
    """2023年7月10日 (GB/T 9704: Arabic numerals, no leading zeros)."""
    return f"{d.year}年{d.month}月{d.day}日"


def resolve_params(settings: DocumentSettings, params: Mapping[str, Any], *, month: str, district: str,
                   today: dt.date) -> dict[str, str]:
    """The document's parameters: the 参数 sheet's rows override the defaults; placeholders filled in."""
    raw = dict(settings.defaults)
    for key in PARAM_KEYS:
        if key in params and not is_blank(params[key]):
            raw[key] = params[key]
    issued_raw = raw["印发日期"]
    if is_blank(issued_raw):
        issued = today
    else:
        issued = parse_date(issued_raw)
        if issued is None:
            raise DocumentError(f"参数“印发日期”的值“{issued_raw}”不是日期，应写成 2023-07-10 或 2023年7月10日")
    year, mon = (int(x) for x in month.split("-"))
    values = {"区": district, "年": year, "月": mon, "发文年": issued.year}
    out = {}
    for key in PARAM_KEYS:
        if key == "印发日期":
            out[key] = date_zh(issued)
            continue
        text = str(raw[key]).strip()
        try:
            out[key] = text.format_map(values)
        except KeyError as exc:
            raise DocumentError(f"参数“{key}”中的占位符 {{{exc.args[0]}}} 不认识；可用的占位符："
                                f"{'、'.join('{' + p + '}' for p in PLACEHOLDERS)}") from exc
        except (ValueError, IndexError) as exc:
            raise DocumentError(f"参数“{key}”的值“{text}”中的花括号不成对（占位符应写成 {{年}} 这样）") from exc
    return out


def cutoff_date(data: MonthData) -> dt.date:
    """统计截止日期 from the 总体情况 sheet, else the month's last day."""
    given = parse_date(data.scalars.get("统计截止日期"))
    if given:
        return given
    year, mon = (int(x) for x in data.month.split("-"))
    return dt.date(year, mon, last_day(year, mon))


# GB/T 9704-2012 7.3.3: a long title breaks "词意完整，排列对称，长短适宜"; lines of 2号 type on the 156 mm
# text width hold 20 full-width characters (digits and Latin letters count half).
TITLE_LINE_UNITS = 20
TITLE_BREAK = re.compile(r"\s*[|｜\n]\s*")  # a break written into the title (参数 or document.yaml) wins
DOC_KINDS = ("通报", "通知", "报告", "意见", "决定", "函", "纪要", "请示", "批复")  # 文种
PHRASE_ENDS = ("工作", "情况", "的", "和", "及", "与", "有关", "关于")  # where a 事由 phrase may end


def _units(text: str) -> float:
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def title_lines(title: str, issuer: str = "", max_units: float = TITLE_LINE_UNITS) -> list[str]:
    """The title's lines: as written when it holds a break ("|", "｜" or a new line); else one line when it
    fits, or the fewest lines, broken only between its parts (发文机关 / 事由 / 文种) or after a phrase of the
    事由 (…工作 / …情况 / before a month like 6月份), never inside a word, the lines as even as possible
    (ties: the longer line first, a trapezoid)."""
    parts = [p for p in TITLE_BREAK.split(title.strip()) if p]
    if len(parts) > 1 or _units(title) <= max_units:
        return parts or [title]
    cuts = set()
    if issuer and title.startswith(issuer):
        cuts.add(len(issuer))
    kind = next((k for k in DOC_KINDS if title.endswith(k)), "")
    if kind:
        cuts.add(len(title) - len(kind))
    for i in range(1, len(title)):
        if any(title[:i].endswith(w) for w in PHRASE_ENDS):
            cuts.add(i)
        if title[i].isdigit() and not title[i - 1].isdigit():
            cuts.add(i)
    cuts = sorted(c for c in cuts if 0 < c < len(title))
    best: tuple | None = None
    n = math.ceil(_units(title) / max_units)
    while best is None and n <= len(cuts) + 1:
        for chosen in itertools.combinations(cuts, n - 1):
            bounds = (0, *chosen, len(title))
            lines = [title[a:b] for a, b in zip(bounds, bounds[1:])]
            widths = [_units(ln) for ln in lines]
            if max(widths) > max_units:
                continue
            key = (max(widths) - min(widths), [-w for w in widths])
            if best is None or key < best[0]:
                best = (key, lines)
        n += 1
    return best[1] if best else [title]


def annex_rows(table: PrintedTable, fills: Mapping[str, str]) -> list[dict[str, Any]]:
    """The table body for the template, in printed order. Each row: kind, bold, cells (the printed
    strings), fill (a department row's status colour, else "auto"), label and merge (annex 3's names)."""
    return [{"kind": r.kind.value, "bold": r.bold, "cells": list(r.cells), "label": r.label, "merge": r.merge.value,
             "fill": fills.get(r.status, NO_FILL) if r.kind is RowKind.DEPARTMENT else NO_FILL}
            for r in table.rows]


def narrative(text_rows: Sequence[Mapping[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """overview/problems/requirements -> paragraphs {heading, lines}: the adopted text (column 文本 of
    问题文本), one document paragraph per line."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in SECTION_KEYS.values()}
    for r in text_rows:
        lines = [ln.strip() for ln in str(r["text"]).splitlines() if ln.strip()]
        if r["section"] in SECTION_KEYS and (lines or r["heading"]):
            out[SECTION_KEYS[r["section"]]].append({"heading": r["heading"], "lines": lines})
    return out


def build_context(data: MonthData, statuses: Mapping[str, Mapping[str, Any]],
                  text_rows: Sequence[Mapping[str, str]], settings: DocumentSettings, *, district: str,
                  today: dt.date, annexes: Sequence[AnnexSpec] = ANNEXES) -> dict[str, Any]:
    """Everything templates/通报.docx may use (a template naming anything else fails, naming it)."""
    if not data.month:
        raise DocumentError("无法确定月份：请在“总体情况”表填写月份，或用 --month 指定")
    params = resolve_params(settings, data.params, month=data.month, district=district, today=today)
    year, mon = (int(x) for x in data.month.split("-"))
    built = build_tables(data, district, statuses=statuses)
    tables = []
    for spec in annexes:
        table = built[spec.sheet]
        tables.append({"number": spec.number, "sheet": spec.sheet, "title": table.title,
                       "landscape": spec.landscape, "columns": [c.name for c in table.columns],
                       "name_at": table.name_at, "rows": annex_rows(table, settings.fills)})
    return {
        "district": district, "year": year, "month": mon, "cutoff": date_zh(cutoff_date(data)),
        "issuer_mark": params["发文机关标志"], "doc_number": params["发文字号"],
        "title": "".join(title_lines(params["标题"], district)),
        "title_lines": title_lines(params["标题"], district),
        "recipients": params["主送"], "printer": params["印发机关"], "print_date": params["印发日期"],
        **narrative(text_rows),
        "annex_list": [{"number": t["number"], "title": t["title"]} for t in tables],
        "annexes": tables,
    }
