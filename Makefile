# Earmark: `make run` runs the bot, `make test` runs lint and the test suite.
# `make test-postgres` runs the suite again against a throwaway PostgreSQL server.
# Each target creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run

.PHONY: install install-test run test test-postgres lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-test: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m bot run

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The whole suite on PostgreSQL: scripts/with-postgres.sh installs (as root, from Debian),
# starts and always stops a server on 127.0.0.1 and sets EARMARK_TEST_DATABASE_URL.
test-postgres: $(STAMP)
	scripts/with-postgres.sh $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.scan_bench
	$(BIN)/python -m bench.match_bench
	$(BIN)/python -m bench.library_bench
	$(BIN)/python -m bench.request_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
