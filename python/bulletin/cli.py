"""The `bulletin` command: every step of the monthly job on files (for WPS users, scripts and CI)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import traceback
from pathlib import Path
from typing import Sequence

from . import actions
from .adapters.xlsx_files import WorkbookError
from .adapters.xlsx_output import OutputError
from .core.problems import SEVERITY_ZH, Problem

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


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
            s.add_argument("--out", type=Path, default=None, help="输出目录（默认 ./out）")
        s.add_argument("--json", action="store_true", help="以 JSON 输出结果")
        return s

    workbook_cmd("check", "校验输入数据，列出全部问题", out=False)
    workbook_cmd("recalc", "校验并重新计算，写出新的结果工作簿", out=True)
    workbook_cmd("run", "完整运行：校验、重新计算、输出结果工作簿", out=True)
    t = sub.add_parser("template", help="生成某月的空白输入工作簿", description="生成某月的空白输入工作簿")
    t.add_argument("--month", required=True, help="月份，如 2023-07")
    t.add_argument("-o", "--output", type=Path, required=True, help="输出文件 .xlsx")
    t.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    return p


def _print_problems(problems: Sequence[Problem]) -> None:
    errors = sum(p.severity == "error" for p in problems)
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        dept = f"［{p.department}］" if p.department else ""
        print(f"{SEVERITY_ZH[p.severity]}  {p.where}  {dept}{p.message}  ({p.rule})")
    print(f"共发现错误 {errors} 条、警告 {len(problems) - errors} 条。" if problems else "校验通过，未发现问题。")


def _log_crash(exc: BaseException) -> Path:
    path = Path.cwd() / f"bulletin-error-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "template":
            outcome = actions.template(args.month, args.output)
        elif args.command == "check":
            outcome = actions.check(args.workbook, args.month)
        else:
            outcome = getattr(actions, args.command)(args.workbook, args.out, args.month)
    except (actions.UsageError, WorkbookError, OutputError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # never a traceback for the user: log it and say where
        print(f"程序内部错误（{type(exc).__name__}），详细信息已写入 {_log_crash(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    if args.json:
        json.dump(outcome.json(), sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        if outcome.data is not None:
            print(f"月份：{outcome.data.month or '未知'}")
            _print_problems(outcome.data.problems)
        if outcome.output:
            print(f"输出文件：{outcome.output}")
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
