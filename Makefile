# Two commands matter: `make run` (the product on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
RECEIVER_PORT ?= 8025

.PHONY: venv run test lint format bench bench-deliveries bench-admin bench-reconcile bench-enrichment faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The product on the embedded default: SQLite, demo data, web + worker + a local
# stand-in for Ringba's webhook that prints every postback it receives.
run: venv
	DEBUG=true RINGBA_WEBHOOK_BASE_URL=http://127.0.0.1:$(RECEIVER_PORT) \
	RINGBA_ENRICH_BASE_URL=http://127.0.0.1:$(RECEIVER_PORT) \
	RINGBA_API_BASE_URL=http://127.0.0.1:$(RECEIVER_PORT)/v2 \
	POSTBACK_ALLOW_PRIVATE_IPS=true PUBLIC_BASE_URL=http://localhost:$(PORT) \
	$(BIN)/python manage.py run_demo --port $(PORT) --receiver-port $(RECEIVER_PORT)

# The tests, on SQLite by default; DATABASE_URL=postgres://... runs them on PostgreSQL.
# Two workers (pytest-xdist) keep each database under 10 minutes on 2 cores;
# PYTEST_WORKERS=0 runs them in this one process.
PYTEST_WORKERS ?= 2
test: venv
	$(BIN)/python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks and fault scenarios (PostgreSQL, gunicorn, wrk; see bench/README.md).
bench: venv
	$(BIN)/python bench/run.py

bench-deliveries: venv
	cd bench && ../$(BIN)/python deliveries.py

bench-admin: venv
	cd bench && ../$(BIN)/python admin_pages.py

bench-reconcile: venv
	cd bench && ../$(BIN)/python reconcile.py

bench-enrichment: venv
	cd bench && ../$(BIN)/python enrichment.py

faults: venv
	$(BIN)/python bench/faults.py

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles test-artifacts bench/results
