# APG — `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run emulator migrate test lint format clean mutation bench wrk

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

migrate: install
	$(PY) -m flask --app apg.dbapp db upgrade

## The main job: migrate SQLite, start the Daraja emulator and the gateway, print a key + curl.
run: migrate
	$(PY) -m apg.devrun

## The Daraja emulator alone, on the port config/mpesa.yaml gives it.
emulator: install
	$(PY) -m daraja_emulator --host 127.0.0.1 --port 8089 --config config/mpesa.yaml

## The suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set.
test: install
	APG_TEST_DATABASE_URL= $(PY) -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL: $$TEST_DATABASE_URL"; \
		APG_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(PY) -m pytest -q; \
	fi

## APG against bare-Flask baselines under load, one table (PostgreSQL, Redis, wrk); see bench/.
bench: install wrk
	$(PY) bench/run.py --output bench/results/latest.txt

wrk:
	@command -v wrk >/dev/null || { echo "wrk is missing: installing Debian's package"; \
		apt-get install -y wrk >/dev/null || sudo apt-get install -y wrk >/dev/null; }

lint: install
	$(PY) -m ruff check apg daraja_emulator tests bench wsgi.py
	$(PY) -m ruff format --check apg daraja_emulator tests bench wsgi.py
	$(PY) -m mypy

format: install
	$(PY) -m ruff check --fix apg daraja_emulator tests bench wsgi.py
	$(PY) -m ruff format apg daraja_emulator tests bench wsgi.py

## Mutation testing (mutmut; slow, not in `make test`/CI; MUTANTS='apg.payments.*' for one package); see mutation/.
mutation: install
	VENV=$(VENV) mutation/run.sh $(if $(MUTANTS),"$(MUTANTS)")

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
