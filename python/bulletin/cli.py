"""The `bulletin` command: every step of the monthly job on files (for WPS users, scripts and CI)."""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import actions
from .errors import Next, UserError
from .actions.common import summary
from .core.month import MonthData
from .core.problems import SEVERITY_ZH

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
OUTPUT_COMMANDS = ("render", "charts", "mail")  # steps that make files from a checked month: problems summed up


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors in Chinese, exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"参数错误：{message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bulletin", description="政务服务能力提升月度通报：校验、重新计算、生成结果工作簿。")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="命令")

    def workbook_cmd(name: str, help_: str, out: bool) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help_, description=help_)
        s.add_argument("workbook", type=Path, help="输入工作簿（.xlsx / .xlsm）")
        s.add_argument("--month", help="月份，如 2023-06（默认取“总体情况”表中的月份）")
        if out:
            s.add_argument("--out", type=Path, default=None, help="输出目录（默认：工作簿所在目录下的 out）")
        s.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        return s

    def with_history(s: argparse.ArgumentParser) -> argparse.ArgumentParser:
        s.add_argument("--history", type=Path, default=None,
                       help=f"历史库文件（默认：settings.yaml 的 history_file；未设置时为工作簿所在目录下的 {actions.HISTORY_NAME}）")
        return s

    workbook_cmd("check", "校验输入数据，列出全部问题", out=False)
    rc = with_history(workbook_cmd("recalc", "校验并重新计算、标注状态（历史库有上月时含上月/变化），写出新的结果工作簿", out=True))
    rc.add_argument("--in-place", action="store_true",
                    help="写回输入工作簿本身（如 bulletin.xlsm：只写计算列、状态和生成的表，先留带时间戳的备份）")
    r = with_history(workbook_cmd("run", "完整运行：校验、重新计算、与上月比较、标注落后单位、生成问题文本、输出结果工作簿",
                                  out=True))
    r.add_argument("--overwrite-text", action="store_true", help="用新生成的文字覆盖工作人员修改过的段落")
    r.add_argument("--reset-status", action="store_true", help="按规则重新标注状态（覆盖工作人员确认过的状态）")
    with_history(workbook_cmd("compare", "与上月比较（需要历史库中有上月数据）", out=False))
    with_history(workbook_cmd("narrate", "生成通报文字（总体情况、存在问题、下步工作要求）", out=False))
    with_history(workbook_cmd("close-month", "结转：把本月已校验的数据存入历史库（有错误时拒绝）", out=False))
    with_history(workbook_cmd("import-month", "补录：把以前月份的工作簿存入历史库", out=False))
    rd = with_history(workbook_cmd("render", "生成通报文档：Word（GB/T 9704 公文格式，含 8 个附件表），加 --pdf 同时生成 PDF",
                                   out=True))
    rd.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 生成 PDF")
    ch = with_history(workbook_cmd("charts", "生成图表图片：各单位比率条形图和全区月度趋势图（PNG）", out=False))
    ch.add_argument("--out", type=Path, default=None, help="图片输出目录（默认：工作簿所在目录下的 out/charts）")
    m = with_history(workbook_cmd("mail", "邮件分发：为每个单位生成数据摘录和邮件草稿（.eml），加 --send 才发送",
                                  out=True))
    m.add_argument("--send", action="store_true", help="通过 SMTP 发送（默认只生成草稿）")
    m.add_argument("--host", help="SMTP 服务器（覆盖 mail.yaml 和“参数”表）")
    m.add_argument("--port", type=int, help="SMTP 端口")
    m.add_argument("--user", help="SMTP 登录用户（密码取自环境变量或系统钥匙串）")
    m.add_argument("--security", choices=("ssl", "starttls"), help="加密方式")
    m.add_argument("--resend", action="append", default=[], metavar="单位",
                   help="强制重发该单位（可多次使用）")
    m.add_argument("--only", action="append", default=[], metavar="单位", help="只处理这些单位（可多次使用）")
    sv = sub.add_parser("serve", help="启动浏览器工作台（WPS、麒麟/统信、禁用宏的电脑用）",
                        description="启动浏览器工作台：在浏览器中完成各按钮的步骤。默认只允许本机访问。")
    sv.add_argument("--port", type=int, default=0, help="端口（默认自动选一个空闲端口）")
    sv.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")
    sv.add_argument("--folder", type=Path, default=None, help="工作文件夹（默认：用户目录下的“通报工作台”）")
    sv.add_argument("--history", type=Path, default=None,
                    help=f"历史库文件（默认：settings.yaml 的 history_file；未设置时为工作簿所在目录下的 {actions.HISTORY_NAME}）")
    sv.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，仅本机）")
    sv.add_argument("--allow-remote", action="store_true",
                    help="允许其他电脑访问（与 --host 一起使用；用办公数据库中的账号登录，见 bulletin users）")
    sv.add_argument("--accounts", action="store_true",
                    help="在本机（127.0.0.1）也用办公数据库中的账号和角色登录（小型办公室、测试用）")
    sv.add_argument("--trusted-proxy", default=None, metavar="IP",
                    help="信任此地址的反向代理在 X-Remote-User 头中给出的用户（单点登录；默认取 settings.yaml 的 trusted_proxy）")
    co = sub.add_parser("collect", help="数据报送：下发填报工作簿、导入回传、报送情况、催报",
                        description="数据报送：向各单位下发填报工作簿，导入回传（校验、合并或退回），查看报送情况，催报。")
    csub = co.add_subparsers(dest="collect_command", required=True, parser_class=_Parser, metavar="步骤")

    def collect_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        s = csub.add_parser(name, help=help_, description=help_)
        s.add_argument("workbook", type=Path, help="本月总表（.xlsx / .xlsm）")
        s.add_argument("--month", help="月份（默认取总表“总体情况”中的月份）")
        s.add_argument("--history", type=Path, default=None, help="历史库文件（报送记录存于其中）")
        s.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        return s

    cs = collect_cmd("send", "为每个单位生成填报工作簿和邮件草稿（.eml），加 --send 才发送")
    cs.add_argument("--deadline", help="本月报送截止日期，如 2023-07-07（默认按 collect.yaml 计算）")
    cs.add_argument("--out", type=Path, default=None, help="输出目录（默认：总表所在目录下的 out）")
    cs.add_argument("--send", action="store_true", help="通过 SMTP 发送（默认只生成草稿）")
    cs.add_argument("--only", action="append", default=[], metavar="单位", help="只处理这些单位（可多次使用）")
    ci = collect_cmd("import", "导入回传的填报工作簿：校验、合并进总表，或退回、拒绝")
    ci.add_argument("returns", type=Path, nargs="*", help="回传文件或文件夹")
    ci.add_argument("--imap", action="store_true", help="同时读取办公邮箱（mail.yaml 的 imap）中的回传")
    ci.add_argument("--out", type=Path, default=None, help="退回邮件草稿的输出目录（默认：总表所在目录下的 out）")
    ci.add_argument("--send", action="store_true", help="退回邮件通过 SMTP 发送（默认只生成草稿）")
    st = collect_cmd("status", "报送情况：各单位各附件的状态、日期和逾期天数（并写入总表的“报送情况”表）")
    st.add_argument("--no-sheet", action="store_true", help="不写入总表")
    mk = collect_cmd("mark", "标记：某单位的附件已确认（已报并核实）、退回（附原因，部门重新报送），或本月无需报送（不算缺报）")
    mk.add_argument("department", metavar="单位", help="单位名称（简称、全称或别名）")
    mk.add_argument("--state", required=True, choices=("已确认", "无需报送", "退回"), help="标记为（退回须用 --reason 写明原因）")
    mk.add_argument("--annex", action="append", default=[], metavar="附件N", help="只标记这些附件（默认：本月该单位的全部附件）")
    mk.add_argument("--reason", default="", help="说明（记入报送记录）")
    rm = collect_cmd("remind", "催报：按时间表给未报或被退回的单位发催报（每个时间点只发一次）")
    rm.add_argument("--out", type=Path, default=None, help="草稿输出目录（默认：总表所在目录下的 out）")
    rm.add_argument("--send", action="store_true", help="通过 SMTP 发送（默认只生成草稿）")
    t = sub.add_parser("template", help="生成某月的空白输入工作簿", description="生成某月的空白输入工作簿")
    t.add_argument("--month", required=True, help="月份，如 2023-07")
    t.add_argument("-o", "--output", type=Path, required=True, help="输出文件 .xlsx")
    t.add_argument("--history", type=Path, help="历史库：部门名录和各附件的单位取自其中最近结转的月份"
                                                 f"（默认：输出文件所在目录下的 {actions.HISTORY_NAME}，存在时）")
    t.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    _office_commands(sub)
    return p


