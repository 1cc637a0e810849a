"""Renders the bulletin's text from facts with the Jinja2 templates under templates/narrative/.

Each ``{% block %}`` of a section template is one paragraph; its name is the paragraph's id
(section.block), the unit staff edits are kept by. A paragraph that renders empty is left out. A
template that uses a fact the engine does not supply fails loudly, naming it (StrictUndefined).
"""
from __future__ import annotations

from .errors import UserError

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2

from .resources import TEMPLATES_DIR

SECTIONS = ("总体情况", "存在问题", "下步工作要求")
_HEADING = re.compile(r"^（[一二三四五六七八九十]+）")


class TemplateError(UserError):
    """A template problem (Chinese message naming the template and what is wrong)."""


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the text as a template block rendered it."""

    id: str  # "总体情况.即办件"
    section: str
    heading: str  # "（一）不见面审批、即办件、时限压缩情况" or ""
    text: str


def fmt_pct(v: Any) -> str:
    """62.71 -> "62.71%", 100 -> "100%" (as the office writes a whole percentage)."""
    if v is None:
        return "—"
    text = f"{float(v):.2f}"
    return (text[:-3] if text.endswith(".00") else text) + "%"


def fmt_num(v: Any) -> str:
    if v is None:
        return "—"
    f = float(v)
    return str(int(f)) if f == int(f) else f"{f:g}"


def fmt_abs(v: Any, places: int = 2) -> str:
    if v is None:
        return "—"
    f = abs(float(v))
    return str(int(f)) if f == int(f) and places == 0 else (f"{f:.{places}f}" if places else f"{f:g}")


def names(items: Any, sep: str = "、") -> str:
    """A list of names as the text says it (a NameList shortens itself: "A、B、C等N个单位")."""
    text = getattr(items, "text", None)
    if text is not None and sep == "、":
        return text
    return sep.join(str(i) for i in items)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates are cached (keyed by each template's checksum, so edits take effect), in jinja2's
    own per-user folder: it refuses a folder another user made or could write (the cache is loaded as code)."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # no safe folder: compile each time
        return None


def environment(folder: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                             autoescape=False, bytecode_cache=_bytecode_cache())
    env.filters.update(pct=fmt_pct, num=fmt_num, absval=fmt_abs, names=names)
    return env


def _split(section: str, block: str, text: str) -> Paragraph:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    heading = lines[0] if len(lines) > 1 and _HEADING.match(lines[0]) else ""
    body = "\n".join(lines[1:] if heading else lines)
    return Paragraph(f"{section}.{block}", section, heading, body)


NUMERALS = "一二三四五六七八九十"


def render(facts: Mapping[str, Any], folder: Path = TEMPLATES_DIR) -> list[Paragraph]:
    env = environment(folder)
    out = []
    for section in SECTIONS:
        name = f"narrative/{section}.j2"
        try:
            macros = env.get_template("narrative/_macros.j2").make_module(dict(facts))
            template = env.get_template(name)
            context = template.new_context({**facts, "t": macros})
            list(template.root_render_func(context))  # top-level {% set %} shared by the blocks
            n = 0
            for block, render_block in template.blocks.items():
                text = "".join(render_block(context))
                if not text.strip():
                    continue
                if "（#）" in text:  # headings are numbered in the order the paragraphs appear
                    text = text.replace("（#）", f"（{NUMERALS[n]}）", 1)
                    n += 1
                out.append(_split(section, block, text))
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"模板 {name} 使用了引擎未提供的变量：{exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"模板 {name} 有错误：{exc}") from exc
    return out


def render_facts(facts: Any, folder: Path = TEMPLATES_DIR) -> list[Paragraph]:
    """The text step: an analysis's facts said by the templates."""
    return render(facts.as_dict(), folder)


def as_sections(paragraphs: list[Paragraph]) -> dict[str, str]:
    """section -> its whole text (headings on their own lines), as printed."""
    out: dict[str, list[str]] = {}
    for p in paragraphs:
        out.setdefault(p.section, []).extend([p.heading, p.text] if p.heading else [p.text])
    return {k: "\n".join(v) for k, v in out.items()}


def merge_edits(paragraphs: list[Paragraph], earlier: Mapping[str, Mapping[str, str]], *,
                overwrite: bool = False) -> list[dict[str, str]]:
    """Rows of the 问题文本 sheet. A paragraph staff edited (its text differs from what was generated
    then) keeps their text, with the newly generated one shown beside it, unless `overwrite`."""
    rows = []
    for p in paragraphs:
        before = earlier.get(p.id)
        edited = bool(before) and before["text"].strip() != before["generated"].strip()
        if edited and not overwrite:
            changed = before["generated"].strip() != p.text.strip()
            note = "已人工修改，保留原文" + ("；本次生成的文本有变化，请对照" if changed else "")
            rows.append({"id": p.id, "section": p.section, "heading": p.heading, "text": before["text"],
                         "generated_now": p.text, "generated": p.text, "note": note})
        else:
            note = "已覆盖人工修改" if edited else ""
            rows.append({"id": p.id, "section": p.section, "heading": p.heading, "text": p.text,
                         "generated_now": p.text, "generated": p.text, "note": note})
    return rows


def sections_from_rows(rows: list[Mapping[str, str]]) -> dict[str, str]:
    """section -> text as it will be printed (the adopted text of each paragraph)."""
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["section"], []).extend([r["heading"], r["text"]] if r["heading"] else [r["text"]])
    return {k: "\n".join(v) for k, v in out.items()}
