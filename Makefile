# The README's two commands: `make demo` and `make test`. Both do all set-up first and are safe to rerun.
.PHONY: setup demo test lint unit integration test-docker bench bench-build clean

PY    := .venv/bin/python
RUFF  := .venv/bin/ruff
MYPY  := .venv/bin/mypy
PYTEST := .venv/bin/pytest -p no:cacheprovider

setup:
	@./scripts/setup.sh

# start tugd if needed, import busybox, run a container
demo: setup
	@./scripts/demo.sh

lint: setup
	$(RUFF) check src tests bench
	$(MYPY)
	$(MYPY) bench/run_latency.py bench/build.py tests/integration

unit: setup
	$(PYTEST) -q tests/unit

# a private tugd per session (see tests/integration/conftest.py); needs root and runc
integration: setup
	$(PYTEST) -q tests/integration

# the same integration tests against the real Docker Engine: checks the tests, not tugd
test-docker: setup
	TUGBOAT_TEST_TARGET=docker $(PYTEST) -q tests/integration

test: setup
	$(RUFF) check src tests bench
	$(MYPY)
	$(MYPY) bench/run_latency.py bench/build.py tests/integration
	$(PYTEST) -q -rfE --durations=10 tests

# tug run vs docker run latency; results in bench/results/
bench: setup
	$(PY) bench/run_latency.py $(BENCH_ARGS)

# cold and cached image builds, tugd vs Docker's classic builder; results in bench/results/
bench-build: setup
	$(PY) bench/build.py $(BENCH_ARGS)

# what killed test sessions left behind (private tugd dirs, mounts, cgroups, processes)
clean:
	@[ ! -x $(PY) ] || $(PY) -m tugboat.tools.cleanup --stale
	rm -rf .mypy_cache .ruff_cache build dist
