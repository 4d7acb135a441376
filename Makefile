# ContactPulse. `make help` lists the targets. Every target sets up what it needs and is idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_STAMP := .cache/apt.installed
APT_PACKAGES := prometheus prometheus-alertmanager kcat chromium postgresql

.PHONY: help setup demo test lint typecheck unit chaos wheel-test bench kafka-up kafka-down kafka-jars lake-up lake-down schemas dashboards clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PY_SYS) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed"; exit 1; }
	@test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	@echo "setup: installing Python packages into $(VENV) (log: $(VENV)/pip.log)"
	@$(PY) -m pip install --upgrade pip > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@$(PY) -m pip install -e '.[dev]' >> $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	@touch $@

$(APT_STAMP):
	@bash scripts/ensure-apt.sh $(APT_PACKAGES)
	@mkdir -p $(dir $@) && touch $@

setup: $(STAMP) $(APT_STAMP) kafka-jars ## virtualenv, Python packages, Debian packages, broker jars

kafka-jars: ## fetch the Apache Kafka broker jars from Maven Central (cached in .cache/kafka)
	@bash scripts/kafka.sh fetch

kafka-up: $(STAMP) ## start the local Kafka broker (KRaft, 127.0.0.1:$${KAFKA_PORT:-9092}) and create the topics
	@bash scripts/kafka.sh up

kafka-down: ## stop the local Kafka broker
	@bash scripts/kafka.sh down

lake-up: $(APT_STAMP) ## start PostgreSQL for a DuckLake catalog (127.0.0.1:$${PG_PORT:-5544}, database and user contactpulse)
	@bash scripts/postgres.sh up
	@echo "lake: --db '$$(bash scripts/postgres.sh uri)' with CONTACTPULSE_PG_PASSWORD_FILE=.cache/postgres/password"

lake-down: ## stop that PostgreSQL
	@bash scripts/postgres.sh down

demo: setup ## the main job: broker, simulated council traffic, consumer, DuckDB, metrics, wallboard (MINUTES=N to stop)
	@DEMO_MINUTES=$(MINUTES) bash scripts/demo.sh

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy (strict)
	$(VENV)/bin/mypy

dashboards: $(STAMP) ## regenerate Prometheus rules and Grafana dashboards from dashboards/config.toml
	$(PY) -m dashboards.generate

schemas: $(STAMP) ## re-export the contract's JSON Schema files and the OpenAPI document, and docs/adapters.md's table of sources
	$(VENV)/bin/contactpulse export-schemas
	$(PY) -m services.ingest.sources

chaos: setup ## the fault suite: consumer SIGKILLs, the broker killed and paused, a full disk, the decoder fuzzed
	$(PY) -m pytest -q tests/chaos

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest -q tests/unit

wheel-test: $(STAMP) ## build the wheel, install it into a fresh virtualenv outside the repository, run every command
	PY_SYS=$(PY_SYS) bash scripts/wheel-test.sh

test: setup ## everything CI runs: lint, types, schema drift, the installed wheel, unit, integration and end-to-end tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/contactpulse export-schemas --check
	$(PY) -m dashboards.generate --check
	$(PY) -m services.ingest.sources --check
	PY_SYS=$(PY_SYS) bash scripts/wheel-test.sh
	$(PY) -m pytest -q tests

bench: setup ## benchmarks: replay (events/s, memory), streaming (throughput, freshness, ceiling), a lake with 1 and 2 consumers, gateway, adapters, report speed
	$(PY) -m bench.replay_bench
	$(PY) -m bench.stream_bench
	$(PY) -m bench.lake_bench
	$(PY) -m bench.gateway_bench
	$(PY) -m bench.adapters_bench
	$(PY) -m bench.report_bench

clean: kafka-down lake-down ## remove caches, the virtualenv and local data
	rm -rf $(VENV) .cache var .mypy_cache .ruff_cache .pytest_cache .hypothesis
