# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE   := node_modules/.package-lock.json
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test bench lint clean help chromium slurm

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

# Re-install only when the project's metadata changes; a second run is a no-op.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	# OPA's own Go engine in process (the policy table runs on it too): the wheel is pure ctypes
	# (py3-none) but declares Python >= 3.14, so pip is told to ignore that (decision 0019).
	$(PY) -m pip install --quiet --ignore-requires-python 'opa-golib-python-bindings==0.4.4'
	@touch $(STAMP)

demo: $(STAMP)  ## set up and run the four-partner local federation
	$(VENV)/bin/gemello demo

# Both cores: one pytest-xdist worker each, a test module never split across two (its module
# fixtures start servers once); `make test JOBS=0` runs serially (decision 0021).
JOBS ?= 2
test: $(STAMP) chromium slurm $(NODE)  ## set up and run the test suite on both cores
	$(PY) -m pytest $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist loadscope)

# Front-end packages (package.json: axe-core for the accessibility checks) come from npm at
# install time, never committed; without npm the checks that need them skip and say why.
$(NODE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $(NODE); \
	  else echo "npm not found: the accessibility checks will skip"; fi

# Browser tests use Debian's Chromium (Playwright's own browser download is not reachable here).
# Installed when missing and we may (root with apt); otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	    echo "could not install chromium: browser tests will skip"; \
	  else echo "chromium not found and cannot be installed here: browser tests will skip"; fi; }

# The Slurm tests start a one-node cluster from Debian's slurm-wlm and munge (issue 31).
# Installed when missing and we may (root with apt); otherwise those tests skip and say why.
slurm:
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's slurm-wlm and munge for the Slurm tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; } || \
	    echo "could not install Slurm: the Slurm tests will skip"; \
	  else echo "Slurm not found and cannot be installed here: the Slurm tests will skip"; fi; }

bench: $(STAMP)  ## measure and write docs/benchmarks.md
	$(VENV)/bin/gemello bench

lint: $(STAMP)  ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:  ## remove the virtualenv and local state
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
