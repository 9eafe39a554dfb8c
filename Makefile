# lead-gateway: make install | run | test | lint | bench
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-any-day lint docs typecheck format bench openapi clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The service with an embedded Redis and the sandbox portal unless lead-gateway.yaml says otherwise.
run: install
	@test -f lead-gateway.yaml || cp lead-gateway.example.yaml lead-gateway.yaml
	$(BIN)/lead-gateway run --config lead-gateway.yaml

test: install
	$(BIN)/pytest -q

# The end-to-end tests with the wall clock at each weekday, 23:59 and 00:01 (not CI: nine runs).
test-any-day: install
	scripts/any-day

lint: install
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(VENV)/site

# The manual (docs/) on http://127.0.0.1:8001
docs: install
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

format: install
	$(BIN)/ruff check --fix src tests $(wildcard bench)
	$(BIN)/ruff format src tests $(wildcard bench)

# Benchmarks (not run by CI): they need a Redis on 127.0.0.1:6379 (databases 13 and 14 are flushed)
# and wrk for the webhook benchmark (apt-get install wrk).
bench: install
	$(BIN)/python bench/qualifier_bench.py
	$(BIN)/python bench/webhook_bench.py
	$(BIN)/python bench/first_reply_bench.py
	$(BIN)/python bench/first_reply_bench.py --analytics
	$(BIN)/python bench/first_reply_bench.py --rate 100
	$(BIN)/python bench/first_reply_bench.py --split
	$(BIN)/python bench/crm_drain_bench.py
	$(BIN)/python bench/lifecycle_bench.py
	$(BIN)/python bench/analytics_bench.py
	$(BIN)/python bench/manager_reply_bench.py
	$(BIN)/python bench/mirror_bench.py
	$(BIN)/python bench/experiments_bench.py
	$(BIN)/python bench/chairs_bench.py
	$(BIN)/python bench/recommend_bench.py

clean:
	rm -rf $(VENV) .lead-gateway .pytest_cache .mypy_cache .ruff_cache
