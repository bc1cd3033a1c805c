# Every target installs what it needs first, so on a fresh machine `make demo`
# and `make test` are the whole set-up.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
DEMO_DIR ?= build/demo

.PHONY: install test demo bench simulate clean

install: $(STAMP)

# Reinstall only when the package's dependencies change.
$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: install
	$(PY) -m ruff check curation pipelines bench tests
	$(PY) -m pytest -q tests

demo: install
	$(PY) -m pipelines.demo --workdir $(DEMO_DIR)

simulate: install
	$(PY) -m pipelines.simulate_collapse --output build/simulate_collapse --real-fractions 0.5,0.8,0.95 --seed-replicates 2

bench: install
	$(PY) -m bench.run_all

clean:
	rm -rf build .pytest_cache
