# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Debian's chromium and a Chinese font for the browser tests (tests/browser), from apt when
## missing: never a downloaded browser. Quiet when they are there; needs root or sudo otherwise.
BROWSER_PACKAGES ?= chromium fonts-wqy-zenhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@missing=$$(for p in $(BROWSER_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "no apt-get: install $$missing yourself (browser tests skip without chromium)"; exit 0; fi; \
	echo "installing" $$missing "with apt-get (browser tests)"; \
	$(SUDO) apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  $$missing >/dev/null

## Run the product on the embedded SQLite database under ./var, with demo data on first run:
## it answers at once while the demo loads in the background (progress in the log, GET /health).
run: install
	$(BIN)/memberkit db upgrade
	@echo "Demo staff (published passwords, for the demo only): owner / owner-demo-2026," \
	  "manager / manager-demo-2026 and cashier / cashier-demo-2026 (both of the first store)"
	$(BIN)/memberkit serve --demo-if-empty --host $(HOST) --port $(PORT)

## Lint, type-check and run the whole suite (SQLite; PostgreSQL with MEMBERKIT_TEST_DATABASE_URL).
test: install browser lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install browser
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/earn.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
