# PainPath front door. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BENCH ?= ../shared/benchmark-v2/dev

.PHONY: system-run system-test run interview serve test test-quick lint install install-run kb-check kb-stats evaluate bench bench-api bench-batch robustness clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## Two environments in one .venv, each from its lock file, then PainPath itself:
##   serving only (make run): requirements-run.lock, the runtime dependencies of pyproject.toml;
##   everything for the tests (make test): requirements.lock, ".[test]" (pytest, Playwright, the batch and
##   report extras: Polars, PyArrow, Dask, matplotlib ...). The test environment includes the runtime one.
$(VENV)/.installed-run: pyproject.toml requirements-run.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-run.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@ $(VENV)/.installed-run

install-run: $(VENV)/.installed-run
install: $(VENV)/.installed

## System packages (Pango for PDFs; for tests also Chromium, npm + axe-core, PostgreSQL started).
system-run:
	@bash scripts/setup-system.sh run

system-test:
	@bash scripts/setup-system.sh test

HOST ?= 127.0.0.1
PORT ?= 8000

## Run the main job: the web app and REST API on SQLite, at http://$(HOST):$(PORT)/ . The database lives in the
## user's data directory (painpath serve prints where; PAINPATH_DATA_DIR moves it). While no clinic exists,
## http://127.0.0.1:$(PORT)/setup creates the first one and its admin (from this machine only).
run: system-run install-run
	$(BIN)/painpath serve --host $(HOST) --port $(PORT)

## The adaptive interview in the terminal.
interview: install-run
	$(BIN)/painpath interview

## Run the whole test suite (after the linters and the knowledge-base check).
test: system-test install lint
	$(BIN)/painpath kb check
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

## A quick subset for a first check: no browser, no PostgreSQL, no reliability (crash and fault) tests.
test-quick: install
	PAINPATH_TEST_BROWSER=skip PAINPATH_TEST_POSTGRES=skip $(BIN)/python -m pytest tests -q -p no:cacheprovider \
	  --ignore=tests/browser --ignore=tests/reliability

## ruff (style, imports, likely bugs; pyproject.toml [tool.ruff]) and mypy (types; [tool.mypy]).
lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

kb-check: install-run
	$(BIN)/painpath kb check

kb-stats: install-run
	$(BIN)/painpath kb stats

evaluate: install
	$(BIN)/painpath evaluate $(BENCH) --mode both
	$(BIN)/painpath evaluate $(BENCH) --mode both --interview

bench: install
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_interview.py

bench-api: install
	$(BIN)/python benchmarks/bench_api.py

bench-batch: install
	$(BIN)/python benchmarks/bench_batch.py

robustness: install
	$(BIN)/python benchmarks/robustness.py $(BENCH)
	$(BIN)/python benchmarks/robustness.py $(BENCH) --interview --copies 10

## Extract every translatable string (templates, web code, knowledge base, care plans) into
## messages.pot and update each language's messages.po (new strings get an empty translation).
LOCALE := src/painpath/web/locale
LANGS ?= es
messages: install
	mkdir -p build/i18n
	$(BIN)/pybabel extract -F babel.cfg -w 100 --project PainPath -o build/i18n/web.pot .
	$(BIN)/python scripts/extract_content_messages.py --merge build/i18n/web.pot -o $(LOCALE)/messages.pot
	for lang in $(LANGS); do \
	  $(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l $$lang -w 100 \
	    --init-missing --no-fuzzy-matching --ignore-obsolete || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache

## Pin every package of both environments to its exact version: requirements.lock (the test environment, which
## pip-audit reads; see docs/threat-model.md, Dependencies) and requirements-run.lock (what serving needs, the
## same versions). Re-resolves the newest versions pyproject.toml allows (then run make test).
.PHONY: lock
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade -e ".[test]"
	{ \
	  echo "# Exact versions of PainPath's test environment: pip install -e \".[test]\" on Python $$($(BIN)/python -c 'import platform; print(platform.python_version())') ($$(uname -s) $$(uname -m))."; \
	  echo "# Regenerate with: make lock   (pip freeze --exclude-editable, sorted; PainPath itself is left out). Do not edit by hand."; \
	  echo "# Reproduce the environment: pip install -r requirements.lock && pip install --no-deps -e ."; \
	  $(BIN)/python -m pip freeze --exclude-editable | LC_ALL=C sort -f; \
	} > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
	rm -rf build/run-venv
	$(PYTHON) -m venv build/run-venv
	build/run-venv/bin/python -m pip install --quiet -c requirements.lock -e .
	{ \
	  echo "# Exact versions of what PainPath needs to serve (the runtime dependencies of pyproject.toml, no extras), at the versions of requirements.lock."; \
	  echo "# Regenerate with: make lock. Do not edit by hand. Install: pip install -r requirements-run.lock && pip install --no-deps -e ."; \
	  build/run-venv/bin/python -m pip freeze --exclude-editable | LC_ALL=C sort -f; \
	} > requirements-run.lock.tmp
	mv requirements-run.lock.tmp requirements-run.lock
	rm -rf build/run-venv
