# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test bench bench-proxy bench-audit bench-console bench-load eval clean

$(BIN)/douane: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## install: create .venv and install douane with its test tools
install: $(BIN)/douane

## run: migrate the default SQLite database, print development keys, serve on 127.0.0.1:8000
run: install
	$(BIN)/douane db upgrade
	@echo "Development API keys for tenant 'dev' (shown once):"
	@printf '  app key:     %s\n' "$$($(BIN)/douane keys create --tenant dev --role app | tail -n 1)"
	@printf '  auditor key: %s\n' "$$($(BIN)/douane keys create --tenant dev --role auditor | tail -n 1)"
	$(BIN)/douane serve --host 127.0.0.1 --port 8000

## test: the whole suite (needs PostgreSQL on 127.0.0.1:5432, see README)
test: install
	$(BIN)/pytest

## bench: decision-path figures, and detection against Presidio's default engine
bench: install
	$(BIN)/python bench/route_latency.py
	$(BIN)/python bench/policy_eval.py
	$(BIN)/python bench/pii_detection.py
	$(BIN)/python bench/audit_write.py

## bench-proxy: latency douane and LiteLLM's proxy add over a fake upstream (LiteLLM in its own venv)
bench-proxy: install .venv-litellm/bin/litellm
	$(BIN)/python bench/proxy_latency.py

## bench-audit: seed douane_bench with 10M decisions (AUDIT_ROWS=…), then time auditor queries, export, report, verify
AUDIT_ROWS ?= 10000000
bench-audit: install
	$(BIN)/python bench/audit_seed.py --rows $(AUDIT_ROWS) $(AUDIT_SEED_FLAGS)
	$(BIN)/python bench/audit_queries.py

## bench-console: seed douane_console_bench with 1M decisions (CONSOLE_ROWS=…; kept once seeded), then time every console page
CONSOLE_ROWS ?= 1000000
CONSOLE_FLAGS ?=
bench-console: install
	$(BIN)/python bench/console_pages.py --rows $(CONSOLE_ROWS) $(CONSOLE_FLAGS)

## bench-load: 300 req/s for 60 s of the realistic mix through /v1/route (Postgres auditing), then reconcile every count
LOAD_WORKERS ?= 2
LOAD_FLAGS ?=
bench-load: install
	$(BIN)/python bench/load.py --rate 300 --duration 60 --workers $(LOAD_WORKERS) $(LOAD_FLAGS)

# LiteLLM pins versions that would fight ours: it gets a venv of its own.
.venv-litellm/bin/litellm:
	$(PYTHON) -m venv .venv-litellm
	.venv-litellm/bin/pip install --quiet 'litellm[proxy]'

## eval: detection quality on eval/pii, then task-complexity estimates on eval/complexity (exits non-zero below target)
eval: install
	$(BIN)/python eval/pii_report.py
	$(BIN)/python eval/complexity_report.py
	@echo "== blind held-out complexity sets (reported, not enforced) =="
	$(BIN)/python eval/complexity_report.py --no-fail --no-timing --set eval/complexity/heldout/prompts.jsonl
	$(BIN)/python eval/complexity_report.py --no-fail --no-timing --set eval/complexity/heldout2/prompts.jsonl

clean:
	rm -rf $(VENV) .venv-litellm var *.egg-info
