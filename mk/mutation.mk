# Mutation testing: `make mutation` runs mutmut (requirements-mutation.txt) over the six core modules with the
# unit, integration and reliability suites (SQLite and MariaDB; not the slow tests) and prints the score per module,
# equivalent mutants excluded (tests/mutation/equivalent.toml). Not part of `make test`: see README, Development.
#
#   make mutation                                        every mutant, from scratch
#   make mutation MUTANTS='ses_guard.sync_thresholds*'   one module's (or function's) mutants, e.g. while writing tests
#   make mutation RESUME=1                               carry on an interrupted run (or re-check its survivors with
#                                                        MUTANTS='names...'): results so far and new tests are kept
#
# mutmut names a mutant after its file's path and the tests import ses_guard.*, so it runs in build/mutation/, where
# the package sits at the top level (links to lambda_src/ses_guard, tests and examples; its configuration is
# tests/mutation/setup.cfg). Never `mutmut apply` there: the link would write the mutant into lambda_src.

MUTATION_DIR := build/mutation
MUTATION_STAMP := $(VENV)/.mutation-installed
MUTANTS ?=

.PHONY: mutation

$(MUTATION_STAMP): $(STAMP) requirements-mutation.txt
	$(PIP) install --quiet -r requirements-mutation.txt
	touch $@

mutation: $(MUTATION_STAMP) bench-mariadb ## Mutation score of the core modules (mutmut; MUTANTS='ses_guard.sync_thresholds*' for one, RESUME=1)
ifeq ($(RESUME),)
	rm -rf $(MUTATION_DIR)
	mkdir -p $(MUTATION_DIR)
	ln -s $(CURDIR)/lambda_src/ses_guard $(CURDIR)/tests $(CURDIR)/examples $(MUTATION_DIR)/
	cp tests/mutation/setup.cfg $(MUTATION_DIR)/setup.cfg
endif
	cd $(MUTATION_DIR) && $(CURDIR)/$(VENV)/bin/mutmut run --max-children 2 $(foreach name,$(MUTANTS),'$(name)')
	$(PY) scripts/mutation_score.py --mutants $(MUTATION_DIR)/mutants --equivalent tests/mutation/equivalent.toml --survivors
