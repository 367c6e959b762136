# Earmark: `make run` runs the bot, `make test` runs lint and the test suite.
# `make test-postgres` runs the suite again against a throwaway PostgreSQL server.
# Each target creates .venv and installs what it needs on a fresh machine, at the
# exact versions of constraints.txt (`make lock` refreshes it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run
LOCK := constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c $(LOCK)

.PHONY: install install-test run test test-postgres lint typecheck bench clean lock docker-check migrations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
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
	$(BIN)/python -m bench.index_bench
	$(BIN)/python -m bench.library_bench
	$(BIN)/python -m bench.request_bench
	$(BIN)/python -m bench.follow_bench

# Refresh constraints.txt: the newest versions pyproject.toml allows, for the run, test
# and postgres extras, resolved by pip-compile in a throwaway venv. Commit the result.
lock:
	tmp=$$(mktemp -d) && $(PYTHON) -m venv $$tmp \
	  && $$tmp/bin/python -m pip install --quiet 'pip-tools>=7.4,<8' \
	  && $$tmp/bin/pip-compile --quiet --upgrade --strip-extras --extra test --extra postgres \
	     --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml; \
	  status=$$?; rm -rf $$tmp; exit $$status

# The Dockerfile's install steps (docker/install.sh) in a clean venv: no container engine needed.
docker-check:
	$(PYTHON) docker/check.py

# After changing core/models.py: write the next migration into core/migrations/ and commit it.
# NAME=add_series names it (default: auto_<date>). Review the file: Tortoise 1.1 leaves out
# `generated=False` on a non-generated integer primary key.
migrations: $(STAMP)
	$(BIN)/tortoise makemigrations $(if $(NAME),--name $(NAME))
	$(BIN)/ruff check --no-cache --fix --quiet core/migrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
