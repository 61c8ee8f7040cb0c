# MicroLoan: `make run` serves the demo app, `make test` runs the suite.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app run
PORT    ?= 5000
HOST    ?= 127.0.0.1

.PHONY: run test test-services venv init demo serve babel-update babel-compile bench bench-repayments bench-batch bench-load worker clean-db check

$(BIN)/activate: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

babel-compile: venv
	$(BIN)/pybabel compile -d translations -l zh >/dev/null

# Migrate, sync roles and permissions, create admin, parameters and dictionaries (idempotent).
init: venv babel-compile
	$(FLASK) init

demo: init
	$(FLASK) demo load

serve:
	$(FLASK) run --host $(HOST) --port $(PORT)

run: demo
	@echo "----------------------------------------------------------------"
	@echo " 小额贷款业务管理系统  http://$(HOST):$(PORT)/"
	@echo " admin 初始密码 / admin password: instance/initial_admin_password"
	@echo " 演示账号 / demo logins:           instance/demo_logins.txt"
	@echo "----------------------------------------------------------------"
	$(FLASK) run --host $(HOST) --port $(PORT)

# In parallel (pytest-xdist, one worker per core up to 4; each worker has its own database,
# see tests/conftest.py); a module's tests stay on one worker. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= $(shell $(PY) -c "import os; print(min(4, os.cpu_count() or 1))")
test: venv babel-compile
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The same suite against PostgreSQL and Redis (what .ci/run does after `make test`).
test-services: venv babel-compile
	bash .ci/run --services-only

# Extract strings (the app's and FAB's untranslated ones) and update the Chinese catalog.
babel-update: venv
	$(BIN)/python translations/build_pot.py
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l zh --no-fuzzy-matching
	$(BIN)/python translations/fill_pending.py
	$(BIN)/pybabel compile -d translations -l zh --statistics

check: venv
	$(FLASK) db check

# The benchmark suite on a generated 100,000-loan portfolio (bench/run.py): PostgreSQL database
# microloan_bench_gen (BENCH_DATABASE_URL; generated on first use, then reused), every figure
# beside its target, JSON in bench/results/. BENCH_ARGS="--sqlite" for SQLite, "--quick" without
# the repayment benchmarks, "--regenerate" to generate again.
bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Repayment posting on PostgreSQL (DATABASE_URL, default microloan_bench: its schema is DROPPED
# and rebuilt): 10,000 sequential postings, then 8 API clients against gunicorn.
bench-repayments: venv
	$(BIN)/python bench/repayments.py
	$(BIN)/python bench/repayments_api.py
	$(BIN)/python bench/posting_floor.py

# Load test: 20 simulated users (1–3 s between requests) for 2 minutes against gunicorn +
# PostgreSQL (database microloan_bench_load: emptied), lists, loan pages, dashboard, receipts.
bench-load: venv
	$(BIN)/python bench/load.py --users 20 --seconds 120

# Background jobs on Redis: an RQ worker (with RQ's scheduler for delayed retries) plus RQ's
# cron, which ticks the job table every minute (定时管理: times in Beijing time, set in the UI).
REDIS_URL ?= redis://127.0.0.1:6379/0
worker: venv
	@echo "RQ worker + cron on $(REDIS_URL) (queue microloan); Ctrl-C stops both"
	REDIS_URL=$(REDIS_URL) $(BIN)/rq cron --url $(REDIS_URL) app/jobs/cron.py & cron=$$!; \
	trap "kill $$cron 2>/dev/null" EXIT INT TERM; \
	REDIS_URL=$(REDIS_URL) $(BIN)/rq worker --with-scheduler --url $(REDIS_URL) microloan

# The nightly batch over 100,000 loans on PostgreSQL (database microloan_bench_batch: its schema is
# DROPPED and rebuilt) and the same portfolio on SQLite.
bench-batch: venv
	$(BIN)/python bench/batch.py --sqlite

clean-db:
	rm -f instance/microloan.db

# Browser tests (Playwright driving Debian's /usr/bin/chromium; skipped when it is missing).
test-e2e: venv babel-compile
	$(BIN)/python -m pytest tests/e2e
