# Pearl: `make run` sets up and serves; `make test` sets up and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HTMX := static/vendor/htmx.min.js

.PHONY: setup run serve test test-postgres test-dates bench bench-postgres lint clean

setup: $(VENV)/.installed $(HTMX)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/htmx.org/dist/htmx.min.js: package.json
	npm install --no-audit --no-fund --silent
	touch $@

$(HTMX): node_modules/htmx.org/dist/htmx.min.js
	mkdir -p static/vendor
	cp $< $@

run: setup
	$(FLASK) init-db
	$(FLASK) load-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production: gunicorn with gunicorn.conf.py, configured by the environment (docs/deployment.md).
serve: setup
	$(FLASK) init-db
	$(BIN)/gunicorn -c gunicorn.conf.py

test: setup
	$(BIN)/pytest

# The same suite on PostgreSQL: tests/pg_server.py starts a throwaway server (initdb into a
# temporary folder, a free port on 127.0.0.1), runs pytest against it and removes it.
test-postgres: setup
	$(BIN)/python tests/pg_server.py -q

# The suite again as if it were other days (see tests/conftest.py): a leap day, the last
# seconds of a year (the run crosses midnight), and a Sunday night in UTC on a server whose
# local time is already Monday (UTC+14). A test that depends on today fails on one of them.
# The browser tests (121 of them, each a Chromium page: several minutes; the dates they show
# are the pages', which the other tests read at every date) run on the leap day only, so that
# CI, which runs the suite five times, ends well within its 90 minutes.
test-dates: setup
	PEARL_TEST_DATE=2028-02-29T12:00Z $(BIN)/pytest -q
	PEARL_TEST_DATE=2031-12-31T23:59:30Z $(BIN)/pytest -q --ignore=tests/browser
	TZ=Pacific/Kiritimati PEARL_TEST_DATE=2029-12-30T23:45Z $(BIN)/pytest -q --ignore=tests/browser

bench: setup
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_notes.py
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_journal.py
	$(BIN)/python benchmarks/bench_sync.py
	$(BIN)/python benchmarks/bench_serve.py

# The same on PostgreSQL, on a server of the benchmarks' own (benchmarks/pg_cluster.py: its
# cluster is cached in benchmarks/.cache, and the million-paper library imported once).
bench-postgres: setup
	$(BIN)/python benchmarks/bench_pages.py --postgres
	$(BIN)/python benchmarks/bench_journal.py --postgres
	$(BIN)/python benchmarks/bench_serve.py --postgres

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
