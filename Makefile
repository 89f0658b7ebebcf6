# tthc-metrics: `make run` serves on the embedded SQLite database, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test lint format openapi bench bench-compare fuzz clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(BIN)/uv pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --python $(BIN)/python --quiet
	@touch $@

install: $(VENV)/.synced

run: install
	$(BIN)/tthc-metrics migrate
	$(BIN)/tthc-metrics serve

lint: install
	$(BIN)/ruff check app tests benchmarks migrations
	$(BIN)/ruff format --check app tests benchmarks
	$(BIN)/mypy app tests benchmarks

format: install
	$(BIN)/ruff format app tests benchmarks
	$(BIN)/ruff check --fix app tests benchmarks

test: lint
	$(BIN)/pytest

openapi: install
	$(BIN)/python -m app.openapi_export > openapi.json

bench: install
	$(BIN)/python -m benchmarks.run $(ARGS)

# Old (BASE, any git revision) against new (this checkout, uncommitted changes included), interleaved,
# medians of >= 3 rounds on the same data; docs/PERFORMANCE.md, "Comparing two commits".
# make bench-compare BASE=0706e8c ARGS="--size 100000 --rounds 3 --store sqlite"
BASE ?= HEAD~1
bench-compare: install
	$(BIN)/python -m benchmarks.compare --base '$(BASE)' $(ARGS)

# A long contract-fuzzing session (schemathesis, every check) against the real server on SQLite and
# PostgreSQL; `make test` runs a short seeded one. ARGS="--examples 1000 --seed N --keep DIR".
# Then the hostile load (tests/trust/load.py) on 150,000 dossiers for a minute, 2 workers;
# LOAD_ARGS="--dossiers N --seconds S --ingest N --sqlite-only".
fuzz: install
	$(BIN)/python -m tests.trust.fuzz $(ARGS)
	$(BIN)/python -m tests.trust.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
