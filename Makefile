# One command per task, the same locally and in CI. Only python3 and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# recordlinkage 0.16 needs pandas < 3, so the benchmark runs it from a venv of its own.
RL_VENV := benchmarks/.venv-rl

.PHONY: demo demo-serve test lint typecheck unit docs bench bench-smoke bench-venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

# Installs the package (editable) with its test and lint tools; redone when pyproject changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $@

## demo: set everything up, then link the bundled synthetic adults'/children's services files
demo: $(VENV)/.installed
	$(BIN)/identmatch demo

## demo-serve: set everything up, then serve the demo index with its web page on
## http://127.0.0.1:8000/, printing a key to sign in with (Ctrl-C stops it)
demo-serve: $(VENV)/.installed
	$(BIN)/identmatch demo --serve

## test: set everything up, then lint, type-check, build the docs and run the test suite
test: $(VENV)/.installed lint typecheck docs unit bench-smoke

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest

## docs: build the documentation site (MkDocs Material, the API reference from the
## docstrings) into .site/; any warning (a broken link, a bad docstring) fails it
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## bench: the full benchmark, one process per system and dataset (20-35 min on 2 cores);
## rewrites benchmarks/RESULTS.md. Pass flags with BENCH_ARGS, e.g. BENCH_ARGS=--skip-3m
bench: $(VENV)/.installed $(RL_VENV)/.installed
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## bench-smoke: every system and dataset on tiny subsets, then check the report is well formed
bench-smoke: $(VENV)/.installed $(RL_VENV)/.installed
	$(BIN)/python -m benchmarks --smoke --check

bench-venv: $(RL_VENV)/.installed

# recordlinkage's venv, from pinned requirements; redone when they change.
$(RL_VENV)/.installed: benchmarks/requirements-rl.txt
	$(PYTHON) -m venv $(RL_VENV)
	$(RL_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(RL_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-rl.txt
	touch $@

clean:
	rm -rf $(VENV) $(RL_VENV) benchmarks/_work .pytest_cache .mypy_cache .ruff_cache .site
