# Earmark: `make run` runs the bot, `make test` runs lint and the test suite.
# Each target creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run

.PHONY: install install-test run test lint typecheck bench clean migrations

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

bench: $(STAMP)
	$(BIN)/python -m bench.scan_bench
	$(BIN)/python -m bench.match_bench
	$(BIN)/python -m bench.library_bench
	$(BIN)/python -m bench.request_bench

# After changing core/models.py: write the next migration into core/migrations/ and commit it.
# NAME=add_series names it (default: auto_<date>). Review the file: Tortoise 1.1 leaves out
# `generated=False` on a non-generated integer primary key.
migrations: $(STAMP)
	$(BIN)/tortoise makemigrations $(if $(NAME),--name $(NAME))
	$(BIN)/ruff check --no-cache --fix --quiet core/migrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