def _office_commands(sub) -> None:
    """`bulletin db …` and `bulletin users …`: the office database and its accounts."""
    def with_db(s: argparse.ArgumentParser) -> argparse.ArgumentParser:
        s.add_argument("--history", type=Path, default=None,
                       help="历史库文件：未设置 BULLETIN_DATABASE_URL 和 settings.yaml 的 database_url 时，"
                            "数据库就是这个历史库文件（默认：settings.yaml 的 history_file，否则当前目录下的 history.sqlite）")
        s.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        return s

    db = sub.add_parser("db", help="办公数据库（账号、审计日志）：升级、把历史库复制到 PostgreSQL",
                        description="办公数据库：位置取自环境变量 BULLETIN_DATABASE_URL 或 settings.yaml 的 database_url")
    dbs = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser, metavar="操作")
    with_db(dbs.add_parser("upgrade", help="升级数据库结构（可重复运行）", description="升级数据库结构（可重复运行）"))
    cp = dbs.add_parser("copy", help="把历史库（SQLite 文件，含发送记录）复制到 PostgreSQL，逐表核对行数和校验和",
                        description="把历史库（SQLite 文件，含发送记录）复制到另一个数据库（如 PostgreSQL），"
                                    "逐表核对行数和校验和。目标已有历史时拒绝，除非加 --replace。")
    cp.add_argument("--to", required=True, metavar="数据库地址", help="目标，如 postgresql+psycopg://用户@服务器/数据库")
    cp.add_argument("--history", type=Path, default=None,
                    help="要复制的历史库文件（默认：settings.yaml 的 history_file）")
    cp.add_argument("--replace", action="store_true", help="目标已有历史时，用本历史库替换")
    cp.add_argument("--json", action="store_true", help="以 JSON 输出结果")

    users = sub.add_parser("users", help="办公服务器的账号：添加、批量导入、停用、启用、重置密码、更改角色或部门、列出",
                           description="办公服务器的账号（存于办公数据库）。新账号和重置后的账号首次登录须修改密码。")
    us = users.add_subparsers(dest="users_command", required=True, parser_class=_Parser, metavar="操作")
    a = with_db(us.add_parser("add", help="添加一个账号（密码取自环境变量 BULLETIN_NEW_PASSWORD，否则提示输入）",
                              description="添加一个账号（密码取自环境变量 BULLETIN_NEW_PASSWORD，否则提示输入两次）"))
    a.add_argument("name", metavar="用户名")
    a.add_argument("--role", required=True, help="角色：管理员、科员、部门填报员、领导（见 roles.yaml）")
    a.add_argument("--department", default=None, help="部门（部门填报员必填，须在部门名录中）")
    im = with_db(us.add_parser("import", help="从 CSV 批量导入账号（列：用户名,角色,部门,初始密码）",
                               description="从 CSV 批量导入账号（列：用户名,角色,部门,初始密码）：先检查每一行，"
                                           "有任何问题则列出全部问题、一个也不导入"))
    im.add_argument("csv", type=Path, metavar="账号.csv")
    for name, help_ in (("disable", "停用账号（其已登录的会话立即失效）"), ("enable", "重新启用账号"),
                        ("reset", "重置密码：生成临时密码，下次登录须修改；同时解除锁定")):
        c = with_db(us.add_parser(name, help=help_, description=help_))
        c.add_argument("name", metavar="用户名")
    bd = with_db(us.add_parser("bind", help="更改账号的角色或所属部门（其已登录的会话立即失效）",
                               description="更改账号的角色或所属部门（部门填报员须填写部门）；其已登录的会话立即失效"))
    bd.add_argument("name", metavar="用户名")
    bd.add_argument("--role", required=True, help="角色：管理员、科员、部门填报员、领导（见 roles.yaml）")
    bd.add_argument("--department", default=None, help="部门（部门填报员必填，须在部门名录中）")
    with_db(us.add_parser("list", help="列出全部账号", description="列出全部账号"))


