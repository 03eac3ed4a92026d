# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Run the product on the embedded SQLite database under ./var, with demo data on first run.
run: install
	$(BIN)/memberkit db upgrade
	$(BIN)/memberkit demo --if-empty
	$(BIN)/memberkit serve --host $(HOST) --port $(PORT)

## Lint, type-check and run the whole suite (SQLite; PostgreSQL with MEMBERKIT_TEST_DATABASE_URL).
test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/earn.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
