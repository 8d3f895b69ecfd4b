# The README's two commands: `make demo` and `make test`. Both do all set-up first.
.PHONY: setup demo test lint unit integration bench clean

setup:
	@./scripts/setup.sh

demo: setup
	@./scripts/demo.sh

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

unit: setup
	.venv/bin/pytest -q tests/unit

integration: setup
	.venv/bin/pytest -q tests/integration

test: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/pytest -q -p no:cacheprovider tests

bench: setup
	.venv/bin/python bench/run_latency.py
