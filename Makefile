# Two commands on a fresh machine with Python 3:  make book   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

MATHJAX_VERSION := 3.2.2
MATHJAX := $(VENV)/share/snnbp-mathjax/mathjax/tex-mml-chtml.js

.PHONY: venv mathjax book test test-quick lint clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(STAMP)

# MathJax 3 from npm, shipped with the book so that formulas render offline (book/_ext/mathjax_local.py).
# Only what tex-mml-chtml.js loads is kept: the TeX extensions, the CommonHTML fonts, the menu and
# accessibility parts.
$(MATHJAX): | $(STAMP)
	@command -v npm >/dev/null || { echo "make mathjax needs npm (apt-get install -y npm)"; exit 1; }
	rm -rf $(VENV)/share/snnbp-mathjax $(VENV)/share/snnbp-mathjax-npm
	npm install --silent --no-audit --no-fund --prefix $(VENV)/share/snnbp-mathjax-npm mathjax@$(MATHJAX_VERSION)
	mkdir -p $(VENV)/share/snnbp-mathjax/mathjax/output
	cd $(VENV)/share/snnbp-mathjax-npm/node_modules/mathjax && cp -r LICENSE es5/tex-mml-chtml.js es5/input \
	    es5/a11y es5/ui es5/sre es5/adaptors $(abspath $(VENV))/share/snnbp-mathjax/mathjax/ && \
	    cp -r es5/output/chtml es5/output/chtml.js $(abspath $(VENV))/share/snnbp-mathjax/mathjax/output/
	rm -rf $(VENV)/share/snnbp-mathjax-npm
	test -f $@

mathjax: $(MATHJAX)

# Execute every chapter (quick profile unless SNNBP_PROFILE says otherwise) and build _build/html.
book: $(STAMP) $(MATHJAX)
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# The whole suite: the linter (pyflakes and import order, pyproject.toml), library tests,
# chapters, and the book build.
test: $(STAMP) $(MATHJAX) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Library tests only (skips the slow ones).
test-quick: $(STAMP)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf _build
