# Two commands do everything on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install run test lint openapi bench bench-sandbox bench-redirect bench-invites bench-refresh bench-outage bench-stats bench-matching bench-report clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/loupe dev

test: install
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests migrations $(wildcard bench)
	$(BIN)/ruff format --check src tests migrations $(wildcard bench)
	$(BIN)/mypy

openapi: install
	$(BIN)/loupe openapi --output openapi/openapi.json

bench: bench-sandbox bench-redirect bench-invites bench-refresh bench-outage bench-stats bench-matching bench-report

bench-sandbox: install
	$(BIN)/python bench/sandbox_bench.py

bench-redirect: install
	$(BIN)/python bench/redirect_bench.py --servers granian,uvicorn

bench-invites: install
	$(BIN)/python bench/invites_bench.py

bench-refresh: install
	$(BIN)/python bench/refresh.py

bench-outage: install
	$(BIN)/python bench/outage_bench.py

bench-stats: install
	$(BIN)/python bench/stats_bench.py

bench-matching: install
	$(BIN)/python bench/matching_bench.py

bench-report: install
	$(BIN)/python bench/report_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
