# tthc-metrics: `make run` serves on the embedded SQLite database, `make test` runs the whole suite.
SHELL := /bin/bash
# The first of python3.11, python3.12, python3.13, python3 that runs and is 3.11–3.13 (a pyenv shim of a
# version that is not active does not run); PYTHON=/path/to/python3.X chooses another.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	"$$p" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null \
	&& { command -v "$$p"; break; }; done)
PY_VERSION := $(shell '$(PYTHON)' -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
comma := ,
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test ci-extra lint format openapi bench bench-compare fuzz clean

# The environment records the Python that built it (.venv/.built-by-python-X.Y.Z): another Python, an
# upgraded or removed one, or an environment left half-built by a failed install is rebuilt here.
VENV_STAMP := $(VENV)/.built-by-python-$(PY_VERSION)
$(VENV_STAMP):
	@set -e; \
	if [ -z '$(PY_VERSION)' ]; then \
	  echo "make: $(if $(filter command line environment,$(origin PYTHON)),PYTHON=$(PYTHON) does not run,no Python 3.11$(comma) 3.12 or 3.13 found (tried python3.11$(comma) python3.12$(comma) python3.13$(comma) python3)); install one (Debian: apt-get install python3 python3-venv) and/or run make PYTHON=/path/to/python3.X" >&2; \
	  exit 1; \
	fi; \
	case '$(PY_VERSION)' in 3.11.*|3.12.*|3.13.*) ;; *) \
	  echo "make: $(PYTHON) is Python $(PY_VERSION); tthc-metrics needs 3.11, 3.12 or 3.13: run make PYTHON=/path/to/python3.X" >&2; \
	  exit 1;; \
	esac; \
	if [ -e '$(VENV)' ]; then \
	  built=$$('$(BIN)/python' -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true); \
	  if [ -z "$$built" ]; then why="has no Python that runs (removed, upgraded, or a failed install)"; \
	  elif [ "$$built" != '$(PY_VERSION)' ]; then why="was built by Python $$built"; \
	  else case "$$('$(BIN)/uv' --version 2>/dev/null)" in \
	    "uv $(UV_VERSION)"|"uv $(UV_VERSION) "*) touch '$@'; exit 0;; \
	    *) why="was left half-built by a failed install (no uv $(UV_VERSION) in it)";; \
	  esac; fi; \
	  echo "make: $(VENV) $$why; rebuilding it with $(PYTHON) (Python $(PY_VERSION))"; \
	  rm -rf '$(VENV)'; \
	fi; \
	'$(PYTHON)' -m venv '$(VENV)' || { echo "make: '$(PYTHON) -m venv' failed (Debian: apt-get install python3-venv for that Python)" >&2; rm -rf '$(VENV)'; exit 1; }; \
	'$(BIN)/pip' install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" || { rm -rf '$(VENV)'; exit 1; }; \
	touch '$@'

$(VENV)/.synced: $(VENV_STAMP) pyproject.toml uv.lock
	@echo "UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --python $(BIN)/python --quiet"
	@UV_PROJECT_ENVIRONMENT='$(VENV)' '$(BIN)/uv' sync --locked --python '$(BIN)/python' --quiet \
	  || { echo "make: installing the locked dependencies into $(VENV) failed (above); make clean install rebuilds $(VENV) from scratch" >&2; exit 1; }
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

# The heavier CI-only checks in tests/ci (nginx with TLS in front of a real server, a backup during an
# import, the report's XLSX printed through LibreOffice and poppler), which `make test` leaves out;
# .ci/run calls this after `make test`. They skip when a tool is missing, unless CI requires them
# (TTHC_REQUIRE_NGINX=1, TTHC_REQUIRE_RENDER=1, set by .ci/run). TTHC_RENDER_OUT=dir keeps the PDF and
# PNGs of the print to look at.
ci-extra: install
	$(BIN)/pytest tests/ci -p no:cacheprovider

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
# LOAD_ARGS="--dossiers N --seconds S --ingest N --sqlite-only". Then the crash, concurrency and
# national-index property tests at full size.
fuzz: install
	$(BIN)/python -m tests.trust.fuzz $(ARGS)
	$(BIN)/python -m tests.trust.load $(LOAD_ARGS)
	TTHC_TRUST_FULL=1 $(BIN)/pytest -p no:cacheprovider tests/trust/test_crash.py tests/trust/test_concurrency.py \
		tests/test_index_properties.py

clean:
	rm -rf $(VENV) .venv-3.12 .venv-3.13 .mypy_cache .ruff_cache
