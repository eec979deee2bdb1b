# Two commands do all the set-up on a fresh clone:
#   make run    install what is needed, build the web app, start NEXUS on 127.0.0.1:8000
#   make test   install what the tests need (PostgreSQL, Redis, …) and run lint, types, tests

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
JS_STAMP := tests/js/node_modules/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test system-deps web lint typecheck bench clean

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
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The browser IDE lives in web/ once it exists; until then there is nothing to build.
web:
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && npm run build; fi

run: install web
	$(BIN)/nexus serve

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy

test: system-deps install-test lint typecheck
	$(BIN)/pytest -q

bench: install-test
	$(BIN)/python bench/hub.py
	$(BIN)/python bench/collab/run.py
	$(BIN)/python bench/terminal.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/lsp.py
	$(BIN)/python bench/debug.py
	$(BIN)/python bench/ai.py
	$(BIN)/python bench/voice.py

clean:
	rm -rf $(VENV) .nexus .pytest_cache .mypy_cache .ruff_cache
