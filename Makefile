# Two entry points for a fresh machine: `make run` (the app) and `make test` (the tests).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test system-deps bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian packages the tests use: chromium for the browser tests, Fashion-MNIST for the data tests.
system-deps:
	@bash scripts/system-deps.sh

run: $(VENV)/.installed
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed system-deps
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) -m benchmarks ops
