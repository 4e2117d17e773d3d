# AIR Portal: `make run` for a working console, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO_PASSWORD ?= airportal-demo
export DEBUG ?= 1

.PHONY: install run test lint format bench-ingest clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Local development settings for any new shell (`.venv/bin/python manage.py …`); git-ignored,
# never overwritten; real environment variables win over it.
.env:
	printf '# Written by make for local development (git-ignored). Environment variables win.\nDEBUG=1\n' > $@

install: $(VENV)/.installed .env

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddemo --password "$(DEMO_PASSWORD)"
	PORT=$(PORT) BIN=$(BIN) sh scripts/run.sh

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-ingest: install
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache
