# `make run` and `make test` bootstrap .venv themselves on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: kernels run test test-all bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Compile every kernel up front (two at a time), so the commands below start warm.
kernels: $(STAMP)
	$(VENV)/bin/coherence compile

# The main job: the core demo program and the classic litmus suite.
run: kernels
	$(VENV)/bin/coherence run examples/spinlock_ttas.s --cores 4 --protocol moesi
	$(VENV)/bin/coherence litmus litmus/x86 -q

test: kernels
	$(PY) -m pytest -q -p no:cacheprovider

test-all: kernels
	$(PY) -m pytest -q -p no:cacheprovider -m ''

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
