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

.PHONY: help setup demo test test-python test-dbt test-integration lint bench bench-clv generate-seeds clean browser docs ci-pr java test-spark

help:
	@echo "make demo   - set up and build the warehouse on the demo data ($(CX_DUCKDB_PATH))"
	@echo "make test   - set up and run every test (pytest, dbt build, sqlfluff, ruff)"
	@echo "make bench  - full build, incremental run and floor at 10k/100k/1M customers (benchmarks/results.md)"
	@echo "              SIZES=10000 REPEAT=1 for a quick run; REPEAT_LARGE runs at 1M (default 1)"
	@echo "make bench-clv - generator and CLV-fit benchmarks at 1,000,000 customers (benchmarks/results/)"
	@echo "make ci-pr  - build only the models changed since the published build, and what depends on them"
	@echo "make docs   - the dbt docs site as one static HTML file (<publish dir>/docs/index.html)"
	@echo "make test-spark - build the demo data on DuckDB and on Spark and compare every public mart"

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
	$(BIN)/cx-value dashboard --database $(CX_DUCKDB_PATH) --out $(PUBLISH_DIR)/dashboard.html
	@$(MAKE) --no-print-directory docs
	$(BIN)/cx-value summary
	@echo "published database (open it read-only): $(abspath $(CX_DUCKDB_PATH))"
	@echo "Parquet exports of the public marts:      $(abspath $(PUBLISH_DIR))/exports/current/"
	@echo "Data Docs (quality gate):                 $(abspath $(PUBLISH_DIR))/data_docs/index.html"
	@echo "docs site:                                $(abspath $(PUBLISH_DIR))/docs/index.html"
	@echo "dashboard:                                $(abspath $(PUBLISH_DIR))/dashboard.html"

# The unit tests and the SQL lint share nothing, so they run side by side (each is mostly
# one core); then the demo build, which the integration tests read and copy.
test: setup browser
	$(MAKE) --no-print-directory -j2 --output-sync=target test-python lint
	$(MAKE) --no-print-directory test-dbt test-integration

test-python:
	$(BIN)/ruff check cx_value tests benchmarks
	$(BIN)/pytest -m "not integration"

# A fresh database each time: the tests see exactly what a new user would.
test-dbt:
	rm -rf $(dir $(TEST_DB)) && mkdir -p $(dir $(TEST_DB))
	CX_DUCKDB_PATH=$(TEST_DB) $(BIN)/cx-value build --unit-tests

# Two pytest-xdist workers: the tests that share a build run in one worker (groups set
# in tests/python/conftest.py), the longest groups first. TEST_WORKERS=0 runs them in
# this process.
TEST_WORKERS ?= 2
test-integration:
	CX_DUCKDB_PATH=$(TEST_DB) $(BIN)/pytest -m integration \
		$(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS))

# dbt's artefacts of the lint go to target/lint/, so a lint beside a build or a test
# never rewrites the build's target/
lint:
	DBT_TARGET_PATH=target/lint $(BIN)/sqlfluff lint models analyses

# Data sets are generated once per seed and size into .data/bench/ and reused; each run
# builds into a fresh folder. Incremental = full refresh is checked at CHECK_AT.
SIZES ?= 10000,100000,1000000
REPEAT ?= 3
REPEAT_LARGE ?= 1
CHECK_AT ?= 100000
bench: setup
	$(BIN)/python benchmarks/scale.py --sizes $(SIZES) --repeat $(REPEAT) \
		--repeat-large $(REPEAT_LARGE) --check-incremental-at $(CHECK_AT)

bench-clv: setup
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

# Java for Spark, from Debian's packages (pyspark starts a JVM; 17 is the LTS it supports).
java:
	@if command -v java >/dev/null; then java -version 2>&1 | head -1; else \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless; fi

# The same DAG on Spark: the demo data built on DuckDB and on a local Spark (dbt-spark,
# session mode), every public mart compared row for row (tests/spark/).
test-spark: setup java
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	$(BIN)/python -m pip check
	$(BIN)/pytest tests/spark -m spark -p no:cacheprovider

# One self-contained HTML file (models, columns, contracts, lineage, exposures), copied
# next to the published database: CX_PUBLISH_DIR, else the published database's folder.
# The catalog is read from the working database cx-value build uses for CX_DUCKDB_PATH
# (cx_value.publish.resolve_paths, the one place that derives it).
docs: setup
	CX_DUCKDB_WORK_PATH="$$($(BIN)/python -c 'from cx_value.publish import resolve_paths; print(resolve_paths().working)')" \
		$(BIN)/dbt docs generate --static --profiles-dir .
	@publish_dir="$(or $(CX_PUBLISH_DIR),$(patsubst %/,%,$(dir $(CX_DUCKDB_PATH))))"; \
	mkdir -p "$$publish_dir/docs"; \
	cp "$${DBT_TARGET_PATH:-target}/static_index.html" "$$publish_dir/docs/index.html"; \
	echo "docs site: $$publish_dir/docs/index.html"

# Build only what changed against the published build (slim CI for a pull request):
# the models changed since the published manifest and everything downstream of them go
# to a scratch database (.data/ci-pr/); everything else is read from the published file
# (--defer), which stays untouched. Needs a published build (make demo) first.
PUBLISH_DIR = $(or $(CX_PUBLISH_DIR),$(patsubst %/,%,$(dir $(CX_DUCKDB_PATH))))
ci-pr: setup
	@test -f "$(PUBLISH_DIR)/state/manifest.json" || { \
		echo "no published build in $(PUBLISH_DIR) to compare with: run make demo first"; exit 1; }
	rm -rf .data/ci-pr && mkdir -p .data/ci-pr
	CX_TARGET=ci_pr CX_CI_PR_PATH=.data/ci-pr/ci_pr.duckdb DBT_TARGET_PATH=target/ci-pr \
		$(BIN)/dbt build --profiles-dir . --select state:modified+ --defer \
		--state "$(PUBLISH_DIR)/state"

# everything built, but the tracked .data/work/.gitkeep (a plain dbt build needs the folder)
clean:
	rm -rf target logs
	find .data -mindepth 1 -not -path .data/work -not -path .data/work/.gitkeep -delete
