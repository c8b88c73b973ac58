# guardian: the README's two commands, `make test` and `make demo`, set everything up on first
# use and skip what is already done on later runs (stamp files under .stamps/):
#
#   .stamps/venv             .venv + `pip install -e ".[dev]"`            (redone when pyproject.toml changes)
#   .stamps/npm              `npm ci` (anvil, cast, solc-js, OpenZeppelin) (redone when package*.json change)
#   .stamps/solc             solc 0.8.30 in .solcx/: a native solc on PATH if it is 0.8.30,
#                            else the solc-js shim (scripts/solc_shim.js, scripts/install_solc.sh)
#   .build/__local__.json    `ape compile` of contracts/                  (redone when contracts/*.sol change)
#
# Nothing is downloaded at test time. Override the interpreter with `make PYTHON=python3.12`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
STAMPS := .stamps
SOLC_VERSION := 0.8.30
PYTEST_ARGS ?=

# py-solc-x (used by ape-solidity) looks for solc-v<version> here instead of ~/.solcx, and ape
# keeps its package cache (OpenZeppelin from node_modules) inside the project.
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export APE_DATA_FOLDER := $(CURDIR)/.cache/ape

.PHONY: test demo setup compile tools clean

test: $(STAMPS)/venv .build/__local__.json
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: $(STAMPS)/venv .build/__local__.json
	$(VENV)/bin/python scripts/demo.py

# Benchmarks (bench/run.py): startup, the pause flow side by side with safe-cli and ape-safe (their
# throwaway venvs under bench/.venv-* are created on first use from PyPI), fork dry-run, drill,
# import costs. Prints a table, writes bench/results/latest.md; asserts nothing.
# Shorter: make bench BENCH_ARGS="--runs 3 --slow-runs 1"
.PHONY: bench
bench: $(STAMPS)/venv .build/__local__.json
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

setup compile: $(STAMPS)/venv .build/__local__.json

tools:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found: install Python >= 3.10 (or run make PYTHON=/path/to/python3)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: $(PYTHON) is $$($(PYTHON) -V 2>&1); guardian needs Python >= 3.10" >&2; exit 1; }
	@command -v node >/dev/null 2>&1 || { echo "error: node not found: install Node.js >= 18 (it runs npm, the solc-js compiler shim)" >&2; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found: install npm (it comes with Node.js)" >&2; exit 1; }

$(STAMPS)/venv: pyproject.toml | tools
	@mkdir -p $(STAMPS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# `npm ci` wipes node_modules first; skip it when node_modules already satisfies package.json.
$(STAMPS)/npm: package.json package-lock.json | tools
	@mkdir -p $(STAMPS)
	if [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then \
	  echo "node_modules matches package.json: npm ci skipped"; \
	else \
	  npm ci --no-audit --no-fund; \
	fi
	touch $@

$(STAMPS)/solc: scripts/install_solc.sh scripts/solc_shim.js $(STAMPS)/npm
	scripts/install_solc.sh .solcx $(SOLC_VERSION)
	touch $@

.build/__local__.json: $(STAMPS)/venv $(STAMPS)/solc ape-config.yaml $(wildcard contracts/*.sol)
	@test -x .solcx/solc-v$(SOLC_VERSION) || { rm -f $(STAMPS)/solc; echo "error: .solcx/solc-v$(SOLC_VERSION) is gone; run make again" >&2; exit 1; }
	$(VENV)/bin/ape compile
	touch $@

clean:
	rm -rf $(STAMPS) .solcx .build .cache/ape
