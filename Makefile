# Usual targets. `make run` and `make test` work on a fresh machine: they install uv (if missing) and
# the locked dependencies first. Python 3.13 is found by scripts/find-python313 (or set UV_PYTHON).
SHELL := /bin/bash
UV := $(shell scripts/find-uv)
PYTHON313 := $(shell scripts/find-python313)
ifneq ($(PYTHON313),)
export UV_PYTHON ?= $(PYTHON313)
endif
# sam build runs pip with a python3.13 found on PATH: the base interpreter has pip, the venv does not.
export PATH := $(CURDIR)/.venv/bin:$(if $(PYTHON313),$(dir $(PYTHON313)):)$(PATH)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help dev run lint format typecheck template test test-future unit integration e2e bench bench-short \
        build build-local deploy schema requirements clean

help:  ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

dev:  ## install the locked dependencies into .venv
	$(UV) sync --frozen

# The whole chain on this machine (no AWS account, no Docker): sam build for this machine's architecture
# (cached in the temp dir, shared with the e2e tests), then runbook-sandbox drives the built functions
# through schedules, the AlertsTopic fan-out and the PagerDuty/Statuspage/Slack stand-ins and prints
# the timeline. SANDBOX_ARGS: e.g. --json, --ticks 6, or --config my.yaml --env-file env.sandbox.json.
SANDBOX_ARGS ?=
run: dev  ## the whole chain locally: built functions, local AWS, stand-in vendors; prints a timeline
	$(RUN) runbook-sandbox $(SANDBOX_ARGS)

lint: dev  ## ruff (lint + format check), mypy, cfn-lint and sam validate on the template
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory template

typecheck: dev  ## mypy (strict) on the package, tools, tests, and each handler on its own
	$(RUN) mypy
	for handler in functions/*/app.py; do $(RUN) mypy "$$handler" || exit 1; done

template: dev  ## cfn-lint + sam validate --lint
	$(RUN) cfn-lint template.yaml
	$(RUN) sam validate --lint --template template.yaml

format: dev  ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

test: lint  ## everything CI runs: lint, the tests (today and 400 days ahead), the benchmarks in short mode
	$(RUN) pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-future
	$(MAKE) --no-print-directory bench-short

# The same tests with the wall clock 400 days ahead (tests/support/clock_shift.py): a test that mixes a
# fixed date with today's fails now, not on the day the calendar passes it. Functions run through
# runbook-local get the shift from libfaketime (Debian: apt-get install faketime; without it those
# tests are skipped with that message).
SHIFT_DAYS ?= 400
test-future: dev  ## the tests with the wall clock SHIFT_DAYS (400) days ahead
	$(RUN) pytest --shift-clock $(SHIFT_DAYS) $(PYTEST_ARGS)

unit: dev  ## unit tests only (no sockets)
	$(RUN) pytest tests/unit $(PYTEST_ARGS)

integration: dev  ## tests against real PostgreSQL, Redis, loopback HTTP servers and moto
	$(RUN) pytest tests/integration $(PYTEST_ARGS)

e2e: dev  ## sam build, then every event in events/ through the built artifact
	$(RUN) pytest tests/e2e $(PYTEST_ARGS)

bench: dev  ## benchmarks: http probe (1,000 checks, 100 ms server, against aiohttp and blackbox_exporter), paging (1,000 alerts), cold start (sam build), probe-run cost
	$(RUN) python -m benchmarks.http_probe_benchmark
	$(RUN) python -m benchmarks.paging_benchmark
	$(RUN) python -m benchmarks.cold_start_benchmark
	$(RUN) python -m benchmarks.probe_run_cost_benchmark

bench-short: dev  ## the same, small, as CI runs them, each enforcing its guards (ratios and counts, never times)
	$(RUN) python -m benchmarks.http_probe_benchmark --short --enforce
	$(RUN) python -m benchmarks.paging_benchmark --short --enforce
	$(RUN) python -m benchmarks.cold_start_benchmark --short --enforce
	$(RUN) python -m benchmarks.probe_run_cost_benchmark --short --enforce

build: dev  ## sam build (arm64, as deployed)
	$(RUN) sam build

HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
build-local: dev  ## sam build for this machine's architecture, for runbook-local invoke
	$(RUN) sam build --parameter-overrides Architecture=$(HOST_ARCH)

deploy: build  ## sam deploy (first time: sam deploy --guided)
	$(RUN) sam deploy

schema: dev  ## regenerate config/runbook.schema.json and docs/runbook.alert.v1.schema.json
	$(RUN) python -c "import json; from runbook.schema import config_schema as c, alert_schema as a; \
	open('config/runbook.schema.json', 'w').write(json.dumps(c(), indent=2) + '\n'); \
	open('docs/runbook.alert.v1.schema.json', 'w').write(json.dumps(a(), indent=2) + '\n')"

requirements:  ## regenerate layers/common/requirements.txt from uv.lock
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header -o layers/common/requirements.txt

clean:  ## remove build output and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
