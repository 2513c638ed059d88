# elevenlabs-agent: `make help` lists the targets.
VENV      ?= .venv
PYTHON    ?= python3
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
PORT      ?= 8000
# HTTP and the live-update WebSocket on one port (elevenlabs_agent/asgi.py); `asginl`: the
# application has no startup or shutdown hooks, so granian need not offer ASGI lifespan.
GRANIAN   := --interface asginl --log-level $${GRANIAN_LOG_LEVEL:-warning}
APP       := elevenlabs_agent.asgi:application
# Every worker writes its metrics to one directory, emptied at each start (metrics.py).
METRICS_DIR = export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$$(mktemp -d)} && \
	rm -f "$$PROMETHEUS_MULTIPROC_DIR"/*.db

.DEFAULT_GOAL := help
.PHONY: help install lock run serve test lint format redis bench bench-cluster bench-http bench-ws bench-outage bench-durability profile demo-callback

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# The versions CI tested (requirements.lock), within the ranges of pyproject.toml.
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

lock: ## Re-resolve the dependencies and write requirements.lock (commit it)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[dev,bench]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock
	rm -rf .lock-venv

install: $(STAMP) ## Create the virtualenv and install the project with its dev tools

run: $(STAMP) ## Serve on 127.0.0.1:$PORT with the feature on (embedded store unless REDIS_URL)
	export ELEVENLABS_AGENT_ENABLED=$${ELEVENLABS_AGENT_ENABLED:-true} \
	  ELEVENLABS_EMBEDDED_STORE=$${ELEVENLABS_EMBEDDED_STORE:-true} \
	  SECRET_KEY=$${SECRET_KEY:-local-development-only-not-a-secret}; \
	$(BIN)/python manage.py check --fail-level ERROR -v 0 && \
	$(BIN)/python -m elevenlabs_agent.port_free 127.0.0.1 $(PORT) && \
	$(METRICS_DIR) && \
	$(BIN)/granian $(GRANIAN) --host 127.0.0.1 --port $(PORT) --workers 1 $(APP)

serve: $(STAMP) ## Production server: granian on $HOST:$PORT, $WEB_CONCURRENCY workers (default: cores)
	@# Settings first: a bad value stops here with one line, not a traceback per worker.
	$(BIN)/python manage.py check --fail-level ERROR -v 0
	@# granian shares a busy port silently (SO_REUSEPORT): refuse instead (port_free.py).
	$(BIN)/python -m elevenlabs_agent.port_free $${HOST:-127.0.0.1} $(PORT)
	$(METRICS_DIR) && \
	$(BIN)/granian $(GRANIAN) --host $${HOST:-127.0.0.1} --port $(PORT) \
	  --workers $${WEB_CONCURRENCY:-$$(nproc)} --respawn-failed-workers --respawn-interval 0.5 \
	  --workers-kill-timeout 10 \
	  $(APP)

test: $(STAMP) ## Run the tests (real-Redis tests skip when 127.0.0.1:6379 is down, unless CI=true)
	$(BIN)/pytest

bench: $(STAMP) redis ## Store benchmark against the real Redis (flushes its db 14); see docs/benchmarks.md
	$(BIN)/python bench/store_bench.py

bench-cluster: $(STAMP) redis ## make bench's work on a local 3-primary Redis Cluster against one Redis (db 14)
	$(BIN)/python bench/cluster_bench.py

bench-http: $(STAMP) ## Every route under wrk on candidate servers; writes docs/http-bench/ (AGAINST=<checkout>: A/B only)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[bench]'
	$(BIN)/python bench/http_bench.py

bench-ws: $(STAMP) ## 1,000 live sockets under appends on make serve; writes docs/ws-bench/
	$(BIN)/pip install --quiet -c requirements.lock -e '.[bench]'
	$(BIN)/python bench/ws_bench.py

bench-outage: $(STAMP) ## Redis frozen under 8-64 clients, and slowed by 0-30 ms, on make serve
	$(BIN)/python bench/outage_bench.py $(if $(ROOT),--root $(ROOT))

bench-durability: $(STAMP) ## The write routes with REDIS_WRITE_REPLICAS at 0 and 1 (a primary and a replica)
	$(BIN)/python bench/durability_bench.py

profile: $(STAMP) redis ## Where each route's time goes (in-process, real Redis db 14); see docs/performance.md
	$(BIN)/python bench/breakdown.py

demo-callback: $(STAMP) ## A tool call through a fake cursor-runner: pending, then completed (curl)
	demo/callback.sh

lint: $(STAMP) ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# mypy's django plugin loads the settings: as production would (no embedded-store warning).
	REDIS_URL=redis://localhost:6379/0 $(BIN)/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

redis: ## Start a throwaway local Redis on 127.0.0.1:6379 (nothing on disk) unless one answers
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 0.1; done; \
	  echo "Redis on 127.0.0.1:6379 did not start" >&2; exit 1
