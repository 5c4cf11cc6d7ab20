# meterflux — every task a developer or CI needs. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
TSX := node_modules/.bin/tsx
VITEST := node_modules/.bin/vitest

.PHONY: help install fetch up down status provision run test test-unit test-int soak typecheck lint bench inspect inspect-tools types ui browser replay clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: node_modules/.installed ## install npm dependencies (npm ci, only when the lock file changed)

fetch: ## download the pinned Kafka, Apicurio Registry and Elasticsearch from Maven Central
	infra/stack.sh fetch

up: install ## start the local stack, wait for health, migrate, create topics, register schemas
	infra/stack.sh up
	$(TSX) infra/provision.ts

down: ## stop what `make up` started (data stays in var/data)
	infra/stack.sh down

status: ## the stack's table: component, address, state
	infra/stack.sh status

run: up ui ## the pipeline with a simulated fleet, printing what flows (Ctrl-C stops it)
	infra/run/run.sh

test: up inspect-tools browser ui typecheck lint ## everything: stack, types, lint, unit and integration tests, the soak
	$(VITEST) run --project unit --project integration
	$(VITEST) run --project soak

soak: up ## the simulated fleet through Mosquitto, LNS and Kafka outages, reconciled with the topic
	$(VITEST) run --project soak

test-unit: install ## unit tests only (no stack needed)
	$(VITEST) run --project unit

test-int: up inspect-tools browser ui ## integration tests against the local stack
	$(VITEST) run --project integration

typecheck: install ## TypeScript strict, no emit (the code, and the browser pages' JSDoc types)
	node_modules/.bin/tsc -p tsconfig.json
	node_modules/.bin/tsc -p graphql/ui/web/tsconfig.json

lint: install ## eslint with type-aware rules
	node_modules/.bin/eslint .

bench: up ## benchmarks (BENCH=decode,consumption for some); ratios against raw baselines measured in the same run
	NODE_OPTIONS='--expose-gc --max-old-space-size=12000' $(TSX) bench/run.ts

replay: up ## rebuild derived data from a topic range: make replay ARGS="plan --from 2026-03-01" (see streams/replay/README.md)
	$(TSX) streams/replay/main.ts $(ARGS)

types: install ## regenerate schemas/avro/types.generated.ts from the .avsc files
	$(TSX) schemas/avro/generate-types.ts

ui: install ## bundle the offline GraphQL IDE and the wallboard into var/ui (served by the API)
	$(TSX) graphql/ui/build.ts

browser: ## Debian's Chromium for the pages' browser tests (installed once)
	infra/browser/chromium.sh

inspect-tools: ## kcat (Debian kafkacat) and Apache avro-tools, for reading topics with tools we did not write
	infra/inspect/install-tools.sh

inspect: inspect-tools ## decode a topic's values with kcat + avro-tools: make inspect TOPIC=uplink.raw.v1 [COUNT=5]
	infra/inspect/inspect.sh "$(TOPIC)" "$(or $(COUNT),5)"

clean: down ## stop the stack and delete var/ (downloads, data, logs)
	rm -rf var
