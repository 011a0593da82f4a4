# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench bench-smoke setup browser wrk peers migrate clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A development machine: DEBUG on, so the development SECRET_KEY is allowed (without
# DEBUG the settings refuse to start with no SECRET_KEY). Set both to run otherwise.
run migrate: export DEBUG ?= true

migrate: setup
	$(BIN)/python manage.py migrate --noinput

# Web on http://127.0.0.1:8000, a Celery worker and beat; one Ctrl-C stops all three.
run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/honcho start --procfile Procfile

# Browser tests drive Debian's Chromium through Playwright (its own browser download
# cannot work offline).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; }

# The web benchmarks load real servers with wrk, Debian's package.
wrk:
	@command -v wrk >/dev/null || { \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk; }

# The two Django survey apps on PyPI that the web benchmarks measure ValuePulse against,
# in a virtual environment of their own: they are measured, never run by ValuePulse.
PEERS_VENV := var/bench/peers-venv
peers: $(PEERS_VENV)/.installed

$(PEERS_VENV)/.installed: tests/benchmarks/peers/requirements.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/benchmarks/peers/requirements.txt
	touch $@

# The import arrows (.importlinter) first: a wrong import fails before any test runs.
# Then the supply chain: known vulnerabilities in the pinned requirements (pip-audit,
# accepted ones in .pip-audit-ignore with their reasons; skipped with a warning where
# PyPI's vulnerability data cannot be reached, see .ci/audit_dependencies.py) and
# bandit over the application code and the CI scripts (an accepted finding is a `# nosec <test id>` under a
# comment giving the reason).
# Last, every benchmark at a tiny size (bench-smoke), so none of them rots.
BANDIT_PATHS := accounts config core customers demo imports insights surveys .ci
# The tests run in TEST_PROCESSES processes side by side (pytest-xdist; each has its own
# test database, Redis database and ports: tests/support/parallel.py).
TEST_PROCESSES ?= 2
test: setup browser wrk peers
	$(BIN)/lint-imports
	$(BIN)/python .ci/audit_dependencies.py
	$(BIN)/bandit --quiet --recursive $(BANDIT_PATHS)
	$(BIN)/pytest -n $(TEST_PROCESSES)
	$(BIN)/python -m tests.benchmarks.run --smoke

# Speed figures against PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL and REDIS_URL
# when set), printed as one table and written to docs/benchmarks.md (README "Benchmarks").
# bench-smoke runs them all at a tiny size in under a minute and writes nothing.
# BENCH=tests/benchmarks/<file>.py runs some only.
bench: setup wrk peers
	$(BIN)/python -m tests.benchmarks.run $(BENCH)

bench-smoke: setup wrk peers
	$(BIN)/python -m tests.benchmarks.run --smoke $(BENCH)

clean:
	rm -rf $(VENV) var
