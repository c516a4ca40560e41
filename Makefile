# PainPath front door. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BENCH ?= ../shared/benchmark-v2/dev

.PHONY: system-run system-test run interview serve test install kb-check kb-stats evaluate bench bench-api bench-batch robustness clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## The exact versions in requirements.lock (what the tests last passed with), then PainPath itself.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed

## System packages (Pango for PDFs; for tests also Chromium, npm + axe-core, PostgreSQL started).
system-run:
	@bash scripts/setup-system.sh run

system-test:
	@bash scripts/setup-system.sh test

HOST ?= 127.0.0.1
PORT ?= 8000

## Run the main job: the web app and REST API on SQLite (data in ./data), at http://$(HOST):$(PORT)/
run: system-run install
	$(BIN)/painpath serve --host $(HOST) --port $(PORT)

## The adaptive interview in the terminal.
interview: install
	$(BIN)/painpath interview

## Run the whole test suite.
test: system-test install
	$(BIN)/painpath kb check
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

kb-check: install
	$(BIN)/painpath kb check

kb-stats: install
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

## Pin every package of the test environment to its exact version in requirements.lock (what pip-audit reads;
## see docs/threat-model.md, Dependencies). Installs ".[test]" first, so the pins are of a complete environment.
.PHONY: lock
## Re-resolve the newest versions pyproject.toml allows and write them to requirements.lock (then run make test).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade -e ".[test]"
	{ \
	  echo "# Exact versions of PainPath's test environment: pip install -e \".[test]\" on Python $$($(BIN)/python -c 'import platform; print(platform.python_version())') ($$(uname -s) $$(uname -m))."; \
	  echo "# Regenerate with: make lock   (pip freeze --exclude-editable, sorted; PainPath itself is left out). Do not edit by hand."; \
	  echo "# Reproduce the environment: pip install -r requirements.lock && pip install --no-deps -e ."; \
	  $(BIN)/python -m pip freeze --exclude-editable | LC_ALL=C sort -f; \
	} > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
