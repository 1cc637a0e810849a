# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BULLETIN := $(VENV)/bin/bulletin
SAMPLE := examples/2023-06/通报数据-2023-06.xlsx
MAY := examples/2023-05/通报数据-2023-05.xlsx

.PHONY: demo test setup samples bench bench-console serve console-screenshots clean workbook docx-template

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

demo: setup
	rm -f out/history.sqlite
	$(PY) examples/build_early_months.py out/early-months  # made-up Jan-Apr 2023, for the trend charts
	for f in out/early-months/*.xlsx; do $(BULLETIN) import-month $$f --history out/history.sqlite || exit 1; done
	$(BULLETIN) import-month $(MAY) --history out/history.sqlite
	$(BULLETIN) run $(SAMPLE) --history out/history.sqlite --out out; test $$? -le 1
	@# the 通报 as Word, and as PDF with PNGs of page 1 and of 附件5 where LibreOffice is installed
	if command -v soffice >/dev/null; then \
	  $(BULLETIN) render $(SAMPLE) --history out/history.sqlite --out out --pdf && \
	  $(PY) tools/pdf_snapshots.py out/通报-2023-06.pdf out; \
	else $(BULLETIN) render $(SAMPLE) --history out/history.sqlite --out out; fi
	$(BULLETIN) charts $(SAMPLE) --history out/history.sqlite --out out/charts
	$(BULLETIN) mail $(SAMPLE) --month 2023-06 --history out/history.sqlite --out out
	@echo "结果工作簿在 out/ 目录下；历史库为 out/history.sqlite。"

test: setup
	$(PY) -m pytest

samples: setup
	$(PY) examples/build_samples.py

workbook: setup
	$(PY) -m bulletin.build.workbook

docx-template: setup  # regenerate templates/通报.docx (overwrites staff edits to it)
	$(PY) tools/make_docx_template.py

bench: setup
	$(PY) bench/bench_run.py

bench-console: setup  # a warm console's check and run, server-side
	$(PY) bench/bench_console.py

serve: setup  # the browser console on this PC (127.0.0.1); the first line printed is its address
	$(BULLETIN) serve

console-screenshots: setup  # the README's pictures of the console (docs/console-*.png), from the browser tests
	BULLETIN_SCREENSHOTS=1 $(PY) -m pytest tests/console/test_browser.py

clean:
	rm -rf $(VENV) out
