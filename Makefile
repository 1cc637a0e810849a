# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BULLETIN := $(VENV)/bin/bulletin
SAMPLE := examples/2023-06/通报数据-2023-06.xlsx
MAY := examples/2023-05/通报数据-2023-05.xlsx

.PHONY: demo test setup mutation samples bench bench-scale bench-console bench-collect bench-server serve console-screenshots clean workbook docx-template

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  found=$$($(PYTHON) --version 2>&1) || found="找不到 $(PYTHON) / $(PYTHON) not found"; \
	  echo "错误：需要 Python 3.11 或更新版本（现有：$$found）。请安装 Python 3.11+，或指定解释器：make PYTHON=python3.11" >&2; \
	  echo "Error: Python 3.11+ is required (found: $$found). Install it, or name it: make PYTHON=python3.11" >&2; \
	  exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "错误：无法创建虚拟环境。Debian/Ubuntu 上请先安装 python3-venv（sudo apt-get install python3-venv）。" >&2; \
	  echo "Error: could not create the venv; on Debian/Ubuntu install python3-venv first." >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .  # setuptools is in requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	rm -f out/history.sqlite
	$(PY) examples/build_early_months.py out/early-months  # made-up Jan-Apr 2023, for the trend charts
	for f in out/early-months/*.xlsx; do $(BULLETIN) import-month $$f --history out/history.sqlite || exit 1; done
	$(BULLETIN) import-month $(MAY) --history out/history.sqlite
	$(BULLETIN) run $(SAMPLE) --history out/history.sqlite --out out; test $$? -le 1
	@# the 通报 as Word, and as PDF with PNGs of page 1 and of 附件5 where LibreOffice (and poppler) is installed
	@if command -v soffice >/dev/null || command -v libreoffice >/dev/null; then \
	  $(BULLETIN) render $(SAMPLE) --history out/history.sqlite --out out --pdf || exit 1; \
	  if command -v pdftoppm >/dev/null; then $(PY) tools/pdf_snapshots.py out/通报-2023-06.pdf out || exit 1; \
	  else echo "未找到 pdftoppm，跳过 PDF 页面截图（sudo apt-get install poppler-utils）。"; fi; \
	else $(BULLETIN) render $(SAMPLE) --history out/history.sqlite --out out || exit 1; \
	  echo "未找到 LibreOffice，已跳过 PDF（Word 文档已生成）。要生成 PDF：Debian/Ubuntu 运行" \
	       "sudo apt-get install libreoffice-writer，Windows 安装 LibreOffice（https://www.libreoffice.org），再运行 make demo。"; \
	  echo "LibreOffice not found: PDF skipped. For the PDF: sudo apt-get install libreoffice-writer" \
	       "(Windows: install LibreOffice), then make demo again."; fi
	$(BULLETIN) charts $(SAMPLE) --history out/history.sqlite --out out/charts
	$(BULLETIN) mail $(SAMPLE) --month 2023-06 --history out/history.sqlite --out out
	@echo "结果工作簿在 out/ 目录下；历史库为 out/history.sqlite。"

test: setup
	$(PY) -m pytest

# mutmut over core/ and engine.py against the fast tests (a staged copy in build/mutation/; long: not part of
# make test). The score per module and each surviving mutant; MODULES="numbers compare" for some modules only.
mutation: setup
	$(PY) tools/mutation.py $(MODULES)

samples: setup
	$(PY) examples/build_samples.py

workbook: setup
	$(PY) -m bulletin.build.workbook

docx-template: setup  # regenerate templates/通报.docx (overwrites staff edits to it)
	$(PY) tools/make_docx_template.py

bench: setup
	$(PY) bench/bench_run.py

bench-scale: setup  # check + run with 10,000 rows in an annex (target <= 3 s)
	$(PY) bench/bench_scale.py

bench-console: setup  # a warm console's check and run, server-side
	$(PY) bench/bench_console.py

bench-collect: setup  # collect send (40 fill-in workbooks) and import (30 returns) vs an openpyxl floor (target <= 1.5x)
	$(PY) bench/bench_collect.py

bench-server: setup  # 40 department users + 2 clerks on 2 server processes sharing a PostgreSQL started here (p95 <= 1 s)
	$(PY) bench/bench_server.py

serve: setup  # the browser console on this PC (127.0.0.1); the first line printed is its address
	$(BULLETIN) serve

console-screenshots: setup  # the README's pictures of the console (docs/console-*.png), from the browser tests
	BULLETIN_SCREENSHOTS=1 $(PY) -m pytest tests/console/test_browser.py tests/console/test_browser_desk.py

clean:
	rm -rf $(VENV) out

.PHONY: windows-bundle
windows-bundle: setup  # the offline bundle for office IT: dist/windows/ (wheels, program, bulletin.xlsm, setup.bat)
	$(PY) tools/windows_bundle.py
