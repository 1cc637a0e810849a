"""What the clerk can do next (the actions' `next`), in the console's words: its buttons, tabs and controls —
never a command-line flag, a command or a staff file the page cannot open."""
from __future__ import annotations

from typing import Any, Iterable

from ..errors import Next

NEXT = {
    "overwrite_text": "如需改用新生成的文字：在“问题文本”页点该段的“恢复为生成文字”，或勾选“重新生成时覆盖人工修改”后再点“生成问题文本”。",
    "reset_status": "如需按规则重置：在“附件表”页点“按规则重置状态”（整张表），或点某单位状态旁的“↺”。",
    "close_previous_month": "请先存入上月（{subject}）的数据：上传或选择上月的工作簿，点“结转下月”，再回到本月的工作簿。",
    "close_month": "请先点“结转下月”存入本月（{subject}）。",
    "fix_problems": "请先改正：点“校验数据”，在“校验结果”页查看全部问题。",
    "set_email": "请在“部门”页填写“{subject}”的邮箱，再点“邮件预览”。",
    "resend": "核实后如需重发“{subject}”：在“邮件”页点该单位的“重发”。",
    "give_month": "请在“总体情况”表填写月份（下载工作簿，在 Excel 或 WPS 中填写后再上传）。",
    "refresh_charts": "点“总览图表”查看本月图表。",
    "set_password": "请信息科在运行工作台的电脑上为邮箱 {subject} 设置发信密码，再点“发送邮件”。",
    "remind": "点“催报”给尚未报齐的单位发催报邮件。",
    "give_returns": "请点“导入回传”，选择各单位回传的工作簿（可一次选多个）。",
    "set_mailbox": "请信息科设置收取回传的办公邮箱。",
    "set_imap_password": "请信息科在运行工作台的电脑上为邮箱 {subject} 设置收信密码。",
}


def said(nexts: Iterable[Next]) -> list[str]:
    """The next steps as the page words them (each once)."""
    return list(dict.fromkeys(NEXT[n.action].format(subject=n.subject) for n in nexts))


def next_json(nexts: Iterable[Any]) -> list[dict[str, str]]:
    """The next steps for the page: action, subject and the console's sentence (the page may show a control)."""
    out, seen = [], set()
    for n in nexts:
        if (n.action, n.subject) not in seen:
            seen.add((n.action, n.subject))
            out.append({**n.json(), "text": NEXT[n.action].format(subject=n.subject)})
    return out
