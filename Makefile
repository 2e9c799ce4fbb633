# Thin wrappers; each target installs what it needs first. See README.md.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.opsbook-installed
HOST     = .opsbook/.host-ready
PYTEST_ARGS ?=
WORKERS ?= 2
SANDBOXES ?= 1
SHARED  ?= 600

.PHONY: setup host test test-fast lint check-monitoring verify site serve demo bench target-env clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/opsbook kernel install >/dev/null
	touch $(STAMP)

host:                       ## Debian packages, docker engine (started), compose, psql, redis-cli, chromium
	bash scripts/setup-host.sh

test: setup host            ## the whole suite: unit, kernel, sandbox, site, and every runbook verified
	mkdir -p build/test-results
	# Two workers, one sandbox: one worker runs everything that uses it (the tests marked sandbox,
	# then every runbook), the other the tests that need no sandbox meanwhile. Two sandboxes at
	# once overload 2 cores (SANDBOXES=2 on a bigger machine; SHARED: the tests' head start, s).
	$(BIN)/pytest tests runbooks -n $(WORKERS) --opsbook-sandboxes $(SANDBOXES) --opsbook-shared-seconds $(SHARED) \
	  --opsbook-project "$${OPSBOOK_TEST_SANDBOX_PROJECT:-opsbook-test}" \
	  --junitxml=build/test-results/junit.xml $(PYTEST_ARGS)

test-fast: setup            ## every test that needs neither docker nor a browser
	$(BIN)/pytest tests -m "not sandbox and not site" $(PYTEST_ARGS)

lint: setup
	$(BIN)/opsbook lint runbooks
	$(BIN)/mypy

check-monitoring: setup     ## the alert rules: promtool check and unit tests, every alert tested and answered
	$(BIN)/pytest tests/monitoring -q

verify: setup host          ## verify every runbook against the sandbox (build/verify/)
	$(BIN)/opsbook verify

site: setup                 ## build the site (site/) with the latest verification results
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

serve: site                 ## build and serve the site with the latest verification results
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

target-env:                 ## write .env.$(TARGET) from $$TARGET_ENV (a pipeline's secret), mode 600
	@bash scripts/target-env.sh "$(TARGET)"

demo: setup host            ## verify against the sandbox, then build and serve the site
	$(BIN)/opsbook verify || true
	$(MAKE) serve

bench: setup host
	$(BIN)/python bench/run_all.py

clean:
	rm -rf build site .opsbook
