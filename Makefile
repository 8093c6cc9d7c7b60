# congvu — the README's commands: `make run`, `make test`, `make bench`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test test-dates install lint bench translations browser-deps font-deps clean fuzz

$(STAMP): pyproject.toml examples/vendor-plugin/pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; set PY=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet -e examples/vendor-plugin
	touch $(STAMP)

install: $(STAMP) translations font-deps

translations: $(STAMP)
	@$(BIN)/pybabel compile -d core/translations >/dev/null 2>&1 || $(BIN)/pybabel compile -d core/translations

run: install
	$(BIN)/congvu db upgrade
	$(BIN)/congvu demo --if-empty
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

# DejaVu Serif, which has every Vietnamese glyph, is embedded in the PDF documents
# (core/documents/pdf.py); CONGVU_PDF_FONT_DIR may point elsewhere. Needs root to install.
font-deps:
	@if [ -z "$$CONGVU_PDF_FONT_DIR" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ]; then \
	  if [ "$$(id -u)" = "0" ]; then (apt-get update -qq && apt-get install -y -qq fonts-dejavu-core >/dev/null) || echo "warning: could not install fonts-dejavu-core"; \
	  else echo "note: install fonts-dejavu-core (or set CONGVU_PDF_FONT_DIR) for the PDF documents"; fi; fi

# Debian's chromium for the browser tests; needs root (CI and the dev machines are root).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium"; \
	  else echo "note: /usr/bin/chromium missing and not root; browser tests will skip outside CI"; fi; fi

test: install browser-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-dates

# The tests whose answers depend on "today" (the day's work, reminders and overdue marks,
# dashboards, imports, the nightly jobs, the demo), run as if today were a month's last
# day, 1 January and a Vietnamese public holiday (30 April): the suite passes on any date.
DATE_TESTS ?= tests/work/test_work_items.py tests/work/test_work_pages.py tests/work/test_work_calendar.py tests/dashboards/test_dashboards.py \
	tests/imports/test_imports.py tests/jobs/test_schedule.py tests/classification/test_classification_api.py tests/cli/test_cli.py
DATES ?= 2026-12-31 2027-01-01 2027-04-30
test-dates: install
	@for day in $(DATES); do echo "== the date-sensitive tests as if today were $$day (SQLite)"; \
	  CONGVU_TEST_TODAY=$$day CONGVU_TEST_DATABASES=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider \
	    -m "not browser" $(DATE_TESTS) || exit 1; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Every scenario, small by default; SCALE=50000 for the province-scale targets (long).
# Each writes its own section of docs/benchmarks.md. Needs PostgreSQL on 127.0.0.1.
SCALE ?= 2000
bench: install
	$(BIN)/python -m bench --users $$(( $(SCALE) < 600 ? $(SCALE) : 600 )) $(BENCH_ARGS)
	$(BIN)/python -m bench.scoring --employees $(SCALE)
	$(BIN)/python -m bench.refresh --database congvu_bench_scoring --reuse
	$(BIN)/python -m bench.imports --staff $(SCALE) --items $$(( $(SCALE) * 20 ))
	$(BIN)/python -m bench.dashboards --employees $(SCALE) --unit-size $$(( $(SCALE) < 500 ? $(SCALE) : 500 ))
	$(BIN)/python -m bench.merge --employees $$(( $(SCALE) / 5 )) --months 1 --target-employees $$(( $(SCALE) / 50 ))
	$(BIN)/python -m bench.generate --employees $(SCALE) --months 1

clean:
	rm -rf $(VENV) instance .pytest_cache

# Thousands of generated requests per API operation (the suite runs 50 each).
fuzz: install
	CONGVU_FUZZ_EXAMPLES=$${CONGVU_FUZZ_EXAMPLES:-2000} $(BIN)/python -m pytest tests/app/test_fuzz_api.py -q
