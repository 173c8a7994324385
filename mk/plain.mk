# The unit suite alone in a plain virtualenv: the Lambda package and pytest, at the versions requirements-dev.txt
# pins, and nothing else (no moto, no pytest plugins), so that it cannot lean on the development environment.
PLAIN_VENV := .venv-plain
PLAIN_STAMP := $(PLAIN_VENV)/.installed

.PHONY: test-unit-plain

$(PLAIN_STAMP): requirements-dev.txt lambda_src/pyproject.toml
	rm -rf $(PLAIN_VENV)
	$(PYTHON) -m venv $(PLAIN_VENV)
	$(PLAIN_VENV)/bin/pip install --quiet --upgrade pip
	$(PLAIN_VENV)/bin/pip install --quiet -c requirements-dev.txt -e lambda_src pytest
	touch $@

test-unit-plain: $(PLAIN_STAMP) ## The unit suite in a plain virtualenv (the package and pytest only)
	$(PLAIN_VENV)/bin/pytest tests/unit
