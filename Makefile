# Two entry points for a fresh machine: `make run` (the app) and `make test` (the tests).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test system-deps bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The app's packages only (requirements.txt); the tests' tools come on top of them.
$(VENV)/.app-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.app-installed $@

# Debian packages the tests use: chromium for the browser tests, Fashion-MNIST for the data tests,
# haproxy for the replicas (cnnviz app --replicas K), postgresql for the class store's tests,
# bubblewrap for cnnviz check --sandbox.
system-deps:
	@bash scripts/system-deps.sh

run: $(VENV)/.app-installed
	$(PY) -m cnnviz app --port $(PORT)

# Style first (ruff, with pyproject.toml's rules): a style error stops the run before the tests.
test: $(VENV)/.dev-installed system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(VENV)/.dev-installed
	$(PY) -m benchmarks ops
