# Omni's everyday commands. GOTOOLCHAIN=local: never try to download a toolchain.
export GOTOOLCHAIN := local
GO ?= go

.PHONY: run build test unit integration histories lint bench bench-pgbench clean

## run: Omni on the embedded default (Temporal in-process, PostgreSQL from OMNI_DATABASE_URL)
run:
	$(GO) run ./cmd/omni dev

## build: the omni binary in bin/
build:
	$(GO) build -o bin/omni ./cmd/omni

## test: every test, unit and integration (needs PostgreSQL at 127.0.0.1:5432)
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

## unit: tests that need no database or Temporal server
unit:
	$(GO) test -count=1 ./config/... ./workflows/... ./activities/... ./internal/order/... ./internal/api/... ./internal/webhooks/...

## integration: the end-to-end tests alone
integration:
	$(GO) test -count=1 -v -timeout 20m ./internal/integration/

## histories: record the workflow histories of flows not yet in workflows/testdata (see workflows/replay_test.go)
histories:
	OMNI_RECORD_HISTORIES=$(CURDIR)/workflows/testdata $(GO) test -count=1 -run TestRecordedHistoriesReplay ./internal/integration/

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

## bench: start a fresh omni dev, push orders through it, compare reads with pgbench (see docs/benchmarks.md)
bench: build
	./scripts/bench.sh

clean:
	rm -rf bin .omni