# What the user can do next (actions' `next`), in the command line's words: its flags and commands.
NEXT = {
    "overwrite_text": "如需用新生成的文字覆盖人工修改的段落，请加 --overwrite-text 重新运行。",
    "reset_status": "如需按规则重置状态（覆盖工作人员确认的状态），请加 --reset-status 重新运行。",
    "close_previous_month": "请先存入上月（{subject}）的数据：bulletin close-month 上月工作簿（或 bulletin import-month "
                            "以前的工作簿 --month {subject}）。",
    "close_month": "请先结转本月（{subject}）：bulletin close-month 工作簿。",
    "fix_problems": "请先改正（bulletin check 工作簿 列出全部问题）。",
    "set_email": "请在部门名录（departments.csv，或工作簿“部门”表）中填写“{subject}”的“邮箱”。",
    "resend": "核实后如需重发：bulletin mail 工作簿 --send --resend {subject}",
    "give_month": "请在“总体情况”表填写月份，或用 --month 指定。",
    "refresh_charts": "“总览”图表请看 bulletin run 生成的结果工作簿，或运行 bulletin charts。",
    "set_password": "请设置环境变量 {env}，或用命令 keyring set {service} {subject} 存入系统钥匙串。",
    "remind": "催报：bulletin collect remind 总表（加 --send 直接发送）。",
    "give_returns": "请给出回传的工作簿或其所在文件夹，或加 --imap 读取办公邮箱。",
    "set_mailbox": "请在 collect.yaml 的 imap 中填写 host 和 user。",
    "set_imap_password": "请设置环境变量 {env}，或用命令 keyring set {service} {subject} 存入系统钥匙串。",
}


