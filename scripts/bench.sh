#!/usr/bin/env bash
# Runs Omni's benchmark on this machine: for each flow in FLOW, a fresh
# `omni dev` on its own data, the load generator against it over HTTP; then
# pgbench -S for the read comparison. Results go to stdout;
# docs/benchmarks.md records them.
#
#   FLOW=collect (default)  click & collect: place → pick → collect at one store
#   FLOW=split              home delivery split into two shipments (store-001 + store-002)
#   FLOW="collect split"    both, one after the other, each on a fresh omni dev
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

PID=
DATA=
stop_omni() {
  if [ -n "$PID" ]; then kill -INT "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi
  if [ -n "$DATA" ]; then rm -rf "$DATA"; DATA=; fi
}
trap stop_omni EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)"
for flow in $FLOW; do
  psql "$PGURL_BASE/postgres" -qc "drop database if exists $DB with (force)"
  DATA=$(mktemp -d)
  OMNI_DATABASE_URL="$PGURL_BASE/$DB?sslmode=disable" OMNI_DATA_DIR="$DATA" OMNI_HTTP_ADDR="$ADDR" \
    OMNI_TEMPORAL_EMBEDDED_ADDR="$TEMPORAL" OMNI_TEMPORAL_UI_ADDR= OMNI_LOG_LEVEL=warn \
    ./bin/omni dev 2>"${BENCH_LOG:-/tmp/omni-bench}.$flow.log" &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.2; done
  echo "== flow $flow: fresh omni dev (pid $PID), $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  ./bin/omni bench -url "http://$ADDR" -flow "$flow" -orders "$ORDERS" -concurrency "$CONCURRENCY" -readers "$READERS" \
    -pid "$PID" -temporal "$TEMPORAL"
  stop_omni
done

echo "== pgbench -S -M prepared -c 32 -j 2 -T 15 (same machine, for the read comparison)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "create database pgbench_omni"
pgbench -q -i -s 10 "$PGURL_BASE/pgbench_omni" >/dev/null 2>&1
pgbench -S -M prepared -c 32 -j 2 -T 15 "$PGURL_BASE/pgbench_omni" 2>/dev/null | grep -E "^(tps|latency average)"
psql "$PGURL_BASE/postgres" -qc "drop database if exists pgbench_omni" -c "drop database if exists $DB with (force)"
