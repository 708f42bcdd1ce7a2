# Two commands on a fresh machine with Python 3:  make book   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv book test test-quick clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(STAMP)

# Execute every chapter (quick profile unless SNNBP_PROFILE says otherwise) and build _build/html.
book: $(STAMP)
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# The whole suite: library tests, chapters, and the book build.
test: $(STAMP)
	$(PY) -m pytest

# Library tests only (skips the slow ones).
test-quick: $(STAMP)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf _build
