# KetaCare: `make demo` to try it, `make test` to check it. Nothing needs to be installed first
# but Python 3.11 (and, for the browser tests and PostgreSQL, root or sudo for apt-get).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KETACARE_VAR_DIR ?= $(CURDIR)/var
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test test-sqlite test-postgres lint typecheck bench load serve chromium clean help

help:
	@echo "make demo   - set up and serve the demo on http://$(HOST):$(PORT)"
	@echo "make test   - run the whole test suite (with CI=true also on PostgreSQL)"
	@echo "make lint   - ruff, the layer contracts (import-linter) and mypy"
	@echo "make bench  - speed figures on a 100,000-patient cohort (SQLite and PostgreSQL)"
	@echo "make load   - 50 staff for 2 minutes against gunicorn (locust); fails on any error"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "KetaCare needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	KETACARE_HTTPS=false $(BIN)/ketacare migrate --no-input
	KETACARE_HTTPS=false $(BIN)/ketacare demo-users
	KETACARE_HTTPS=false $(BIN)/ketacare seed-demo --patients 250 --seed 1 --if-empty
	KETACARE_HTTPS=false $(BIN)/ketacare demo-today
	KETACARE_HTTPS=false $(BIN)/ketacare demo-portal
	KETACARE_HTTPS=false $(BIN)/ketacare collectstatic --no-input --verbosity 0
	@echo ""
	@echo "  KetaCare is running at http://$(HOST):$(PORT)/"
	@echo "  Sign in as physician, nurse, frontdesk or admin; password: ketacare-demo"
	@echo "  Then set up an authenticator app (QR code), or without a phone:"
	@echo "  .venv/bin/ketacare demo-code USERNAME   prints the code to enter"
	@echo "  (synthetic patients only; stop with Ctrl-C)"
	@echo ""
	KETACARE_HTTPS=false $(BIN)/gunicorn ketacare.config.wsgi --config python:ketacare.config.gunicorn --bind $(HOST):$(PORT) --workers 2 \
		--access-logfile - --forwarded-allow-ips=127.0.0.1

chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's Chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

test: $(STAMP) chromium
	$(MAKE) test-sqlite
	@if [ "$${CI:-}" = "true" ]; then $(MAKE) test-postgres; fi

# One pytest worker per core (pytest-xdist), each with a test database of its own; a file's tests
# stay on one worker, so a module's kept data (tests/conftest.py) is made once.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := --numprocesses=$(PYTEST_WORKERS) --dist=loadfile

test-sqlite: $(STAMP)
	KETACARE_HTTPS=false $(BIN)/pytest $(PYTEST_PARALLEL)

test-postgres: $(STAMP)
	scripts/postgres.sh start
	DATABASE_URL=$$(scripts/postgres.sh url) KETACARE_HTTPS=false $(BIN)/pytest $(PYTEST_PARALLEL); status=$$?; \
		scripts/postgres.sh stop; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy src

bench: $(STAMP)
	KETACARE_HTTPS=false $(BIN)/python benchmarks/run.py

# A private directory and SQLite file of its own (benchmarks/load/run.py --help for a shorter run).
load: $(STAMP)
	$(BIN)/python benchmarks/load/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