def said(nexts: Sequence[Next]) -> list[str]:
    """The next steps as the command line words them (each once)."""
    lines = []
    for n in nexts:
        extra = {}
        if n.action == "set_password":  # where this office keeps it: mail.yaml's names
            from .config import load_mail_settings

            smtp = load_mail_settings().smtp
            extra = {"env": smtp.password_env, "service": smtp.keyring_service}
        elif n.action == "set_imap_password":  # collect.yaml's names for the office mailbox
            from .config import load_collect_settings

            imap = load_collect_settings().imap
            extra = {"env": imap.password_env, "service": imap.keyring_service}
        lines.append(NEXT[n.action].format(subject=n.subject, **extra))
    return list(dict.fromkeys(lines))


def _print_problems(data: MonthData) -> None:
    for p in sorted(data.problems, key=lambda p: p.severity != "error"):
        dept = f"［{p.department}］" if p.department else ""
        print(f"{SEVERITY_ZH[p.severity]}  {p.where}  {dept}{p.message}  ({p.rule})")
    print(f"共发现{summary(data)}。" if data.problems else "校验通过，未发现问题。")


def _log_crash(exc: BaseException) -> Path:
    import traceback  # only for a crash (it costs every run a millisecond or two)

    path = Path.cwd() / f"bulletin-error-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            from .console.server import serve

            return serve(args.folder, args.history, host=args.host, port=args.port, open_browser=not args.no_browser,
                         allow_remote=args.allow_remote, accounts=args.accounts, trusted_proxy=args.trusted_proxy)
        outcome = _on_office_server(args, lambda: _dispatch(args))
    except UserError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        for line in said(exc.next):
            print(line, file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # never a traceback for the user: log it and say where
        print(f"程序内部错误（{type(exc).__name__}），详细信息已写入 {_log_crash(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    return _show(args, outcome)


# The commands that are a month step on a workbook, as the audit log names steps (actions/audit.STEPS)
STEP_OF = {"run": "run", "recalc": "recalc", "compare": "compare", "narrate": "narrate", "close-month": "close-month",
           "import-month": "import-month", "render": "render", "charts": "charts", "mail": "mail-send",
           "collect send": "collect-send", "collect import": "collect-import", "collect remind": "collect-remind",
           "collect mark": "collect-mark", "collect status": "collect-status"}


def _on_office_server(args: argparse.Namespace, run: Callable[[], actions.Outcome]) -> actions.Outcome:
    """With an office database configured (an office server), a command's step on a workbook takes the same step
    lock as the server's processes (it waits for a step running there) and is written to the audit log as the
    command line's user's; on one desk it just runs (nothing more to load)."""
    step = " ".join(filter(None, (args.command, getattr(args, "collect_command", None))))
    workbook = getattr(args, "workbook", None)
    if step not in STEP_OF or workbook is None or (args.command == "mail" and not args.send):
        return run()
    from .actions.common import configured_database

    if not configured_database():
        return run()
    from .actions import audit, office

    title = audit.STEPS[STEP_OF[step]]
    from .actions.accounts import Actor

    def waiting() -> None:
        print("正在等待同一工作簿上的另一个步骤（办公服务器上）完成……", file=sys.stderr, flush=True)

    actor = Actor(f"{getpass.getuser()}（命令行）", "本机")
    with office.step_lock(Path(workbook), waiting):
        try:
            outcome = run()
        except BaseException as exc:
            audit.record_local_step(actor, title, Path(workbook).name, error=exc)
            raise
    audit.record_local_step(actor, title, Path(workbook).name, outcome)
    return outcome


def _dispatch(args: argparse.Namespace) -> actions.Outcome:
    if args.command == "collect":
        outcome = _collect(args)
    elif args.command in ("db", "users"):
        outcome = _office(args)
    elif args.command == "template":
        outcome = actions.template(args.month, args.output, args.history)
    elif args.command == "mail" and args.send:
        outcome = actions.mail_send(args.workbook, args.month, args.history, args.out, host=args.host,
                                    port=args.port, user=args.user, security=args.security, resend=args.resend,
                                    only=args.only,
                                    progress=None if args.json else lambda line: print(line, flush=True))
    elif args.command == "mail":
        if args.resend or any(v is not None for v in (args.host, args.port, args.user, args.security)):
            raise actions.UsageError("--resend、--host、--port、--user、--security 只能与 --send 一起使用")
        outcome = actions.mail_preview(args.workbook, args.month, args.history, args.out, only=args.only)
    elif args.command == "check":
        outcome = actions.check(args.workbook, args.month)
    elif args.command == "recalc" and args.in_place:
        outcome = actions.recalc_in_place(args.workbook, args.month, args.history)
    elif args.command == "recalc":
        outcome = actions.recalc(args.workbook, args.out, args.month, args.history)
    elif args.command == "run":
        outcome = actions.run(args.workbook, args.out, args.month, history=args.history,
                              overwrite_text=args.overwrite_text, reset_status=args.reset_status)
    elif args.command == "render":
        outcome = actions.render(args.workbook, args.out, args.month, args.history, pdf=args.pdf)
    elif args.command == "charts":
        outcome = actions.charts(args.workbook, args.history, args.out, args.month)
    else:
        action = {"compare": actions.compare_cmd, "narrate": actions.narrate, "close-month": actions.close_month,
                  "import-month": actions.import_month}[args.command]
        outcome = action(args.workbook, args.month, args.history)
    return outcome


def _show(args: argparse.Namespace, outcome: actions.Outcome) -> int:
    if args.json:
        json.dump(outcome.json(), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return outcome.exit_code
    if outcome.data is not None:
        print(f"月份：{outcome.data.month or '未知'}")
        if args.command in OUTPUT_COMMANDS and not outcome.data.has_errors:
            # the file steps after `run` (make demo, a script): the warnings were listed once already
            print(f"校验：{summary(outcome.data)}（bulletin check 列出全部问题）。" if outcome.data.problems else
                  "校验通过，未发现问题。")
        else:
            _print_problems(outcome.data)
    if args.command == "compare" and outcome.analysis is not None:
        _print_changes(outcome)
    if outcome.text_rows and args.command in ("run", "narrate"):  # the others' product is a file, not the text
        shown = ("总体情况", "存在问题", "下步工作要求") if args.command == "narrate" else ("总体情况", "存在问题")
        for title, section in zip(("一、", "二、", "三、"), shown):
            if section in outcome.narrative:
                print(f"\n{title}{section}\n{outcome.narrative[section]}")
        print()
    for line in outcome.report:
        print(line)
    for note in outcome.notes:
        print(note)
    for line in said(outcome.next):
        print(line)
    if outcome.output:
        print(f"输出文件：{outcome.output}")
    return outcome.exit_code


def _collect(args: argparse.Namespace) -> actions.Outcome:
    collect = actions.collect
    say = None if args.json else (lambda line: print(line, flush=True))
    common = {"history": args.history, "month": args.month}
    if args.collect_command == "send":
        return collect.send(args.workbook, deadline=args.deadline, out_dir=args.out, mail=args.send, only=args.only,
                            progress=say, **common)
    if args.collect_command == "import":
        return collect.import_returns(args.workbook, args.returns, out_dir=args.out, mail=args.send, imap=args.imap,
                                      progress=say, **common)
    if args.collect_command == "mark":
        return collect.mark(args.workbook, args.department, args.state, annexes=args.annex, reason=args.reason,
                            **common)
    if args.collect_command == "status":
        return collect.status(args.workbook, write=not args.no_sheet, **common)
    return collect.remind(args.workbook, out_dir=args.out, mail=args.send, progress=say, **common)


def _office(args: argparse.Namespace) -> actions.Outcome:
    from .actions import office

    if args.command == "db" and args.db_command == "upgrade":
        return office.upgrade(args.history)
    if args.command == "db":
        return office.copy_history(args.history, args.to, replace=args.replace)
    return _users(args, office)


def _cli_actor():
    import getpass

    from .actions.accounts import Actor

    try:
        who = getpass.getuser()
    except Exception:  # no user name in the environment (a service account): still a record
        who = "未知用户"
    return Actor(f"{who}（命令行）", "本机")


def _new_password() -> str:
    import getpass
    import os

    given = os.environ.get("BULLETIN_NEW_PASSWORD")
    if given:
        return given
    if not sys.stdin.isatty():
        raise actions.UsageError("请设置环境变量 BULLETIN_NEW_PASSWORD，或在终端中运行以输入密码")
    first = getpass.getpass("新账号的密码：")
    if getpass.getpass("再输入一次：") != first:
        raise actions.UsageError("两次输入的密码不一致")
    return first


def _users(args: argparse.Namespace, office) -> actions.Outcome:
    from .actions import accounts

    outcome = actions.Outcome(None)
    with office.open_db(args.history) as db:
        where = db.name
        if args.users_command == "add":
            acc = accounts.add(db, args.name, args.role, args.department, _new_password(), _cli_actor())
            dept = f"（{acc.department}）" if acc.department else ""
            outcome.report.append(f"已添加账号“{acc.name}”：{acc.role}{dept}，首次登录须修改密码。")
            outcome.extra["account"] = _account_json(acc)
        elif args.users_command == "import":
            added = accounts.import_csv(db, args.csv, _cli_actor())
            outcome.report.append(f"已导入 {len(added)} 个账号，首次登录须修改密码：")
            outcome.report += [f"  {a.name}  {a.role}{'  ' + a.department if a.department else ''}" for a in added]
            outcome.extra["accounts"] = [_account_json(a) for a in added]
        elif args.users_command == "disable":
            ended = accounts.disable(db, args.name, _cli_actor())
            outcome.report.append(f"已停用账号“{args.name}”" + (f"，结束了 {ended} 个登录会话。" if ended else "。"))
        elif args.users_command == "enable":
            accounts.enable(db, args.name, _cli_actor())
            outcome.report.append(f"已启用账号“{args.name}”。")
        elif args.users_command == "reset":
            password = accounts.reset(db, args.name, _cli_actor())
            outcome.report.append(f"已重置账号“{args.name}”的密码。临时密码（只显示这一次，请转告本人，"
                                  f"登录后须修改）：{password}")
            outcome.extra["temporary_password"] = password
        elif args.users_command == "bind":
            acc = accounts.bind(db, args.name, args.role, args.department, _cli_actor())
            dept = f"（{acc.department}）" if acc.department else ""
            outcome.report.append(f"已将账号“{acc.name}”改为{acc.role}{dept}；其已登录的会话已结束。")
            outcome.extra["account"] = _account_json(acc)
        else:
            found = accounts.list_accounts(db)
            outcome.extra["accounts"] = [_account_json(a) for a in found]
            outcome.report.append(f"{where} 中共 {len(found)} 个账号：" if found else f"{where} 中还没有账号。")
            for a in found:
                state = "停用" if a.disabled else ("锁定至 " + a.locked_until[:19] if a.locked_until else "启用")
                must = "，须修改密码" if a.must_change_password else ""
                outcome.report.append(f"  {a.name}  {a.role}  {a.department or '—'}  {state}{must}")
    outcome.extra["database"] = where
    return outcome


def _account_json(a) -> dict:
    return {"name": a.name, "role": a.role, "department": a.department, "disabled": a.disabled,
            "must_change_password": a.must_change_password, "locked_until": a.locked_until}


def _print_changes(outcome: actions.Outcome) -> None:
    """District figures this month vs last month, then the biggest movers of each ratio."""
    a = outcome.analysis
    print(f"\n与 {a.previous.month} 比较（全区）：")
    for r in a.comparison.records:
        if r["scope"] == "total" and r["type"] == "ratio":
            print(f"  {r['sheet']} {r['column']}: {r['previous']}% → {r['current']}%  {r['direction']} {r['change']}")
    for label, lists in (("本月新增单位", a.comparison.new_departments), ("本月缺报单位", a.comparison.missing_departments)):
        for sheet, names in lists.items():
            if names:
                print(f"  {sheet} {label}：{'、'.join(names)}")
    for sheet, by_col in a.comparison.drivers.items():
        for col, drivers in by_col.items():
            top = [d for d in drivers[:3] if d.effect]
            if top:
                print(f"  {sheet} {col} 变化主要来自：" + "；".join(f"{d.department} {d.effect:+.2f}" for d in top))

