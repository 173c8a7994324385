# ses-reputation-guard: every target installs what it needs, from an empty machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

# MariaDB used by the integration suite; CI starts it (.ci/run).
export SES_GUARD_TEST_MYSQL_URL ?= mysql+pymysql://root@127.0.0.1:3306/test

.PHONY: help venv test lint demo

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt requirements-lambda.txt lambda_src/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e lambda_src
	touch $@

venv: $(STAMP) ## Create .venv from the pinned requirements

lint: $(STAMP) ## ruff over the Python code
	$(VENV)/bin/ruff check lambda_src tests

test: $(STAMP) tools build ## Run the whole suite (unit, MariaDB + SQLite integration, reliability, Terraform)
	$(VENV)/bin/ruff check lambda_src tests scripts bench
	$(VENV)/bin/pytest

demo: $(STAMP) tools build ## The whole system locally against the AWS emulator (DATABASE_URL=... for MariaDB)
	$(PY) scripts/demo.py

include $(wildcard mk/*.mk)
