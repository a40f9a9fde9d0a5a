# Omni's everyday commands. GOTOOLCHAIN=local: never try to download a toolchain.
export GOTOOLCHAIN := local
GO ?= go

.PHONY: run build test test-deps unit integration browser screenshots histories lint fuzz bench bench-pgbench clean

## run: Omni on the embedded default (Temporal in-process, PostgreSQL from OMNI_DATABASE_URL)
run:
	$(GO) run ./cmd/omni dev

## build: the omni binary in bin/
build:
	$(GO) build -o bin/omni ./cmd/omni

## test: every test, unit, integration and browser, then the short chaos run (needs PostgreSQL at 127.0.0.1:5432, Node.js 20+ and Debian's chromium)
test: test-deps e2e/node_modules
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) chaos

## unit: tests that need no database or Temporal server
unit:
	$(GO) test -count=1 ./config/... ./workflows/... ./activities/... ./internal/order/... ./internal/api/... ./internal/webhooks/...

## integration: the end-to-end tests alone
integration: e2e/node_modules
	$(GO) test -count=1 -v -timeout 20m ./internal/integration/

## test-deps: start PostgreSQL if stopped, install Debian's chromium if missing (scripts/test-deps.sh)
test-deps:
	./scripts/test-deps.sh

## e2e/node_modules: the browser tests' npm packages (playwright-core drives /usr/bin/chromium: no browser is downloaded)
e2e/node_modules: e2e/package.json e2e/package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix e2e --no-audit --no-fund
	@touch $@

## browser: the browser tests alone: the store console and the customer's page in Chromium (see e2e/run.mjs)
browser: e2e/node_modules
	$(GO) test -count=1 -v -run TestBrowser ./internal/integration/

## screenshots: run the browser tests and save their screenshots in docs/screenshots (shown in the README)
screenshots: e2e/node_modules
	OMNI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -v -run TestBrowser ./internal/integration/

## histories: record the workflow histories of flows not yet in workflows/testdata (see workflows/replay_test.go)
histories:
	OMNI_RECORD_HISTORIES=$(CURDIR)/workflows/testdata $(GO) test -count=1 -run TestRecordedHistoriesReplay ./internal/integration/

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

## fuzz: run every fuzz target (func FuzzX in *_fuzz_test.go) for FUZZTIME each, one at a time (FUZZTIME=10m is the full run);
##       fails if one finds a crash, which Go writes to the package's testdata/fuzz/FuzzX/: fix it and commit the file
FUZZTIME ?= 30s
FUZZ_PACKAGES ?= $(sort $(dir $(shell find . -name '*_fuzz_test.go' -not -path './e2e/*')))
fuzz:
	@failed=""; for pkg in $(FUZZ_PACKAGES); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg || failed="$$failed $$pkg:$$target"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashers found by$$failed (see testdata/fuzz/)"; exit 1; fi

## chaos: the chaos suite (docs/chaos.md), short by default: orders through every path while omni dev is killed with
##        SIGKILL and its private PostgreSQL restarted, then the invariant checker. CHAOS_SEED=n replays a run's schedule
.PHONY: chaos chaos-long
CHAOS_ORDERS ?= 30
CHAOS_KILLS ?= 3
CHAOS_PG_RESTARTS ?= 1
CHAOS_DURATION ?= 45s
CHAOS_CLIENTS ?= 8
chaos:
	OMNI_CHAOS=1 CHAOS_ORDERS=$(CHAOS_ORDERS) CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_PG_RESTARTS=$(CHAOS_PG_RESTARTS) \
	CHAOS_DURATION=$(CHAOS_DURATION) CHAOS_CLIENTS=$(CHAOS_CLIENTS) $(if $(CHAOS_SEED),CHAOS_SEED=$(CHAOS_SEED)) \
	$(GO) test -count=1 -v -timeout 90m -run '^(TestChaos|TestPrivateCluster)$$' ./internal/chaos/

## chaos-long: the documented long run, 500 orders and 20 kills (its last result is in docs/chaos.md)
chaos-long:
	$(MAKE) chaos CHAOS_ORDERS=500 CHAOS_KILLS=20 CHAOS_DURATION=8m CHAOS_CLIENTS=16

## bench: start a fresh omni dev, push orders through it, compare reads with pgbench (see docs/benchmarks.md)
bench: build
	./scripts/bench.sh

clean:
	rm -rf bin .omni
