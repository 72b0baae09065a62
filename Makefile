# Two commands set up and test everything on a fresh machine: `make setup`, `make test`.
PYTHON310 ?= $(shell command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys' >/dev/null 2>&1 && command -v python3.10 || ls $$(pyenv root 2>/dev/null)/versions/3.10.*/bin/python3.10 2>/dev/null | tail -n 1)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup test bench clean

setup:
	@test -n "$(PYTHON310)" || { echo "make setup: no Python 3.10 found (put python3.10 on PATH or install it with pyenv)"; exit 1; }
	@command -v espeak-ng >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq espeak-ng) >/dev/null 2>&1 || echo "make setup: could not install espeak-ng (needed only by 's5rf-data spoken-digits')"; }
	$(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null

test:
	$(PY) -m pytest -q

bench:
	$(PY) bench/run_all.py --readme README.md

clean:
	rm -rf $(VENV) build *.egg-info
