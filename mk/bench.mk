# Benchmarks: `make bench` measures the event processor and the module and writes BENCHMARKS.md.
# Not part of `make test` (timings are evidence, not pass/fail). Included by the root Makefile.
#
#   make bench                      all of it (about 6 minutes on 2 busy cores; must stay under 10)
#   make bench BENCH_ARGS=--skip-terraform
#
# It needs .venv (pinned requirements), the Lambda zip and the offline Terraform toolchain (from
# mk/terraform.mk, when present), and MariaDB at SES_GUARD_TEST_MYSQL_URL (started here if it is the
# local server and it is down, as .ci/run does).

BENCH_ARGS ?=
BENCH_DEPS := $(STAMP) $(if $(wildcard mk/terraform.mk),build tools)

.PHONY: bench bench-mariadb

bench: $(BENCH_DEPS) bench-mariadb ## Benchmarks: throughput vs the floor and the simple design, cost, SQL per batch, memory, cold start, zip, Terraform -> BENCHMARKS.md
	$(PY) -m bench.run --output BENCHMARKS.md $(BENCH_ARGS)

bench-mariadb:
	@if ! mariadb-admin --host=127.0.0.1 --user=root ping >/dev/null 2>&1 && [ -x /usr/sbin/mariadbd ]; then \
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; \
		for _ in $$(seq 1 30); do mariadb-admin --host=127.0.0.1 --user=root ping >/dev/null 2>&1 && break; sleep 1; done; \
	fi
