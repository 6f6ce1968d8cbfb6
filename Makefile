# cx-value: two commands do everything.
#   make demo   set up, build the warehouse on the demo data, print headline figures
#   make test   set up, then every test: pytest, dbt build on a fresh database, sqlfluff
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CX_DUCKDB_PATH ?= .data/cx_value.duckdb
TEST_DB := .data/test/cx_value_test.duckdb

.PHONY: help setup demo test test-python test-dbt test-integration lint bench generate-seeds clean browser docs

help:
	@echo "make demo   - set up and build the warehouse on the demo data ($(CX_DUCKDB_PATH))"
	@echo "make test   - set up and run every test (pytest, dbt build, sqlfluff, ruff)"
	@echo "make bench  - generator and CLV-fit benchmarks at 1,000,000 customers (results in benchmarks/results/)"
	@echo "make docs   - the dbt docs site as one static HTML file (<publish dir>/docs/index.html)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (the stack is pinned for Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(STAMP)

setup: $(STAMP)

# build builds the working database, validates it and publishes it (the paths it prints);
# BI tools read the published file read-only or the Parquet files in exports/current/.
demo: setup
	$(BIN)/cx-value build
	$(BIN)/cx-value summary
	@echo "published database (open read-only): $(abspath $(CX_DUCKDB_PATH))"
	@echo "Parquet exports of the public marts:  $(abspath $(dir $(CX_DUCKDB_PATH)))/exports/current/"

test: setup test-python test-dbt test-integration lint

test-python:
	$(BIN)/ruff check cx_value tests benchmarks
	$(BIN)/pytest -m "not integration"

# A fresh database each time: the tests see exactly what a new user would.
test-dbt:
	rm -rf $(dir $(TEST_DB)) && mkdir -p $(dir $(TEST_DB))
	CX_DUCKDB_PATH=$(TEST_DB) $(BIN)/cx-value build

test-integration:
	CX_DUCKDB_PATH=$(TEST_DB) $(BIN)/pytest -m integration

lint:
	$(BIN)/sqlfluff lint models analyses

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/generate_1m.py
	$(BIN)/python benchmarks/clv_fit.py

# Regenerate the committed demo seeds (small, dirty, deterministic).
generate-seeds: setup
	rm -f seeds/demo/*.csv
	rm -rf seeds/demo/_truth
	$(BIN)/cx-value generate --out seeds/demo --customers 1000 --seed 42 --format csv

# Headless Chromium for the dashboard test and screenshot, from Debian's packages
# (Playwright drives it; its own browser download needs the internet).
browser:
	@if [ -x /usr/bin/chromium ]; then /usr/bin/chromium --version; else \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

# One self-contained HTML file (models, columns, contracts, lineage, exposures), copied
# next to the published database: CX_PUBLISH_DIR, else the published database's folder.
docs: setup
	$(BIN)/dbt docs generate --static --profiles-dir .
	@publish_dir="$(or $(CX_PUBLISH_DIR),$(patsubst %/,%,$(dir $(CX_DUCKDB_PATH))))"; \
	mkdir -p "$$publish_dir/docs"; \
	cp target/static_index.html "$$publish_dir/docs/index.html"; \
	echo "docs site: $$publish_dir/docs/index.html"

clean:
	rm -rf .data target logs
