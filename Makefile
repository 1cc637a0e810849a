# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BULLETIN := $(VENV)/bin/bulletin
SAMPLE := examples/2023-06/通报数据-2023-06.xlsx
MAY := examples/2023-05/通报数据-2023-05.xlsx

.PHONY: demo test setup samples bench clean workbook

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
	$(BULLETIN) charts $(SAMPLE) --history out/history.sqlite --out out/charts
	$(BULLETIN) mail $(SAMPLE) --month 2023-06 --history out/history.sqlite --out out
	@echo "结果工作簿在 out/ 目录下；历史库为 out/history.sqlite。"

test: setup
	$(PY) -m pytest

samples: setup
	$(PY) examples/build_samples.py

workbook: setup
	$(PY) -m bulletin.build.workbook

bench: setup
	$(PY) bench/bench_run.py

clean:
	rm -rf $(VENV) out
