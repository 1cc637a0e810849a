#!/bin/sh
# 麒麟/统信 (and any Linux desktop): starts the browser console (bulletin serve) and opens the default browser.
# Needs the .venv made by `make setup` in this folder. Closing the terminal window stops the console.
cd "$(dirname "$0")" || exit 1
if [ ! -x .venv/bin/python ]; then
  echo "未找到 .venv：请先在此目录运行 make setup（或请信息科安装）。"
  read -r _
  exit 1
fi
exec .venv/bin/python -m bulletin serve "$@"
