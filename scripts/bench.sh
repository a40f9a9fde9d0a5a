#!/usr/bin/env bash
# Runs Omni's benchmark on this machine: for each flow in FLOW, a fresh
# `omni dev` on its own data, the load generator against it over HTTP; then
# pgbench -S for the read comparison. Results go to stdout;
# docs/benchmarks.md records them.
#
#   FLOW=collect (default)  click & collect: place → pick → collect at one store
#   FLOW=split              home delivery split into two shipments (store-001 + store-002)
#   FLOW="collect split"    both, one after the other, each on a fresh omni dev
#
#   ADAPTERS=builtin (default)  Omni's own ledgers, pick queue and payments
#   ADAPTERS=http               inventory, store tasks, payments and catalog on
#                               their HTTP adapters, pointed at a fresh
#                               `omni reference` (its own database
#                               omni_bench_reference; stock seeded through its
#                               admin endpoint); the carrier stays built-in
#   ADAPTERS="builtin http"     each flow both ways, back to back, then pgbench
set -euo pipefail
cd "$(dirname "$0")/.."

PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
DB=omni_bench
ADDR=127.0.0.1:${BENCH_PORT:-18080}
TEMPORAL=127.0.0.1:${BENCH_TEMPORAL_PORT:-18233}
ORDERS=${ORDERS:-2000}
CONCURRENCY=${CONCURRENCY:-24}
READERS=${READERS:-8}
FLOW=${FLOW:-collect}
ADAPTERS=${ADAPTERS:-builtin}
REF_DB=omni_bench_reference
REF_ADDR=127.0.0.1:${BENCH_REFERENCE_PORT:-18090}
REF_TOKEN=bench-reference-token

PID=
DATA=
REF_PID=
stop_omni() {
  if [ -n "$PID" ]; then kill -INT "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi
  if [ -n "$REF_PID" ]; then kill -INT "$REF_PID" 2>/dev/null || true; wait "$REF_PID" 2>/dev/null || true; REF_PID=; fi
  if [ -n "$DATA" ]; then rm -rf "$DATA"; DATA=; fi
}
trap stop_omni EXIT

for a in $ADAPTERS; do
  case $a in builtin|http) ;; *) echo "ADAPTERS: want builtin and/or http, got $a" >&2; exit 2 ;; esac
done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)"
for flow in $FLOW; do
 for adapters in $ADAPTERS; do
  psql "$PGURL_BASE/postgres" -qc "drop database if exists $DB with (force)"
  DATA=$(mktemp -d)
  adapter_env=() extra=()
  if [ "$adapters" = http ]; then
    # A fresh reference server on a database of its own, serving the wire
    # contract without -fail-first; Omni's adapters point at it.
    psql "$PGURL_BASE/postgres" -qc "drop database if exists $REF_DB with (force)" -c "create database $REF_DB"
    ./bin/omni reference -addr "$REF_ADDR" -token "$REF_TOKEN" -database "$PGURL_BASE/$REF_DB?sslmode=disable" \
      2>"${BENCH_LOG:-/tmp/omni-bench}.$flow.reference.log" &
    REF_PID=$!
    for _ in $(seq 100); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REF_ADDR/availability")" = 401 ] && break; sleep 0.2
    done
    adapter_env=(OMNI_INVENTORY_URL="http://$REF_ADDR" OMNI_INVENTORY_TOKEN="$REF_TOKEN"
      OMNI_STORE_TASKS_URL="http://$REF_ADDR" OMNI_STORE_TASKS_TOKEN="$REF_TOKEN"
      OMNI_PAYMENTS_PROVIDER=http OMNI_PAYMENTS_URL="http://$REF_ADDR" OMNI_PAYMENTS_TOKEN="$REF_TOKEN"
      OMNI_CATALOG_URL="http://$REF_ADDR" OMNI_CATALOG_TOKEN="$REF_TOKEN")
    extra=(-stock-url "http://$REF_ADDR" -stock-token "$REF_TOKEN" -reference-pid "$REF_PID")
  fi
  env "${adapter_env[@]}" OMNI_DATABASE_URL="$PGURL_BASE/$DB?sslmode=disable" OMNI_DATA_DIR="$DATA" OMNI_HTTP_ADDR="$ADDR" \
    OMNI_TEMPORAL_EMBEDDED_ADDR="$TEMPORAL" OMNI_TEMPORAL_UI_ADDR= OMNI_LOG_LEVEL=warn \
    ./bin/omni dev 2>"${BENCH_LOG:-/tmp/omni-bench}.$flow.$adapters.log" &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.2; done
  echo "== flow $flow, adapters $adapters: fresh omni dev (pid $PID${REF_PID:+, reference server pid $REF_PID at $REF_ADDR}), $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  ./bin/omni bench -url "http://$ADDR" -flow "$flow" -orders "$ORDERS" -concurrency "$CONCURRENCY" -readers "$READERS" \
    -pid "$PID" -temporal "$TEMPORAL" "${extra[@]}"
  stop_omni
 done
done

echo "== pgbench -S -M prepared -c 32 -j 2 -T 15 (same machine, for the read comparison)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "create database pgbench_omni"
pgbench -q -i -s 10 "$PGURL_BASE/pgbench_omni" >/dev/null 2>&1
pgbench -S -M prepared -c 32 -j 2 -T 15 "$PGURL_BASE/pgbench_omni" 2>/dev/null | grep -E "^(tps|latency average)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "drop database if exists $DB with (force)" \
  -c "drop database if exists $REF_DB with (force)"
