# The two commands: `make run` (the whole product, embedded) and `make test` (lint, then the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-deps lint bench soak chromium wrk clean-instance

run: $(VENV)/.runtime
	$(PY) scripts/devstack.py

test: test-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

# pyflakes, pycodestyle and bugbear as configured in pyproject.toml.
lint: $(VENV)/.test
	$(VENV)/bin/ruff check .

test-deps: $(VENV)/.test chromium

# Reinstalled whenever a requirements file changes.
$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt $(VENV)/.runtime
	$(PIP) install -q -r requirements-test.txt
	touch $@

# Browser tests drive Debian's chromium; installed with apt when missing, else they skip loudly (fail with CI=true).
chromium:
	@scripts/ensure_chromium.sh

# `make bench BENCH_ARGS=--quick` for a short smoke run; see bench/classic_endpoints.py --help.
bench: $(VENV)/.test wrk
	$(PY) bench/classic_endpoints.py $(BENCH_ARGS)
	$(PY) bench/metrics_cost.py $(BENCH_ARGS)
	$(PY) bench/console_load.py $(BENCH_ARGS)
	$(PY) bench/telegram_webhook.py $(BENCH_ARGS)
	$(PY) bench/newsletter_pace.py $(BENCH_ARGS)

# The benches' load generator (Debian's package), installed with apt when missing.
wrk:
	@scripts/ensure_wrk.sh

# Several app and worker hosts under load and faults, then the invariants (bench/soak/).
# Options: make soak SOAK_ARGS="--duration 300 --seed 7" (or --short for about 30 s).
soak: $(VENV)/.test
	$(PY) -m bench.soak $(SOAK_ARGS)

clean-instance:
	rm -rf instance/postgres instance/redis
