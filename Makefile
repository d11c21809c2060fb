# Two commands matter: `make demo` and `make test`. Both create .venv and install on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint unit clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "adlake needs Python 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/adlake demo

lint: $(STAMP)
	$(BIN)/ruff check pipelines flows sandbox attribution budget tests
	$(BIN)/sqlfluff lint models tests/dbt

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf lake target logs .pytest_cache
