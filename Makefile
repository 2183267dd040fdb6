# fieldapp — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := fieldapp.cli_app

.PHONY: run test lint check-translations install babel-extract babel-update babel-compile \
        instance-settings db-upgrade clean clean-instance bench load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

babel-compile: install
	$(BIN)/pybabel -q compile -d translations

babel-extract: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location \
	    --add-comments "Translators:" \
	    --sort-output --project fieldapp --copyright-holder "fieldapp" \
	    -o translations/messages.pot .

babel-update: babel-extract
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete \
	    -i translations/messages.pot -d translations

# The instance folder (mode 0700) and, once, its settings file (instance/fieldapp.env,
# mode 0600: FIELDAPP_ENV=development and a random SECRET_KEY), so that the `flask`
# commands of the README work in this checkout without variables set by hand.
instance-settings: install
	@$(BIN)/python -c 'import fieldapp; fieldapp.prepare_instance()'

db-upgrade: instance-settings
	FIELDAPP_ENV=development $(BIN)/flask db upgrade

# Set-up included: venv, dependencies, translations, migrations, key file, demo data.
run: babel-compile instance-settings
	FIELDAPP_ENV=development $(BIN)/flask db upgrade
	FIELDAPP_ENV=development $(BIN)/flask demo seed
	@echo "fieldapp: log in at http://127.0.0.1:$(PORT)/login"
	FIELDAPP_ENV=development $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: install
	$(BIN)/ruff check .

check-translations: install
	$(BIN)/python -m fieldapp.i18n_check

# The whole suite: lint, catalogue checks, then pytest (SQLite unless TEST_DATABASE_URL).
test: babel-compile lint check-translations
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The benchmark of SPEC §9 on a database of its own (bench/), e.g. `make bench N=1000000`.
N ?= 100000
bench: instance-settings
	$(BIN)/flask bench --cases $(N) --database-url sqlite:///bench/bench-$(N).sqlite3 \
	    --out bench/results-sqlite-$(N).json

# The load test (docs/benchmarks.md, "Load test"): PostgreSQL on 127.0.0.1:5432 and Redis
# on 127.0.0.1:6379; drops and recreates the database fieldapp_load, seeds LOAD_CASES
# cases, runs gunicorn with 2 then 4 workers; LOAD_SECONDS per step (60), e.g.
# `make load LOAD_SECONDS=10` for a quick run. Figures in bench/load-results.{json,md}.
LOAD_SECONDS ?= 60
LOAD_CASES ?= 100000
load: babel-compile
	LOAD_SECONDS=$(LOAD_SECONDS) LOAD_CASES=$(LOAD_CASES) $(BIN)/python -m fieldapp.bench.load

clean-instance:
	rm -rf instance

clean:
	rm -rf $(VENV) instance .pytest_cache
