"""Word adapter: renders templates/通报.docx (docxtpl) with the document context, then fixes with python-docx
what a template cannot say (annex 3's merged department cells, schema order of cell properties).

A template that uses a variable the engine does not supply fails, naming it (jinja2 StrictUndefined).
The output is a new file written through a temp file and an atomic rename.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import jinja2
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docxtpl import DocxTemplate

from ..resources import TEMPLATES_DIR
from ..core.document import DocumentError
from .files import write_atomically

TEMPLATE = TEMPLATES_DIR / "通报.docx"
# Children of w:tcPr in the order the schema (and Word) requires; docxtpl's cellbg puts w:shd first.
TCPR_ORDER = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
              "textDirection", "tcFitText", "vAlign", "hideMark", "headers", "cellIns", "cellDel",
              "cellMerge", "tcPrChange")


def environment() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)


def _order_cell_properties(tc_pr: Any) -> None:
    rank = {qn(f"w:{name}"): i for i, name in enumerate(TCPR_ORDER)}
    children = sorted(tc_pr, key=lambda el: rank.get(el.tag, len(rank)))
    for el in children:
        tc_pr.append(el)  # re-appending moves each child into sorted order


def _merge_down(doc: Any, context: Mapping[str, Any]) -> None:
    """Rows marked merge=restart/continue get a vertical merge in the name column (annex 3's groups).
    Body rows follow the header rows one for one (one template row per context row)."""
    for table, annex in zip(doc.tables, context.get("annexes", ())):
        rows = annex["rows"]
        if not any(r["merge"] for r in rows):
            continue
        name_at = annex["name_at"]
        body = table.rows[len(table.rows) - len(rows):]
        for tr, r in zip(body, rows):
            if not r["merge"]:
                continue
            tc = tr._tr.tc_lst[name_at]
            merge = OxmlElement("w:vMerge")
            if r["merge"] == "restart":
                merge.set(qn("w:val"), "restart")
            tc.get_or_add_tcPr().append(merge)


def render_docx(context: Mapping[str, Any], out: Path, template: Path = TEMPLATE) -> Path:
    """Render `template` with `context` into the new file `out`."""
    template = Path(template)
    if not template.exists():
        raise DocumentError(f"找不到通报模板 {template}；可用 make docx-template 重新生成默认模板")
    try:
        tpl = DocxTemplate(template)
        tpl.render(dict(context), jinja_env=environment(), autoescape=True)
    except jinja2.UndefinedError as exc:
        raise DocumentError(f"模板 {template.name} 使用了引擎未提供的变量：{exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise DocumentError(f"模板 {template.name} 中的标记有语法错误（{exc.message}）；请检查 {{{{ }}}} 和 "
                            f"{{% %}} 是否成对") from exc
    except jinja2.TemplateError as exc:
        raise DocumentError(f"模板 {template.name} 有错误：{exc}") from exc
    doc = tpl.docx
    _merge_down(doc, context)
    for tc_pr in doc.element.body.iter(qn("w:tcPr")):
        _order_cell_properties(tc_pr)
    return write_atomically(Path(out), tpl.save)
