# ses-reputation-guard: every target installs what it needs, from an empty machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
# What the Python scripts behind `tools` and `build` need installed. `make demo` on its own installs only the
# demo's smaller set (requirements-demo.txt), unless the full development set is there already.
ifeq ($(MAKECMDGOALS),demo)
VENV_READY := $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO_STAMP))
else
VENV_READY := $(STAMP)
endif

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

lint: $(STAMP) ## ruff over the Python code, and the import layering (.importlinter)
	$(VENV)/bin/ruff check lambda_src tests
	$(VENV)/bin/lint-imports

test: $(STAMP) tools build test-unit-plain ## Run the whole suite (unit, MariaDB + SQLite integration, reliability, Terraform)
	$(VENV)/bin/ruff check lambda_src tests scripts bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

# No linters, no test-only packages, no checkov: what the demo runs and nothing else. pip's own lines are the
# progress of this, the longest step of a first run. Modules are byte-compiled when first imported rather than
# all of them now (--no-compile: most of moto's and sympy's are never imported by the demo).
$(DEMO_STAMP): requirements-demo.txt requirements-lambda.txt lambda_src/pyproject.toml
	@echo "make demo: installing the demo's pinned packages into $(VENV) (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --no-compile --progress-bar on -r requirements-demo.txt
	$(PIP) install --quiet --no-deps -e lambda_src
	touch $@

include $(wildcard mk/*.mk)

# After the include: TOOLS_STAMP comes from mk/terraform.mk. The toolchain without checkov, which only `make test` uses.
demo: $(VENV_READY) $(TOOLS_STAMP) build ## The whole system locally against the AWS emulator (DATABASE_URL=... for MariaDB, KEEP=1 keeps it)
	$(PY) scripts/demo.py
