VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help demo test lint typecheck bench

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[dev]' && touch $(STAMP)

demo: $(STAMP) ## the seed notebook, ported (offline with a scripted model unless OPENAI_API_KEY is set)
	$(PY) examples/seed_notebook.py

test: $(STAMP) lint typecheck ## ruff, mypy --strict and the test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy --strict over the packages
	$(VENV)/bin/mypy toolkit agent stdlib_tools

bench: $(STAMP) ## benchmarks against the floor and peers
	$(PY) -m pip install -q -e '.[bench]' && $(PY) bench/run.py
